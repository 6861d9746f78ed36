import Foundation
import VRFCBPF
import VRFCBundle
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// Where the op list comes from: the same inputs as `vrfc compile`, or a
/// ready op list from `vrfc compile --emit ops`.
public enum OpListSource: Sendable {
    /// Compiled by the unprivileged `vrfc compile` child.
    case compile(CompileRequest)
    case file(String)
    /// The op list of a bundle file (`vrfc compile --emit bundle`).
    case bundle(String)
}

extension OpListSource {
    /// The same source, compiling the node config's already checked bytes
    /// when it compiles the file at `path` (see `CompileRequest.withConfig`).
    public func withConfig(_ text: Data?, readFrom path: String?) -> OpListSource {
        if case .compile(let r) = self { return .compile(r.withConfig(text, readFrom: path)) }
        return self
    }
}

/// Node-side overrides of the op list's symbolic values.
public struct NodeOverrides: Sendable {
    public var underlay: InterfaceName?
    public var tableRange: TableRange?

    public init(underlay: InterfaceName? = nil, tableRange: TableRange? = nil) {
        self.underlay = underlay
        self.tableRange = tableRange
    }
}

extension NodeOverrides {
    public func apply(to ops: inout OpList) {
        if let u = underlay {
            ops.underlay = u
            for i in ops.links.indices where ops.links[i].vxlan != nil { ops.links[i].vxlan!.device = u }
        }
        if let r = tableRange { ops.tableRange = r }
    }
}

public enum OpListLoader {
    /// Compiles or reads the op list, applies the overrides and validates
    /// the result: whatever its origin, an op list that fails validation is
    /// never executed.
    ///
    /// `trust` lists the interfaces besides vrfc's own links the router may
    /// be attached to; an op list that names any other is refused here.
    public static func load(_ source: OpListSource, overrides: NodeOverrides, trust: AttachmentTrust) throws(ApplyError) -> OpList {
        var ops: OpList
        switch source {
        case .compile(var request):
            request.underlay = overrides.underlay?.value
            request.tableRange = overrides.tableRange?.description
            ops = try CompileChild.run(request).ops
        case .bundle(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ApplyError("\(path): cannot read the bundle; nothing was changed")
            }
            ops = try CompileChild.decode(data, from: path).ops
            overrides.apply(to: &ops)
        case .file(let path):
            // Never more than the size cap plus one byte.
            guard let bytes = readBytes(path, limit: OpListReader.maxBytes + 1) else {
                throw ApplyError("\(path): cannot read the op list; nothing was changed")
            }
            do throws(OpListError) {
                ops = try OpListReader.decode(bytes)
            } catch {
                throw ApplyError(
                    error.problems.map { "\(path): \($0)" }.joined(separator: "\n")
                        + "\nvrfc-apply: \(path) is not a valid vrfc op list (vrfc compile --emit ops); nothing was changed")
            }
            overrides.apply(to: &ops)
        }
        return try validated(ops, trust: trust)
    }

    /// The bytes of `path` (`-`: standard input), at most `limit`; nil when
    /// it cannot be read. Pipes work too (`--ops <(vrfc compile ...)`). A
    /// regular file is read straight into one array of its size: no Data,
    /// no copy, no more fresh pages than the text needs.
    static func readBytes(_ path: String, limit: Int) -> [UInt8]? {
        let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { if fd != STDIN_FILENO { close(fd) } }
        var st = stat()
        let regular = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
        var bytes: [UInt8] = []
        var failed = false
        /// Reads into room for `n` more bytes; false at the end of the text.
        func more(_ n: Int) -> Bool {
            var got = 0
            let old = bytes.count
            bytes.reserveCapacity(old + n)
            bytes.append(contentsOf: repeatElement(0, count: n))
            while got < n {
                let r = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old + got, n - got) }
                if r < 0 && errno == EINTR { continue }
                if r < 0 { failed = true }
                if r <= 0 { break }
                got += r
            }
            bytes.removeLast(n - got)
            return got == n
        }
        // A file's size and one byte more (a file that grew since is read on);
        // a pipe in pieces.
        var chunk = regular ? min(Int(st.st_size) + 1, limit) : 64 << 10
        while bytes.count < limit && more(min(chunk, limit - bytes.count)) { chunk = 64 << 10 }
        return failed ? nil : bytes
    }

    /// Whatever its origin, an op list that fails validation, or attaches
    /// the router beyond what `trust` allows, is never executed.
    public static func validated(_ ops: OpList, trust: AttachmentTrust) throws(ApplyError) -> OpList {
        var problems: [String] = []
        do throws(OpListError) {
            try ops.validate()
        } catch {
            problems = error.problems
        }
        problems += trust.check(ops)
        if !problems.isEmpty {
            throw ApplyError(
                problems.map { "error: \($0)" }.joined(separator: "\n") + "\nvrfc-apply: refusing this op list; nothing was changed")
        }
        return ops
    }
}
