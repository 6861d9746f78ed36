import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCBPF
import VRFCBPFTestSupport
import VRFCTestSupport

/// What one phase of the VRF scenario measured.
struct VRFPhase: Codable, Equatable {
    var echoed: Int
    var routed: UInt64
    var kernelForwarded: UInt64
}

/// The router where it runs in production: on interfaces enslaved to a VRF,
/// which this machine's kernel lacks. The host side boots a Debian kernel
/// with virtme-ng and runs this same test binary there, filtered to this
/// test, with VRFCB_GUEST_OUT set; the guest side builds the scenario, checks
/// it, and writes what it measured for the host to check again.
@Suite("The router in a VRF, under a Debian kernel (virtme-ng guest)")
struct VRFGuestTests {
    static let count = 20

    @Test(
        "IPv4 over IPv6 link-local nexthops across vd./dv., and IPv6",
        .timeLimit(.minutes(20)))
    func routesInsideAVRF() throws {
        let phases: [String: VRFPhase]
        if let out = ProcessInfo.processInfo.environment["VRFCB_GUEST_OUT"] {
            phases = try Self.scenario()
            try JSONEncoder().encode(phases).write(to: URL(fileURLWithPath: out))
        } else {
            phases = try Self.bootGuest()
        }
        let n = Self.count
        // vd.x/dv.x: the program routes in the VRF on ra and vd.x; the hop
        // dv.x <-> rb is the default VRF's, forwarded by the kernel.
        #expect(phases["ipv4 via vd/dv"] == VRFPhase(echoed: n, routed: UInt64(2 * n), kernelForwarded: UInt64(2 * n)))
        #expect(phases["ipv6 via vd/dv"] == VRFPhase(echoed: n, routed: UInt64(2 * n), kernelForwarded: UInt64(2 * n)))
        #expect(phases.count == 2)
    }

    /// Boots the guest and returns what it wrote.
    static func bootGuest() throws -> [String: VRFPhase] {
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        // The guest sees the host's files read-only, except this directory.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfcb-guest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("phases.json")
        let path = "/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let inner =
            "export PATH=\(path) VRFCB_GUEST_OUT=\(out.path); cd \(Repo.root.path) && "
            + "'\(binary)' --testing-library swift-testing --filter 'VRFGuestTests' 2>&1 | tail -40"
        let boot = try Guest.boot(inner, rwdir: dir.path)
        guard let data = FileManager.default.contents(atPath: out.path) else {
            throw SetupError("the guest wrote no results; its output:\n\(boot)")
        }
        return try JSONDecoder().decode([String: VRFPhase].self, from: data)
    }

    /// In the guest:
    ///
    ///     h1 eth0 ── ra [vr.x] · vd.x [vr.x] ══ dv.x · rb ── h2 eth0
    ///
    /// VRF vr.x (table 50) and the default VRF are joined by the veth pair
    /// vd.x/dv.x and routes over their IPv6 link-local addresses, as FRR
    /// installs them for the `neighbor vd./dv. interface` sessions.
    static func scenario() throws -> [String: VRFPhase] {
        try withNamespaces(["h1", "r", "h2"]) { ns in
            let (h1, r, h2) = (ns[0], ns[1], ns[2])
            try h1.ip("link", "add", "eth0", "type", "veth", "peer", "name", "ra", "netns", r.name)
            try h2.ip("link", "add", "eth0", "type", "veth", "peer", "name", "rb", "netns", r.name)
            try r.ip("link", "add", "vr.x", "type", "vrf", "table", "50")
            try r.ip("link", "add", "vd.x", "type", "veth", "peer", "name", "dv.x")
            try r.ip("link", "set", "ra", "master", "vr.x")
            try r.ip("link", "set", "vd.x", "master", "vr.x")
            for l in ["vr.x", "vd.x", "dv.x", "ra", "rb"] { try r.ip("link", "set", l, "up") }
            for (n, dev, v4, v6) in [
                (r, "ra", "192.0.2.1/28", "2001:db8:1::1/64"), (r, "rb", "198.51.100.1/24", "2001:db8:2::1/64"),
                (h1, "eth0", "192.0.2.2/28", "2001:db8:1::2/64"), (h2, "eth0", "198.51.100.2/24", "2001:db8:2::2/64"),
            ] {
                try n.ip("addr", "add", v4, "dev", dev)
                try n.ip("-6", "addr", "add", v6, "dev", dev, "nodad")
                try n.ip("link", "set", dev, "up")
            }
            try h1.ip("route", "add", "default", "via", "192.0.2.1")
            try h1.ip("-6", "route", "add", "default", "via", "2001:db8:1::1")
            try h2.ip("route", "add", "default", "via", "198.51.100.1")
            try h2.ip("-6", "route", "add", "default", "via", "2001:db8:2::1")
            try r.sysctl("net.ipv4.ip_forward=1")
            try r.sysctl("net.ipv6.conf.all.forwarding=1")
            let vdLL = try linkLocal(r, "vd.x")
            let dvLL = try linkLocal(r, "dv.x")
            try r.ip("route", "add", "198.51.100.0/24", "vrf", "vr.x", "via", "inet6", dvLL, "dev", "vd.x")
            try r.ip("route", "add", "192.0.2.0/28", "via", "inet6", vdLL, "dev", "dv.x")
            try r.ip("-6", "route", "add", "2001:db8:2::/64", "vrf", "vr.x", "via", dvLL, "dev", "vd.x")
            try r.ip("-6", "route", "add", "2001:db8:1::/64", "via", vdLL, "dev", "dv.x")

            // Neighbours resolved by the kernel path first, so each phase
            // counts exactly the datagrams (no NO_NEIGH detours).
            for addr in ["198.51.100.2", "2001:db8:2::2"] {
                guard try Traffic.udpEcho(from: h1, to: h2, address: addr, count: 3) == 3 else {
                    throw SetupError("no kernel path from h1 to \(addr) through vr.x; the guest's VRF setup failed")
                }
            }

            let pin = "/sys/fs/bpf/vrfc-test-\(UUID().uuidString.lowercased())"
            defer { BPFFS.remove(directory: pin) }
            let attacher = TCRouterAttacher(pinDirectory: pin)
            let ra = try r.ifindex("ra")
            let vd = try r.ifindex("vd.x")
            try r.run {
                try attacher.attach(ifindex: ra, name: "ra")
                try attacher.attach(ifindex: vd, name: "vd.x")
            }
            var phases: [String: VRFPhase] = [:]
            func phase(_ name: String, _ address: String, ipv6: Bool) throws {
                let k0 = ipv6 ? try r.snmp6("Ip6OutForwDatagrams") : try r.snmp("Ip", "ForwDatagrams")
                let s0 = try RouterStats.read(pinDirectory: pin)
                let echoed = try Traffic.udpEcho(from: h1, to: h2, address: address, count: count)
                let s1 = try RouterStats.read(pinDirectory: pin)
                let k1 = ipv6 ? try r.snmp6("Ip6OutForwDatagrams") : try r.snmp("Ip", "ForwDatagrams")
                phases[name] = VRFPhase(echoed: echoed, routed: (s1.routed - s0.routed).packets, kernelForwarded: k1 - k0)
            }
            try phase("ipv4 via vd/dv", "198.51.100.2", ipv6: false)
            try phase("ipv6 via vd/dv", "2001:db8:2::2", ipv6: true)
            return phases
        }
    }

    /// The interface's IPv6 link-local address, once DAD is done with it.
    static func linkLocal(_ ns: Netns, _ dev: String) throws -> String {
        for _ in 0..<100 {
            let out = try ns.ip("-6", "-o", "addr", "show", "dev", dev, "scope", "link")
            if !out.contains("tentative"), let field = out.split(separator: " ").first(where: { $0.hasPrefix("fe80::") }) {
                return String(field.split(separator: "/")[0])
            }
            usleep(100_000)
        }
        throw SetupError("\(dev) in \(ns) has no usable link-local address after 10 s")
    }
}
