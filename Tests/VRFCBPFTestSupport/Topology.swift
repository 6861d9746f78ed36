import Foundation
import VRFCTestSupport

/// Two hosts and a router, each its own namespace, joined by veths; only
/// documentation addresses:
///
///     h1 eth0 192.0.2.2/28     2001:db8:1::2/64   ── ra (router) 192.0.2.1/28     2001:db8:1::1/64
///     h2 eth0 198.51.100.2/24  2001:db8:2::2/64   ── rb (router) 198.51.100.1/24  2001:db8:2::1/64
///
/// The router forwards (so the kernel path works without the program,
/// which makes "the program did it" measurable), and its FIB has one entry
/// of every kind the program must tell apart (see `Route`).
public struct RouterTopology: Sendable {
    public let h1: Netns
    public let router: Netns
    public let h2: Netns
    /// ifindexes of the router's interfaces, in the router namespace.
    public let a: Int32
    public let b: Int32

    public static let h1MAC: [UInt8] = [0x02, 0, 0, 0, 0x01, 0x02]
    public static let aMAC: [UInt8] = [0x02, 0, 0, 0, 0x01, 0x01]
    public static let bMAC: [UInt8] = [0x02, 0, 0, 0, 0x02, 0x01]
    public static let h2MAC: [UInt8] = [0x02, 0, 0, 0, 0x02, 0x02]

    public static let h1v4 = "192.0.2.2", av4 = "192.0.2.1", bv4 = "198.51.100.1", h2v4 = "198.51.100.2"
    public static let h1v6 = "2001:db8:1::2", av6 = "2001:db8:1::1", bv6 = "2001:db8:2::1", h2v6 = "2001:db8:2::2"

    /// Destinations in the router's FIB, one per lookup result.
    public enum Route {
        /// Behind h2 (gateway with a neighbour when `staticNeighbours`).
        public static let viaH2v4 = "203.0.113.5", viaH2v6 = "2001:db8:3::5"
        /// Behind 198.51.100.3 / 2001:db8:2::3, which never has a neighbour entry.
        public static let noNeighv4 = "203.0.113.130", noNeighv6 = "2001:db8:4::5"
        public static let unreachablev4 = "203.0.113.200", unreachablev6 = "2001:db8:5::5"
        public static let blackholev4 = "203.0.113.230", blackholev6 = "2001:db8:6::5"
        public static let prohibitv4 = "203.0.113.245"
        /// Only in table 100, which `ip rule iif rb` selects: reachable
        /// when the lookup runs in rb's context (the ifindex remap), not ra's.
        public static let onlyFromBv4 = "192.0.2.70", onlyFromBv6 = "2001:db8:7::5"
        /// No route at all.
        public static let nowherev4 = "192.0.2.200"
    }

    /// Creates the namespaces; `staticNeighbours` pins the hosts' MACs in the
    /// router so test runs know the expected rewrite without ever resolving.
    public static func create(staticNeighbours: Bool) throws -> RouterTopology {
        var made: [Netns] = []
        do {
            let h1 = try Netns.create("h1")
            made.append(h1)
            let r = try Netns.create("r")
            made.append(r)
            let h2 = try Netns.create("h2")
            made.append(h2)
            try h1.ip(
                "link", "add", "eth0", "address", mac(h1MAC), "type", "veth",
                "peer", "name", "ra", "address", mac(aMAC), "netns", r.name)
            try h2.ip(
                "link", "add", "eth0", "address", mac(h2MAC), "type", "veth",
                "peer", "name", "rb", "address", mac(bMAC), "netns", r.name)
            for (ns, dev, v4, v6) in [
                (h1, "eth0", "\(h1v4)/28", "\(h1v6)/64"), (r, "ra", "\(av4)/28", "\(av6)/64"),
                (r, "rb", "\(bv4)/24", "\(bv6)/64"), (h2, "eth0", "\(h2v4)/24", "\(h2v6)/64"),
            ] {
                try ns.ip("addr", "add", v4, "dev", dev)
                try ns.ip("-6", "addr", "add", v6, "dev", dev, "nodad")
                try ns.ip("link", "set", dev, "up")
            }
            try h1.ip("route", "add", "default", "via", av4)
            try h1.ip("-6", "route", "add", "default", "via", av6)
            try h2.ip("route", "add", "default", "via", bv4)
            try h2.ip("-6", "route", "add", "default", "via", bv6)

            try r.sysctl("net.ipv4.ip_forward=1")
            try r.sysctl("net.ipv6.conf.all.forwarding=1")
            try r.ip("route", "add", "203.0.113.0/25", "via", h2v4)
            try r.ip("route", "add", "203.0.113.128/26", "via", "198.51.100.3")
            try r.ip("route", "add", "unreachable", "203.0.113.192/27")
            try r.ip("route", "add", "blackhole", "203.0.113.224/28")
            try r.ip("route", "add", "prohibit", "203.0.113.240/28")
            try r.ip("route", "add", "192.0.2.64/27", "via", h2v4, "table", "100")
            try r.ip("rule", "add", "iif", "rb", "lookup", "100", "priority", "100")
            try r.ip("-6", "route", "add", "2001:db8:3::/64", "via", h2v6)
            try r.ip("-6", "route", "add", "2001:db8:4::/64", "via", "2001:db8:2::3")
            try r.ip("-6", "route", "add", "unreachable", "2001:db8:5::/64")
            try r.ip("-6", "route", "add", "blackhole", "2001:db8:6::/64")
            try r.ip("-6", "route", "add", "2001:db8:7::/64", "via", h2v6, "table", "100")
            try r.ip("-6", "rule", "add", "iif", "rb", "lookup", "100", "priority", "100")
            if staticNeighbours {
                try r.ip("neigh", "replace", h2v4, "lladdr", mac(h2MAC), "dev", "rb", "nud", "permanent")
                try r.ip("-6", "neigh", "replace", h2v6, "lladdr", mac(h2MAC), "dev", "rb", "nud", "permanent")
                try r.ip("neigh", "replace", h1v4, "lladdr", mac(h1MAC), "dev", "ra", "nud", "permanent")
                try r.ip("-6", "neigh", "replace", h1v6, "lladdr", mac(h1MAC), "dev", "ra", "nud", "permanent")
            }
            return RouterTopology(h1: h1, router: r, h2: h2, a: try r.ifindex("ra"), b: try r.ifindex("rb"))
        } catch {
            made.forEach { $0.delete() }
            throw error
        }
    }

    public func delete() {
        [h1, router, h2].forEach { $0.delete() }
    }

    /// Runs `body` with a fresh topology, deleting it on every exit path.
    public static func with<T>(staticNeighbours: Bool, _ body: (RouterTopology) throws -> T) throws -> T {
        let topology = try create(staticNeighbours: staticNeighbours)
        defer { topology.delete() }
        return try body(topology)
    }

    public static func mac(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
    }
}

/// A pin directory of the test's own, removed afterwards.
public func withPinDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = "/sys/fs/bpf/vrfc-test-\(UUID().uuidString.lowercased())"
    defer { removePinDirectory(dir) }
    return try body(dir)
}

func removePinDirectory(_ dir: String) {
    if let names = try? FileManager.default.contentsOfDirectory(atPath: dir) {
        for n in names { unlink(dir + "/" + n) }
    }
    rmdir(dir)
}
