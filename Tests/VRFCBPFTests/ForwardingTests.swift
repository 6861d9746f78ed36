import CBPF
import Foundation
import Glibc
import Testing
import VRFCBPFTestSupport
import VRFCTestSupport

@testable import VRFCBPF

/// The router's kernel-path counters: if the program routed a packet, the
/// kernel's forwarding path never saw it.
struct KernelForwarded: Equatable {
    var ipv4: UInt64
    var ipv6: UInt64

    static func read(_ ns: Netns) throws -> KernelForwarded {
        KernelForwarded(ipv4: try ns.snmp("Ip", "ForwDatagrams"), ipv6: try ns.snmp6("Ip6OutForwDatagrams"))
    }

    static func - (a: Self, b: Self) -> Self { Self(ipv4: a.ipv4 - b.ipv4, ipv6: a.ipv6 - b.ipv6) }
}

/// The length of one echo datagram of Traffic.udpEcho as a frame.
func echoFrameBytes(index: Int, ipv6: Bool) -> UInt64 {
    let payload = "vrfc echo \(index) ".utf8.count + 64
    return UInt64(14 + (ipv6 ? 40 : 20) + 8 + payload)
}

func attachRouter(_ t: RouterTopology, pin: String) throws {
    let (a, b) = (t.a, t.b)
    try t.router.run {
        let attacher = TCRouterAttacher(pinDirectory: pin)
        try attacher.attach(ifindex: a, name: "ra")
        try attacher.attach(ifindex: b, name: "rb")
    }
}

@Suite("Real forwarding between namespaces through the router")
struct ForwardingTests {
    @Test("UDP both ways, IPv4 and IPv6: routed by the program, every packet and byte accounted for")
    func udpBothWays() throws {
        try RouterTopology.with(staticNeighbours: false) { t in
            try withPinDirectory { pin in
                let n = 25
                // Control: the kernel forwards without the program, and its counter shows it.
                let k0 = try KernelForwarded.read(t.router)
                let plain = try Traffic.udpEcho(from: t.h1, to: t.h2, address: RouterTopology.h2v4, count: n)
                let k1 = try KernelForwarded.read(t.router)
                #expect(plain == n)
                #expect((k1 - k0).ipv4 >= UInt64(2 * n))

                try attachRouter(t, pin: pin)
                let s0 = try RouterStats.read(pinDirectory: pin)
                let v4 = try Traffic.udpEcho(from: t.h1, to: t.h2, address: RouterTopology.h2v4, count: n)
                let v4back = try Traffic.udpEcho(from: t.h2, to: t.h1, address: RouterTopology.h1v4, count: n)
                let v6 = try Traffic.udpEcho(from: t.h1, to: t.h2, address: RouterTopology.h2v6, count: n)
                let v6back = try Traffic.udpEcho(from: t.h2, to: t.h1, address: RouterTopology.h1v6, count: n)
                let s1 = try RouterStats.read(pinDirectory: pin)
                let k2 = try KernelForwarded.read(t.router)

                let echoed: [Int] = [v4, v4back, v6, v6back]
                #expect(echoed == [n, n, n, n])
                // Request and echo each cross the router once: 2 per datagram.
                var bytes: UInt64 = 0
                for i in 0..<n { bytes += 2 * 2 * (echoFrameBytes(index: i, ipv6: false) + echoFrameBytes(index: i, ipv6: true)) }
                let routed = s1.routed - s0.routed
                #expect(routed == Counter(packets: UInt64(8 * n), bytes: bytes))
                #expect(k2 - k1 == KernelForwarded(ipv4: 0, ipv6: 0), "no packet took the kernel's forwarding path")
                // The first packet each way met an unresolved neighbour.
                #expect((s1[.routedNeigh] - s0[.routedNeigh]).packets >= 1)
            }
        }
    }

    @Test("TCP streams (GSO-sized packets) cross intact in both families")
    func tcpStreams() throws {
        try RouterTopology.with(staticNeighbours: false) { t in
            try withPinDirectory { pin in
                try attachRouter(t, pin: pin)
                let k0 = try KernelForwarded.read(t.router)
                let s0 = try RouterStats.read(pinDirectory: pin)
                let size = 8 << 20
                let v4 = try Traffic.tcpStream(from: t.h1, to: t.h2, address: RouterTopology.h2v4, bytes: size)
                let v6 = try Traffic.tcpStream(from: t.h2, to: t.h1, address: RouterTopology.h1v6, bytes: size)
                let s1 = try RouterStats.read(pinDirectory: pin)
                let k1 = try KernelForwarded.read(t.router)
                #expect(v4 == size)
                #expect(v6 == size)
                #expect(k1 - k0 == KernelForwarded(ipv4: 0, ipv6: 0))
                // Every stream byte crossed as a routed packet (plus headers).
                #expect((s1.routed - s0.routed).bytes > UInt64(2 * size))
                #expect((s1[.passFIB] - s0[.passFIB]).packets == 0)
            }
        }
    }

    @Test("Frames cut inside the IP header, sent on the wire, go up the stack as malformed")
    func truncatedOnTheWire() throws {
        try RouterTopology.with(staticNeighbours: false) { t in
            try withPinDirectory { pin in
                try attachRouter(t, pin: pin)
                let full4 = Frame.ipv4(
                    dstMAC: RouterTopology.aMAC, srcMAC: RouterTopology.h1MAC,
                    src: RouterTopology.h1v4, dst: RouterTopology.h2v4)
                let full6 = Frame.ipv6(
                    dstMAC: RouterTopology.aMAC, srcMAC: RouterTopology.h1MAC,
                    src: RouterTopology.h1v6, dst: RouterTopology.h2v6)
                let frames = [Array(full4.prefix(14)), Array(full4.prefix(14 + 12)), Array(full6.prefix(14 + 30))]
                let s0 = try RouterStats.read(pinDirectory: pin)
                try t.h1.run { try sendRaw(frames, on: "eth0") }
                let s1 = try RouterStats.read(pinDirectory: pin)
                let malformed = s1[.passMalformed] - s0[.passMalformed]
                #expect(malformed == Counter(packets: 3, bytes: UInt64(14 + 26 + 44)))
                #expect((s1.routed - s0.routed).packets == 0)
            }
        }
    }

    @Test("Swapping builds under traffic never leaves a gap: no packet falls back to the kernel path")
    func noWindowDuringReplacement() throws {
        try RouterTopology.with(staticNeighbours: false) { t in
            try withPinDirectory { pin in
                try attachRouter(t, pin: pin)
                // Warm up neighbours so the stream runs at full rate from the start.
                #expect(try Traffic.udpEcho(from: t.h1, to: t.h2, address: RouterTopology.h2v4, count: 5) == 5)
                let older = try RouterProgram(object: RouterVariant.olderBuild(), pinDirectory: nil)
                let (a, b) = (t.a, t.b)

                // Control: detaching and re-attaching (a window) under the same
                // stream does let packets through to the kernel, so the check
                // below can see a window if there is one.
                let current = try TCRouterAttacher(pinDirectory: pin).program()
                let naive = try underStream(t, port: 7791) {
                    for (ifindex, name) in [(a, "ra"), (b, "rb")] {
                        try TCIngress.detach(
                            ifindex: ifindex, name: name,
                            priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                        try TCIngress.attach(
                            programFD: current.programFD, ifindex: ifindex, name: name,
                            priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                    }
                }
                #expect(naive.overlapped)
                #expect(naive.kernelForwarded > 0, "the control swaps with a window; the stream must have hit it")

                var round = 0
                let attacher = TCRouterAttacher(pinDirectory: pin)
                _ = try attacher.program()
                let swap = try underStream(t, port: 7790) {
                    for (ifindex, name) in [(a, "ra"), (b, "rb")] {
                        if round % 2 == 0 {
                            // An older release at vrfc's slot: swapped in place.
                            try TCIngress.attach(
                                programFD: older.programFD, ifindex: ifindex, name: name,
                                priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                        } else {
                            // An older release at another priority: ours is added before it goes.
                            try TCIngress.attach(programFD: older.programFD, ifindex: ifindex, name: name, priority: 10, handle: 1)
                            try TCIngress.detach(
                                ifindex: ifindex, name: name,
                                priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                        }
                        guard try attacher.state(ifindex: ifindex) == .stale else {
                            throw SetupError("older build not in place on \(name)")
                        }
                        try attacher.attach(ifindex: ifindex, name: name)
                        guard try attacher.state(ifindex: ifindex) == .current else { throw SetupError("\(name) not current") }
                    }
                    round += 1
                }
                #expect(swap.overlapped)
                #expect(swap.echoed == swap.sent)
                #expect(swap.kernelForwarded == 0, "a packet met an interface without a router program")
            }
        }
    }
}

struct StreamRun {
    var sent: Int
    var echoed: Int
    var kernelForwarded: UInt64
    /// Every swap ran while the stream was flowing.
    var overlapped: Bool
}

/// Runs `swap` 30 times in the router namespace while a UDP echo stream
/// h1 -> h2 flows, and reports what the kernel forwarded meanwhile.
func underStream(_ t: RouterTopology, port: UInt16, swap: @escaping () throws -> Void) throws -> StreamRun {
    let (h1, h2) = (t.h1, t.h2)
    let count = 8_000
    let k0 = try t.router.snmp("Ip", "ForwDatagrams")
    let started = Date()
    let stream = background { () throws -> (Int, TimeInterval) in
        let r = try Traffic.udpEcho(from: h1, to: h2, address: RouterTopology.h2v4, count: count, port: port)
        return (r, Date().timeIntervalSince(started))
    }
    nonisolated(unsafe) let body = swap
    let (first, last) = try t.router.run { () throws -> (TimeInterval, TimeInterval) in
        usleep(30_000)
        let first = Date().timeIntervalSince(started)
        for _ in 0..<30 {
            try body()
            usleep(2_000)
        }
        return (first, Date().timeIntervalSince(started))
    }
    let (echoed, ended) = try stream.join()
    let k1 = try t.router.snmp("Ip", "ForwDatagrams")
    return StreamRun(sent: count, echoed: echoed, kernelForwarded: k1 - k0, overlapped: first > 0 && last < ended)
}

/// Sends raw frames from a packet socket (on a thread inside the namespace).
func sendRaw(_ frames: [[UInt8]], on interface: String) throws {
    let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), 0)
    guard fd >= 0 else { throw SetupError("packet socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var sll = PacketAddress(ifindex: Int32(if_nametoindex(interface)))
    for frame in frames {
        let sent = frame.withUnsafeBytes { raw in
            withUnsafePointer(to: &sll) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<PacketAddress>.size))
                }
            }
        }
        guard sent == frame.count else {
            throw SetupError("sending a \(frame.count)-byte frame on \(interface): \(String(cString: strerror(errno)))")
        }
    }
    // veth delivers synchronously, but give the receiving softirq a moment.
    usleep(50_000)
}

/// struct sockaddr_ll (linux/if_packet.h; 20 bytes, fields in C order), for
/// sending frames on a packet socket.
struct PacketAddress {
    var family = UInt16(AF_PACKET)
    var ethertype: UInt16 = 0
    var ifindex: Int32
    var hatype: UInt16 = 0
    var pkttype: UInt8 = 0
    var halen: UInt8 = 6
    var address: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
}
