import CBPF
import CNetlink
import VRFCBPF

/// The result of one BPF_PROG_TEST_RUN.
public struct TestRunResult: Sendable, Equatable {
    /// The program's return value (TC_ACT_OK = 0, TC_ACT_REDIRECT = 7).
    public var action: Int32
    /// The frame as the program left it.
    public var frame: [UInt8]
    /// Average nanoseconds per run as the kernel measured it.
    public var nanosecondsPerRun: UInt32

    public static let actOK: Int32 = TC_ACT_OK
    public static let actRedirect: Int32 = TC_ACT_REDIRECT
}

/// BPF_PROG_TEST_RUN refused the run.
public struct TestRunFailed: Error, CustomStringConvertible {
    public let errno: Int32
    public var description: String {
        "BPF_PROG_TEST_RUN failed (errno \(errno)): frames must be at least 14 bytes and the ifindex "
            + "must exist in the calling network namespace"
    }
}

extension RouterProgram {
    /// Runs the program once (or `repeat` times, for timing) on `frame` as
    /// if it had arrived on `ifindex` in the calling thread's netns; the
    /// kernel sets pkt_type from the frame's destination MAC against that
    /// interface's, and FIB lookups use that netns.
    public func testRun(frame: [UInt8], ifindex: Int32, repeat count: UInt32 = 1) throws(TestRunFailed) -> TestRunResult {
        var ctx = __sk_buff()
        ctx.ifindex = UInt32(ifindex)
        ctx.ingress_ifindex = UInt32(ifindex)
        var output = [UInt8](repeating: 0, count: frame.count + 256)
        var opts = bpf_test_run_opts()
        // libbpf refuses options whose bytes beyond the last field it knows
        // are non-zero: `sz` ends at batch_size, not at Swift's padded size.
        opts.sz = MemoryLayout<bpf_test_run_opts>.offset(of: \bpf_test_run_opts.batch_size)! + 4
        opts.repeat = Int32(bitPattern: count)
        let rc: Int32 = frame.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                withUnsafeMutableBytes(of: &ctx) { ctxBytes in
                    opts.data_in = input.baseAddress
                    opts.data_size_in = UInt32(input.count)
                    opts.data_out = out.baseAddress
                    opts.data_size_out = UInt32(out.count)
                    opts.ctx_in = UnsafeRawPointer(ctxBytes.baseAddress)
                    opts.ctx_size_in = UInt32(ctxBytes.count)
                    return bpf_prog_test_run_opts(programFD, &opts)
                }
            }
        }
        if rc != 0 { throw TestRunFailed(errno: -rc) }
        return TestRunResult(
            action: Int32(bitPattern: opts.retval),
            frame: Array(output.prefix(Int(opts.data_size_out))),
            nanosecondsPerRun: opts.duration)
    }
}
