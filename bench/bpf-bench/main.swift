// vrfc-bpf-bench: what the tc router costs and what it buys, on this machine.
//
// 1. Nanoseconds per packet of the program itself, from BPF_PROG_TEST_RUN
//    (the kernel times its own loop), for routed and passed-through frames.
// 2. TCP throughput h1 -> router -> h2 (iperf3) with the program attached
//    vs the kernel's own forwarding, alternating in one run.
//
// A benchmark, not a test: run it by hand as root (bench/bpf-bench.sh).
// It creates its namespaces (vrfct-*) and a pin directory of its own and
// removes them afterwards.
import Foundation
import Glibc
import VRFCBPF
import VRFCBPFTestSupport
import VRFCTestSupport

struct Options {
    var iterations = 1_000_000
    var seconds = 10
    var rounds = 3
    var json: String?

    init(_ args: [String]) throws {
        var it = args.makeIterator()
        while let a = it.next() {
            func value() throws -> String {
                guard let v = it.next() else { throw SetupError("\(a) needs a value") }
                return v
            }
            switch a {
            case "--iterations": iterations = Int(try value()) ?? iterations
            case "--seconds": seconds = Int(try value()) ?? seconds
            case "--rounds": rounds = Int(try value()) ?? rounds
            case "--json": json = try value()
            case "-h", "--help":
                print("usage: vrfc-bpf-bench [--iterations N] [--seconds S] [--rounds R] [--json FILE]")
                exit(0)
            default: throw SetupError("unknown argument \(a)")
            }
        }
    }
}

struct FrameCost: Codable {
    var frame: String
    var outcome: String
    var nanosecondsPerPacket: Double
    var packets: UInt64
}

struct Throughput: Codable {
    var packets: String
    var mode: String
    var gbitPerSecond: [Double]
    var median: Double
    var kernelForwardedPackets: UInt64
}

struct Report: Codable {
    var kernel: String
    var cpus: Int
    var perPacket: [FrameCost]
    var throughput: [Throughput]
    /// Median program / median kernel, per packet size.
    var ratioProgramToKernel: [String: Double]
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// ns/packet over `iterations` runs. A routed frame is rewritten in place
/// (TTL - 1) on every repeat of one test run, so it goes in batches of 250
/// starting at TTL 255: every repeat really routes. The counters check that.
func perPacket(_ program: RouterProgram, in ns: Netns, ifindex: Int32, name: String, frame: [UInt8],
               expect outcome: RouterOutcome, iterations: Int) throws -> FrameCost {
    let batch: UInt32 = outcome.isRouted ? 250 : 10_000
    let runs = max(1, iterations / Int(batch))
    let (total, counted) = try ns.run { () throws -> (Double, UInt64) in
        let before = try program.stats()[outcome].packets
        var total = 0.0
        for _ in 0..<runs {
            let r = try program.testRun(frame: frame, ifindex: ifindex, repeat: batch)
            total += Double(r.nanosecondsPerRun) * Double(batch)
        }
        return (total, try program.stats()[outcome].packets - before)
    }
    let packets = UInt64(runs) * UInt64(batch)
    guard counted == packets else {
        throw SetupError("\(name): \(counted) of \(packets) runs ended as \(outcome.name); the frame does not do what it should")
    }
    return FrameCost(frame: name, outcome: outcome.name, nanosecondsPerPacket: total / Double(packets), packets: packets)
}

/// One iperf3 run h1 -> h2 (IPv4, one TCP stream) in Gbit/s.
func iperf(_ t: RouterTopology, seconds: Int, port: Int) throws -> Double {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: try Command.which("ip"))
    server.arguments = ["netns", "exec", t.h2.name, "iperf3", "-s", "-1", "-p", String(port)]
    server.standardOutput = FileHandle.nullDevice
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer { if server.isRunning { kill(server.processIdentifier, SIGTERM); server.waitUntilExit() } }
    var output = ""
    for _ in 0..<50 {
        // iperf3 -J reports "connection refused" (server not listening yet)
        // in its JSON, sometimes with exit status 0.
        output = (try? t.h1.exec(["iperf3", "-c", RouterTopology.h2v4, "-p", String(port), "-t", String(seconds), "-J"])) ?? ""
        if let json = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
           json["error"] == nil, let end = json["end"] as? [String: Any],
           let received = end["sum_received"] as? [String: Any], let bps = received["bits_per_second"] as? Double {
            return bps / 1e9
        }
        usleep(100_000)
    }
    throw SetupError("iperf3 did not run: \(output.prefix(400))")
}

func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    var uts = utsname()
    uname(&uts)
    let kernel = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    print("vrfc tc router benchmark: Linux \(kernel), \(cpus) CPUs\n")

    // 1. BPF_PROG_TEST_RUN
    let costs = try RouterTopology.with(staticNeighbours: true) { t -> [FrameCost] in
        let program = try RouterProgram(pinDirectory: nil)
        typealias T = RouterTopology
        let cases: [(String, [UInt8], RouterOutcome)] = [
            ("IPv4 routed", Frame.ipv4(dstMAC: T.aMAC, src: T.h1v4, dst: T.h2v4, ttl: 255), .routed),
            ("IPv6 routed", Frame.ipv6(dstMAC: T.aMAC, src: T.h1v6, dst: T.h2v6, hopLimit: 255), .routed),
            ("IPv4 to the router itself (FIB lookup, pass)", Frame.ipv4(dstMAC: T.aMAC, src: T.h1v4, dst: T.av4), .passFIB),
            ("IPv6 to the router itself (FIB lookup, pass)", Frame.ipv6(dstMAC: T.aMAC, src: T.h1v6, dst: T.av6), .passFIB),
            ("ARP (not IP, pass)", Frame.arpRequest(srcMAC: T.h1MAC, senderIP: T.h1v4, targetIP: T.av4), .passNotIP),
        ]
        return try cases.map { name, frame, outcome in
            try perPacket(program, in: t.router, ifindex: t.a, name: name, frame: frame, expect: outcome,
                          iterations: options.iterations)
        }
    }
    print("BPF_PROG_TEST_RUN, \(options.iterations) packets per frame:")
    for c in costs {
        print("  " + c.frame.padding(toLength: 48, withPad: " ", startingAt: 0)
              + String(format: "%8.1f ns/packet", c.nanosecondsPerPacket))
    }

    // 2. iperf3 through the router namespace, alternating the two paths.
    //    The hosts send 64 KB GSO packets, as real ones do; forcing one MSS
    //    per packet (gso_max_segs 1) was tried and measures only the
    //    sender here (~0.4 Gbit/s either way), so part 1 gives per-packet cost.
    print("\niperf3 h1 -> router -> h2, IPv4, 1 TCP stream, \(options.seconds) s per run, \(options.rounds) rounds:")
    var throughput: [Throughput] = []
    var ratios: [String: Double] = [:]
    for (packets, segs) in [("GSO (64 KB)", nil)] as [(String, String?)] {
        print("  \(packets):")
        let modes = try RouterTopology.with(staticNeighbours: false) { t -> [Throughput] in
            if let segs {
                try t.h1.ip("link", "set", "eth0", "gso_max_segs", segs)
                try t.h2.ip("link", "set", "eth0", "gso_max_segs", segs)
            }
            let pin = "/sys/fs/bpf/vrfcb-bench-\(UUID().uuidString.lowercased())"
            defer { BPFFS.remove(directory: pin) }
            let attacher = TCRouterAttacher(pinDirectory: pin)
            let (a, b) = (t.a, t.b)
            var results: [String: (rates: [Double], forwarded: UInt64)] = ["kernel": ([], 0), "program": ([], 0)]
            for round in 0..<options.rounds {
                for mode in ["kernel", "program"] {
                    try t.router.run {
                        for (i, n) in [(a, "ra"), (b, "rb")] {
                            if mode == "program" { try attacher.attach(ifindex: i, name: n) }
                            else { try attacher.detach(ifindex: i, name: n) }
                        }
                    }
                    let k0 = try t.router.snmp("Ip", "ForwDatagrams")
                    let rate = try iperf(t, seconds: options.seconds, port: 5201 + round)
                    let k1 = try t.router.snmp("Ip", "ForwDatagrams")
                    results[mode]!.rates.append(rate)
                    results[mode]!.forwarded += k1 - k0
                    print("    round \(round + 1) \(mode.padding(toLength: 8, withPad: " ", startingAt: 0))"
                          + String(format: "%7.2f Gbit/s", rate) + "  (kernel forwarded \(k1 - k0) packets)")
                }
            }
            return ["kernel", "program"].map { m in
                Throughput(packets: packets, mode: m, gbitPerSecond: results[m]!.rates, median: median(results[m]!.rates),
                           kernelForwardedPackets: results[m]!.forwarded)
            }
        }
        let ratio = modes[1].median / modes[0].median
        ratios[packets] = ratio
        print(String(format: "    median: kernel %.2f Gbit/s, program %.2f Gbit/s, program/kernel %.3f",
                     modes[0].median, modes[1].median, ratio))
        if modes[1].kernelForwardedPackets != 0 {
            print("    warning: the kernel forwarded \(modes[1].kernelForwardedPackets) packets while the program was attached")
        }
        throughput += modes
    }

    let report = Report(kernel: kernel, cpus: cpus, perPacket: costs, throughput: throughput, ratioProgramToKernel: ratios)
    if let path = options.json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        print("report: \(path)")
    }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("vrfc-bpf-bench: \(error)\n".utf8))
    exit(1)
}
