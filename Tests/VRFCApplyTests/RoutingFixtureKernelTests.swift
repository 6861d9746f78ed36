import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCTestSupport

/// The routes and rules the compiler writes for the routing fixtures are
/// ones the kernel takes: applied by vrfc-apply in a namespace of their own
/// (the fixtures' VRF links left out: this kernel has no VRF device), read
/// back with `ip -j`, and a second apply changes nothing.
@Suite(.serialized) struct RoutingFixtureKernelTests {
    /// The fixture's op list without its links (routes, rules, tables only).
    static func routeOps(_ fixture: String) throws -> OpList {
        var ops = try compiledOps(fixture)
        ops.links = []
        ops.routerAttachments = []
        return ops
    }

    /// eth1 with this node's addresses on the fixtures' networks.
    static func node(_ ns: Namespace) throws {
        try ns.addUnderlay()
        try ns.ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth1.peer")
        for a in ["192.0.2.13/24", "2001:db8:1000::c000:20d/96", "2001:db8:ffff::13/64", "2001:db8:0:1::10/64"] {
            if a.contains(":") {
                try ns.ip("-6", "address", "add", a, "dev", "eth1", "nodad")
            } else {
                try ns.ip("address", "add", a, "dev", "eth1")
            }
        }
        try ns.ip("link", "set", "eth1", "up")
        try ns.ip("link", "set", "eth1.peer", "up")
    }

    static func json(_ text: String) throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
    }

    @Test func podRoutesAreTakenByTheKernel() throws {
        try Namespace.with("podrt") { ns in
            try Self.node(ns)
            let ops = try Self.routeOps("pod-routes")
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            var got: [String: String] = [:]
            for family in ["-4", "-6"] {
                for route in try Self.json(try ns.ip("-j", family, "route", "show", "proto", "118")) {
                    got[route["dst"] as? String ?? "?"] = "\(route["gateway"] as? String ?? "-") \(route["dev"] as? String ?? "-")"
                }
            }
            #expect(
                got == [
                    "198.51.100.0/26": "192.0.2.11 eth1", "198.51.100.64/26": "192.0.2.12 eth1",
                    "2001:db8:10::/64": "2001:db8:1000::c000:20b eth1", "2001:db8:20::/64": "2001:db8:ffff::12 eth1",
                ], "\(got)")
            let again = try ns.applyOps(ops)
            #expect(again.status == 0 && !again.stdout.contains("route add"), "\(again)")
        }
    }

    @Test func theReturnPathTableAndRulesAreTakenByTheKernel() throws {
        try Namespace.with("retpath") { ns in
            try Self.node(ns)
            let ops = try Self.routeOps("metallb-return-path")
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            let v4 = try Self.json(try ns.ip("-j", "-4", "route", "show", "table", "200"))
            let hops = (v4.first?["nexthops"] as? [[String: Any]])?.map { "\($0["gateway"] ?? "") \($0["weight"] ?? "")" }
            #expect(v4.count == 1 && v4.first?["dst"] as? String == "default" && hops == ["192.0.2.1 100", "192.0.2.2 100"], "\(v4)")
            let v6 = try Self.json(try ns.ip("-j", "-6", "route", "show", "table", "200"))
            #expect(v6.count == 1 && v6.first?["gateway"] as? String == "2001:db8:0:1::1", "\(v6)")
            var rules: [String] = []
            for family in ["-4", "-6"] {
                for rule in try Self.json(try ns.ip("-j", family, "rule", "show", "table", "200")) {
                    rules.append("\(rule["priority"] ?? "") \(rule["src"] ?? "")/\(rule["srclen"] ?? "") \(rule["fwmark"] ?? "")")
                }
            }
            #expect(rules == ["20 198.51.100.0/25 0x14", "20 198.51.100.200/30 0x14", "20 2001:db8:100::/120 0x14"], "\(rules)")
            let again = try ns.applyOps(ops)
            #expect(again.status == 0 && !again.stdout.contains(" add "), "\(again)")
        }
    }
}
