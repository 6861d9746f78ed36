import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

// Routes and policy rules through vrfc-apply, in namespaces on this kernel
// (routes and rules need no VRF device). The op lists are written here as
// JSON op-list files, as `vrfc compile --emit ops` would write them; every
// result is read back over netlink (vrfc's parser) and with `ip -d -j`.

private func prefix(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }
private func addr(_ s: String) -> IPAddress { IPAddress(parsing: s[...])! }
private func ifname(_ s: String) -> InterfaceName { try! InterfaceName(validating: s) }

/// The return-path table of the tests.
private let lbTable: UInt32 = 100

/// An op list with only routes and rules (no links).
private func routeOps(routes: [RouteSpec], rules: [RuleSpec], owned: [UInt32] = [lbTable]) -> OpList {
    OpList(
        underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [],
        ownedTables: owned, routes: routes, rules: rules)
}

private func ecmp(_ dst: String, _ gateways: [(String, Int)], device: String? = nil, table: UInt32 = lbTable) -> RouteSpec {
    RouteSpec(
        table: table, destination: prefix(dst),
        nexthops: gateways.map { Nexthop(gateway: addr($0.0), device: device.map(ifname), weight: $0.1) })
}

private func rule(_ prio: UInt32, from: String?, fwmark: UInt32? = nil, fwmask: UInt32? = nil) -> RuleSpec {
    let p = from.map(prefix)
    return RuleSpec(priority: prio, family: p?.family ?? .ipv4, from: p, fwmark: fwmark, fwmask: fwmask, table: lbTable)
}

/// The MetalLB-style node of most tests: two peers on `up0`, both families.
private func lbOps(
    peers4: [(String, Int)] = [("192.0.2.2", 100), ("192.0.2.3", 100)],
    peers6: [(String, Int)] = [("2001:db8:1::2", 1), ("2001:db8:1::3", 2)],
    pools: [String] = ["203.0.113.0/25", "2001:db8:99::/64"], fwmark: UInt32? = nil
) -> OpList {
    routeOps(
        routes: [ecmp("0.0.0.0/0", peers4, device: "up0"), ecmp("::/0", peers6, device: "up0")],
        rules: pools.map { rule(20, from: $0, fwmark: fwmark) })
}

extension Namespace {
    /// `up0` with the peers' subnets, the link the return path leaves by.
    func addUplink() throws {
        try ip("link", "add", "up0", "type", "veth", "peer", "name", "up0.peer")
        try ip("address", "add", "192.0.2.1/24", "dev", "up0")
        try ip("address", "add", "2001:db8:1::1/64", "dev", "up0", "nodad")
        try ip("link", "set", "up0", "up")
        try ip("link", "set", "up0.peer", "up")
    }

    func kernelRoutes() throws -> [KernelRoute] { try NetlinkSocket.open(namespace: name).routes() }
    func kernelRules() throws -> [KernelRule] { try NetlinkSocket.open(namespace: name).rulesAndTables().0 }

    /// `ip -d -j route show table all` of both families (without the kernel's local/multicast noise).
    func ipRoutes() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for fam in ["-4", "-6"] {
            let text = try Shell.check(["ip", "-n", name, fam, "-d", "-j", "route", "show", "table", "all"]).stdout
            out += (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
        }
        return out
    }

    func ipRules() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for fam in ["-4", "-6"] {
            let text = try Shell.check(["ip", "-n", name, fam, "-d", "-j", "rule", "show"]).stdout
            out += ((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []).map {
                var r = $0
                r["family"] = fam
                return r
            }
        }
        return out
    }
}

extension KernelRoute {
    var isVrfcs: Bool { `protocol` == RouteOwnership.protocol }
    /// Someone else's: neither vrfc's nor one the kernel makes itself for
    /// addresses and links (proto kernel, which comes and goes with IPv6
    /// link-local addresses while a test runs).
    var isForeign: Bool { !isVrfcs && `protocol` != 2 }
}

/// What `ip -d -j route` shows of vrfc's routes: "dst table proto nexthops".
private func ipShows(_ routes: [[String: Any]]) -> Set<String> {
    Set(
        routes.compactMap { r -> String? in
            guard "\(r["protocol"] ?? "")" == "118" || "\(r["protocol"] ?? "")" == "vrfc" else { return nil }
            let table = "\(r["table"] ?? "main")"
            var hops: [String] = []
            if let mp = r["nexthops"] as? [[String: Any]] {
                hops = mp.map { "\($0["gateway"] ?? "-")/\($0["dev"] ?? "-")/\($0["weight"] ?? 1)" }.sorted()
            } else {
                hops = ["\(r["gateway"] ?? "-")/\(r["dev"] ?? "-")/1"]
            }
            return "\(r["dst"] ?? "?") \(table) \(hops.joined(separator: ","))"
        })
}

/// The same words from the op list.
private func expectedIP(_ ops: OpList) -> Set<String> {
    Set(
        ops.routes.map { r in
            let dst = r.destination.length == 0 ? "default" : r.destination.text
            let table = r.table == 254 ? "main" : String(r.table)
            let hops = r.nexthops.map {
                "\($0.gateway?.description ?? "-")/\($0.device?.value ?? "up0")/\(r.nexthops.count > 1 ? $0.weight : 1)"
            }.sorted()
            return "\(dst) \(table) \(hops.joined(separator: ","))"
        })
}

/// `ip -d -j rule` words of vrfc's rules: "family prio from fwmark/mask table".
private func ipRuleShows(_ rules: [[String: Any]]) -> Set<String> {
    Set(
        rules.compactMap { r -> String? in
            guard "\(r["protocol"] ?? "")" == "118" || "\(r["protocol"] ?? "")" == "vrfc" else { return nil }
            let src = r["srclen"].map { "\(r["src"] ?? "?")/\($0)" } ?? "all"
            let mark = r["fwmark"].map { "\($0)\(r["fwmask"].map { "/\($0)" } ?? "")" } ?? "-"
            return "\(r["family"]!) \(r["priority"] ?? "?") \(src) \(mark) \(r["table"] ?? "?")"
        })
}

private func expectedIPRules(_ ops: OpList) -> Set<String> {
    Set(
        ops.rules.map { r in
            let src = r.from.map { "\($0.address)/\($0.length)" } ?? "all"
            let mark = r.fwmark.map { "0x\(String($0, radix: 16))" + (r.fwmask.map { "/0x\(String($0, radix: 16))" } ?? "") } ?? "-"
            return "\(r.family == .ipv4 ? "-4" : "-6") \(r.priority) \(src) \(mark) \(r.table)"
        })
}

/// Every wanted route and rule over netlink, exactly: vrfc's protocol,
/// paths and weights, and nothing else of vrfc's.
private func checkNetlink(_ ops: OpList, _ routes: [KernelRoute], _ rules: [KernelRule], up0: Int32) -> [String] {
    var problems: [String] = []
    let ours = routes.filter { $0.protocol == RouteOwnership.protocol }
    for want in ops.routes {
        guard let live = ours.first(where: { $0.table == want.table && $0.destination == want.destination }) else {
            problems.append("route \(want): not in the kernel")
            continue
        }
        let have = Set(
            live.nexthops.map { "\($0.gateway?.description ?? "-") \($0.ifindex ?? 0) \(want.nexthops.count > 1 ? $0.weight : 1)" })
        let wantHops = Set(want.nexthops.map { "\($0.gateway?.description ?? "-") \(up0) \(want.nexthops.count > 1 ? $0.weight : 1)" })
        if have != wantHops { problems.append("route \(want): netlink shows paths \(have.sorted()), want \(wantHops.sorted())") }
    }
    if ours.count != ops.routes.count { problems.append("\(ours.count) routes with vrfc's protocol, want \(ops.routes.count)") }
    let ourRules = rules.filter { $0.protocol == RouteOwnership.protocol }
    for want in ops.rules {
        if !ourRules.contains(where: {
            $0.priority == want.priority && $0.family == want.family && $0.from == want.from
                && $0.fwmark == want.fwmark && ($0.fwmark == nil || $0.fwmask == want.effectiveMask) && $0.looksUp(want.table)
        }) {
            problems.append("rule \(want): not in the kernel")
        }
    }
    if ourRules.count != ops.rules.count { problems.append("\(ourRules.count) rules with vrfc's protocol, want \(ops.rules.count)") }
    return problems
}

@Suite struct RouteOpListTests {
    private func refused(_ ops: OpList) -> String {
        let text = JSONOutput.encode(ops)
        do {
            let read = try OpListReader.decode(Array(text.utf8))
            try read.validate()
            return "(accepted)"
        } catch {
            return error.problems.joined(separator: "\n")
        }
    }

    private func refusedText(_ text: String) -> String {
        do {
            _ = try OpListReader.decode(Array(text.utf8))
            return "(accepted)"
        } catch {
            return error.problems.joined(separator: "\n")
        }
    }

    @Test func routesAndRulesReadLikeJSONDecoderAndValidate() throws {
        let ops = lbOps(fwmark: 0x14)
        let text = JSONOutput.encode(ops)
        let strict = try OpListReader.decode(Array(text.utf8))
        #expect(strict == ops)
        #expect(strict == (try JSONDecoder().decode(OpList.self, from: Data(text.utf8))))
        try strict.validate()
        // An op list without routes prints as before: no route fields at all.
        let plain = JSONOutput.encode(routeOps(routes: [], rules: [], owned: []))
        #expect(!plain.contains("routes") && !plain.contains("rules") && !plain.contains("ownedTables"))
    }

    @Test func everyRouteAndRuleRuleIsEnforced() {
        let ok = lbOps()
        func with(_ change: (inout OpList) -> Void) -> String {
            var o = ok
            change(&o)
            return refused(o)
        }
        #expect(refused(ok) == "(accepted)")
        #expect(with { $0.ownedTables = [254] }.contains("kernel's own tables"))
        #expect(with { $0.ownedTables = [60] }.contains("inside the VRF table range 50-79"))
        #expect(with { $0.ownedTables = [100, 100] }.contains("listed twice"))
        #expect(with { $0.routes[0].protocol = 4 }.contains("protocol 4 is not vrfc's (118)"))
        #expect(with { $0.routes[0].table = 200 }.contains("neither one of ownedTables"))
        #expect(with { $0.routes.append($0.routes[0]) }.contains("the same destination and table as routes[0]"))
        #expect(with { $0.routes[0].nexthops = [] }.contains("needs at least one nexthop"))
        #expect(
            with { $0.routes[0].nexthops[0].gateway = addr("2001:db8:1::2") }.contains(
                "gateway 2001:db8:1::2 is ipv6, the destination ipv4"))
        #expect(
            with { $0.routes[1].nexthops[0] = Nexthop(gateway: addr("fe80::1"), weight: 1) }.contains(
                "link-local gateway fe80::1 needs its device"))
        #expect(with { $0.routes[0].nexthops[0].weight = 0 }.contains("weight 0 is outside 1...256"))
        #expect(with { $0.routes[0].nexthops[0].weight = 257 }.contains("weight 257 is outside 1...256"))
        #expect(with { $0.routes[0].nexthops[1] = $0.routes[0].nexthops[0] }.contains("the same path is listed twice"))
        #expect(
            with { $0.routes[0].nexthops[0] = Nexthop(gateway: nil, device: nil, weight: 1) }.contains("needs a gateway, a device or both"))
        #expect(with { $0.rules[0].priority = 0 }.contains("priority 0 is the kernel's local rule"))
        #expect(with { $0.rules[0].table = 254 }.contains("not one of ownedTables"))
        #expect(with { $0.rules[0].family = .ipv6 }.contains("from 203.0.113.0/25 is ipv4, the rule ipv6"))
        #expect(with { $0.rules[0].fwmask = 0xff }.contains("fwmask without fwmark"))
        #expect(with { $0.rules[0].fwmark = 0 }.contains("fwmark 0 without a fwmask"))
        #expect(
            with {
                $0.rules[0].fwmark = 1
                $0.rules[0].fwmask = 0
            }.contains("fwmask 0 matches every packet"))
        #expect(with { $0.rules.append($0.rules[0]) }.contains("listed twice"))

        // The JSON itself: canonical prefixes and addresses, known fields, ranges.
        let text = JSONOutput.encode(ok)
        #expect(
            refusedText(text.replacingOccurrences(of: "\"203.0.113.0/25\"", with: "\"203.0.113.1/25\"")).contains(
                "rules[0].from: '203.0.113.1/25' is not canonical; the prefix is written '203.0.113.0/25'"))
        #expect(
            refusedText(text.replacingOccurrences(of: "\"2001:db8:1::2\"", with: "\"2001:0db8:1::2\"")).contains(
                "gateway: '2001:0db8:1::2' is not canonical"))
        #expect(
            refusedText(text.replacingOccurrences(of: "\"weight\" : 100", with: "\"weight\" : 100, \"onlink\" : true")).contains(
                "unknown field 'onlink'"))
        #expect(
            refusedText(text.replacingOccurrences(of: "\"table\" : 100", with: "\"table\" : 4294967296")).contains(
                "table: 4294967296 is out of range"))
        #expect(
            refusedText(text.replacingOccurrences(of: "\"protocol\" : 118", with: "\"protocol\" : 300")).contains(
                "protocol: 300 is out of range (0...255)"))
        #expect(
            refusedText(text.replacingOccurrences(of: "\"family\" : \"ipv4\"", with: "\"family\" : \"inet\"")).contains(
                "'inet' is not one of ipv4, ipv6"))
        let line = refusedText(text.replacingOccurrences(of: "\"192.0.2.3\"", with: "\"192.0.2.3\\nline 1: error: forged\""))
        #expect(line.contains("is not an IPv4 or IPv6 address") && !line.contains("\nline 1: error: forged"), "\(line)")
    }
}

@Suite struct RouteApplyTests {
    @Test func tablesMultipathRoutesAndRulesWithAndWithoutFwmarkReadBack() throws {
        try Namespace.with("routes") { ns in
            try ns.addUplink()
            var ops = lbOps()
            ops.rules += [
                rule(21, from: "203.0.113.128/25", fwmark: 0x14), rule(22, from: "2001:db8:98::/64", fwmark: 0x14, fwmask: 0xff),
                rule(23, from: nil, fwmark: 0x20),
            ]
            ops.routes.append(
                RouteSpec(table: 254, destination: prefix("198.51.100.0/24"), nexthops: [Nexthop(gateway: addr("192.0.2.9"))]))
            #expect(try ns.planOps(ops).status == 3)
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            #expect(checkNetlink(ops, try ns.kernelRoutes(), try ns.kernelRules(), up0: up0) == [])
            #expect(ipShows(try ns.ipRoutes()) == expectedIP(ops))
            #expect(ipRuleShows(try ns.ipRules()) == expectedIPRules(ops))

            let plan = try ns.planOps(ops)
            #expect(plan.status == 0 && plan.stdout.contains("in sync: 0 links, 3 routes, 5 rules"), "\(plan)")
            let json = try ns.planOps(ops, "--json")
            let report = try JSONDecoder().decode(PlanReport.self, from: Data(json.stdout.utf8))
            #expect(json.status == 0 && report.inSync && report.changes.isEmpty, "\(json)")

            // Idempotence: a second apply changes nothing (the same routes and rules, in the same order).
            let before = try ns.kernelRoutes().filter(\.isVrfcs)
            let rulesBefore = try ns.kernelRules()
            let again = try ns.applyOps(ops)
            #expect(again.status == 0 && again.stdout.contains("nothing to change"), "\(again)")
            #expect(try ns.kernelRoutes().filter(\.isVrfcs) == before)
            #expect(try ns.kernelRules() == rulesBefore)
        }
    }

    @Test func impostersGoForeignRoutesAndRulesStay() throws {
        try Namespace.with("imposter") { ns in
            try ns.addUplink()
            // Imposters: in vrfc's table, and rules pointing at it.
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.50", "table", "100")
            try ns.ip("route", "add", "default", "via", "192.0.2.50", "table", "100")  // the destination vrfc wants
            try ns.ip("rule", "add", "priority", "30", "from", "198.51.100.0/24", "lookup", "100")
            try ns.ip("-6", "rule", "add", "priority", "31", "iif", "up0", "lookup", "100")
            // Foreign: another table, main, a rule elsewhere.
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.60", "table", "200")
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.61", "proto", "static")
            try ns.ip("-6", "route", "add", "2001:db8:77::/64", "via", "2001:db8:1::61")
            try ns.ip("rule", "add", "priority", "20", "from", "203.0.113.0/25", "lookup", "200")
            let foreignRoutes = try ns.kernelRoutes().filter { $0.table != lbTable && $0.isForeign }
            let foreignRules = try ns.kernelRules().filter { !$0.looksUp(lbTable) }

            let ops = lbOps()
            let plan = try ns.planOps(ops)
            #expect(
                plan.stdout.contains("imposter in vrfc's table 100") && plan.stdout.contains("imposter pointing at vrfc's table 100")
                    && plan.stdout.contains("replaces the imposter"), "\(plan)")
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            let routes = try ns.kernelRoutes()
            let rules = try ns.kernelRules()
            #expect(checkNetlink(ops, routes, rules, up0: up0) == [])
            #expect(routes.filter { $0.table == lbTable }.count == 2, "only vrfc's two default routes are left in table 100")
            #expect(rules.filter { $0.looksUp(lbTable) }.count == ops.rules.count, "only vrfc's rules point at table 100")
            #expect(Set(routes.filter { $0.table != lbTable && $0.isForeign }) == Set(foreignRoutes))
            #expect(Set(rules.filter { !$0.looksUp(lbTable) }) == Set(foreignRules))
            #expect(try ns.planOps(ops).status == 0)
        }
    }

    @Test func aForeignRouteOnAWantedDestinationInMainIsRefused() throws {
        try Namespace.with("squat") { ns in
            try ns.addUplink()
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.61", "proto", "static")
            let ops = routeOps(
                routes: [RouteSpec(table: 254, destination: prefix("198.51.100.0/24"), nexthops: [Nexthop(gateway: addr("192.0.2.9"))])],
                rules: [], owned: [])
            let r = try ns.applyOps(ops)
            #expect(r.status == 1 && r.stdout.contains("a foreign route holds this destination in table 254"), "\(r)")
            let live = try ns.kernelRoutes().filter { $0.destination == prefix("198.51.100.0/24") }
            #expect(live.count == 1 && live[0].protocol == 4 && live[0].nexthops.first?.gateway == addr("192.0.2.61"), "\(live)")
        }
    }

    @Test func peersAndPoolsChange() throws {
        try Namespace.with("change") { ns in
            try ns.addUplink()
            try #require(try ns.applyOps(lbOps()).status == 0)
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            // One peer leaves the ECMP group and another joins; a pool goes and another comes, with a fwmark.
            let changed = lbOps(
                peers4: [("192.0.2.3", 100), ("192.0.2.4", 50)], peers6: [("2001:db8:1::3", 2)],
                pools: ["203.0.113.128/25", "2001:db8:99::/64"], fwmark: 0x14)
            let r = try ns.applyOps(changed)
            #expect(r.status == 0 && r.stdout.contains("route replace"), "\(r)")
            #expect(checkNetlink(changed, try ns.kernelRoutes(), try ns.kernelRules(), up0: up0) == [])
            #expect(ipShows(try ns.ipRoutes()) == expectedIP(changed))
            #expect(ipRuleShows(try ns.ipRules()) == expectedIPRules(changed))
            #expect(try ns.planOps(changed).status == 0)
        }
    }

    @Test func killedMidApplyThenRerunConverges() throws {
        var big = lbOps()
        big.routes += (0..<20).map { i in
            RouteSpec(table: 254, destination: prefix("198.51.100.\(i * 4)/30"), nexthops: [Nexthop(gateway: addr("192.0.2.\(10 + i)"))])
        }
        big.rules += (0..<5).map { rule(40 + UInt32($0), from: "203.0.113.\(128 + $0 * 8)/29") }
        let smaller = lbOps(peers4: [("192.0.2.2", 100)], pools: ["203.0.113.0/26"])
        try Namespace.with("kill") { ns in
            try ns.addUplink()
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            // Each transition is 29 changes in four groups that each go in
            // one datagram (routes added or replaced, rules deleted, rules
            // added, routes deleted): 1+7+1+20 one way, 21+1+7+0 the other.
            // A kill lands between datagrams (the kernel runs a whole one
            // within the send): after the 3rd or 2nd change means after the
            // rule deletions; the 17th, after the route additions; the
            // 22nd, after the rule deletion.
            for (cut, from, to) in [(3, big, smaller), (17, smaller, big), (2, big, smaller), (22, smaller, big)] {
                try #require(try ns.applyOps(from).status == 0)
                let file = try ns.file("cut-\(cut).json", JSONOutput.encode(to))
                let killed = try ns.crashingApply(file, after: cut)
                #expect(killed.status == 137, "the apply should end after \(cut) changes: \(killed)")
                #expect(try ns.planOps(to).status == 3, "a cut apply leaves changes pending")
                let rerun = try ns.applyOps(to)
                #expect(rerun.status == 0, "\(rerun)")
                #expect(checkNetlink(to, try ns.kernelRoutes(), try ns.kernelRules(), up0: up0) == [], "after a cut at \(cut)")
                #expect(try ns.planOps(to).status == 0)
            }
        }
    }

    /// The kernel-filtered dumps (strict checking) give what a filter over
    /// the whole dump gives: one family, one table and/or vrfc's protocol,
    /// and nothing (no error) for a table that does not exist.
    @Test func kernelFilteredRouteDumpsMatchTheWholeDump() throws {
        try Namespace.with("filter") { ns in
            try ns.addUplink()
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.60", "table", "100", "proto", "static")
            try ns.ip("route", "add", "198.51.100.0/25", "via", "192.0.2.61", "table", "100", "proto", "118")
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.62", "table", "200", "proto", "static")
            try ns.ip("route", "add", "198.51.100.128/25", "via", "192.0.2.63", "table", "200", "proto", "118")
            try ns.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.64", "proto", "118")
            try ns.ip("-6", "route", "add", "2001:db8:77::/64", "via", "2001:db8:1::60", "table", "100", "proto", "static")
            try ns.ip("-6", "route", "add", "2001:db8:78::/64", "via", "2001:db8:1::61", "proto", "118")
            let socket = try NetlinkSocket.open(namespace: ns.name)
            let all = try socket.routes()
            #expect(all.contains { $0.table == 200 } && all.contains { $0.protocol == 2 }, "the whole dump has the others too")
            for family in AddressFamily.allCases {
                for (table, proto) in [(UInt32?(100), UInt8?.none), (200, nil), (254, nil), (nil, 118), (100, 118)] {
                    let filtered = try socket.routes(family: family, table: table, protocol: proto)
                    let expected = all.filter { r in
                        r.family == family && (table.map { r.table == $0 } ?? true) && (proto.map { r.protocol == $0 } ?? true)
                    }
                    #expect(
                        Set(filtered) == Set(expected),
                        "\(family) table \(table.map(String.init) ?? "any") proto \(proto.map(String.init) ?? "any")")
                    #expect(filtered.count == expected.count)
                }
                #expect(try socket.routes(family: family, table: 4242).isEmpty, "a table that does not exist has no routes")
            }
            #expect(try socket.routes(family: .ipv4, protocol: 118).count == 3)
            #expect(try socket.routes(family: .ipv6, table: 100).count == 1)
        }
    }

    /// What the plan reads: every route with vrfc's protocol, everything in
    /// its owned tables (imposters), a table it does not own only where a
    /// wanted route is missing there; never a foreign route elsewhere.
    @Test func thePlanReadsVrfcsRoutesImpostersAndOnlyTheHoldersItNeeds() throws {
        try Namespace.with("scope") { ns in
            try ns.addUplink()
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.50", "table", "100", "proto", "static")  // imposter
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.60", "table", "200", "proto", "static")  // foreign
            try ns.ip("route", "add", "198.51.100.64/26", "via", "192.0.2.61", "proto", "static")  // foreign, in main
            try ns.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.62", "table", "300", "proto", "118")  // vrfc's, stale
            let main = RouteSpec(
                table: 254, destination: prefix("198.51.100.128/26"), nexthops: [Nexthop(gateway: addr("192.0.2.9"))])
            var ops = lbOps()
            ops.routes.append(main)
            let socket = try NetlinkSocket.open(namespace: ns.name)

            // The main route is missing: main is read, for a foreign route that may hold its destination.
            let before = try KernelSnapshot.routes(socket, for: ops)
            #expect(before.contains { $0.table == 100 && $0.protocol == 4 }, "the imposter in the owned table is seen")
            #expect(before.contains { $0.table == 300 && $0.protocol == 118 }, "vrfc's route in another table is seen")
            #expect(!before.contains { $0.table == 200 }, "a foreign table is not read")
            #expect(before.contains { $0.table == 254 && $0.destination == prefix("198.51.100.64/26") })

            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            let after = try KernelSnapshot.routes(socket, for: ops)
            #expect(!after.contains { $0.table == 254 && $0.protocol != 118 }, "main is not read once vrfc's routes are in it")
            #expect(!after.contains { $0.table == 200 || $0.table == 300 })
            #expect(after.filter { $0.table == 100 }.count == 2, "only vrfc's two default routes are left in table 100")
            let live = try socket.routes()
            #expect(live.contains { $0.table == 200 && $0.protocol == 4 }, "the foreign route in table 200 is untouched")
            #expect(live.contains { $0.table == 254 && $0.destination == prefix("198.51.100.64/26") && $0.protocol == 4 })
            #expect(!live.contains { $0.table == 300 }, "vrfc's stale route is gone")
            #expect(try ns.planOps(ops).status == 0)

            // A foreign route takes a wanted destination in main: seen, and refused.
            try ns.ip("route", "del", "198.51.100.128/26", "table", "254")
            try ns.ip("route", "add", "198.51.100.128/26", "via", "192.0.2.70", "proto", "static")
            let squat = try ns.planOps(ops)
            #expect(squat.status == 1 && squat.stdout.contains("a foreign route holds this destination in table 254"), "\(squat)")
        }
    }

    @Test func cleanRemovesExactlyVrfcsRoutesAndRules() throws {
        try Namespace.with("clean") { ns in
            try ns.addUplink()
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.60", "table", "200")
            try ns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.61", "proto", "static")
            try ns.ip("rule", "add", "priority", "20", "from", "203.0.113.0/25", "lookup", "200")
            let foreignRoutes = try ns.kernelRoutes().filter(\.isForeign)
            let foreignRules = try ns.kernelRules()
            var ops = lbOps()
            ops.routes.append(
                RouteSpec(table: 254, destination: prefix("198.51.100.0/25"), nexthops: [Nexthop(gateway: addr("192.0.2.9"))]))
            try #require(try ns.applyOps(ops).status == 0)
            let file = try ns.file("clean-ops.json", JSONOutput.encode(ops))
            let clean = try Shell.run(
                [
                    try applierPath(), "agent", "--clean", "--ops", file, "--netns", ns.name,
                    "--bpf-pin-dir", ns.pinDirectory,
                ], timeout: 120)
            #expect(clean.status == 0, "\(clean)")
            #expect(Set(try ns.kernelRoutes().filter { $0.isForeign || $0.isVrfcs }) == Set(foreignRoutes))
            #expect(Set(try ns.kernelRules()) == Set(foreignRules))
        }
    }
}

/// Traffic through the routes vrfc laid: the LoadBalancer return path over
/// both peers, and pod-to-pod between two nodes, IPv4 and IPv6.
@Suite struct RouteTrafficTests {
    /// Packets the namespace received at the IP layer (/proc/net/snmp Ip: InReceives).
    private func ipInReceives(_ ns: Namespace) throws -> Int {
        let snmp = try ns.exec(["cat", "/proc/net/snmp"]).stdout.split(separator: "\n").filter { $0.hasPrefix("Ip:") }
        guard snmp.count == 2 else { throw SetupError("/proc/net/snmp: no Ip lines") }
        let names = snmp[0].split(separator: " ")
        let values = snmp[1].split(separator: " ")
        guard let i = names.firstIndex(of: "InReceives"), let v = Int(values[i]) else { throw SetupError("no InReceives") }
        return v
    }

    @Test func aReplyFromALoadBalancerAddressLeavesThroughBothPeers() throws {
        try Namespace.with("lbnode") { node in
            try Namespace.with("peer1") { p1 in
                try Namespace.with("peer2") { p2 in
                    try Namespace.with("client") { client in
                        // The node's uplinks to two peers, and a client link of its own.
                        for (i, p) in [(1, p1), (2, p2)] {
                            try node.ip("link", "add", "pe\(i)", "type", "veth", "peer", "name", "eth0", "netns", p.name)
                            try node.ip("address", "add", "192.0.2.\(i * 4 + 1)/30", "dev", "pe\(i)")
                            try node.ip("link", "set", "pe\(i)", "up")
                            try p.ip("address", "add", "192.0.2.\(i * 4 + 2)/30", "dev", "eth0")
                            try p.ip("link", "set", "eth0", "up")
                        }
                        try node.ip("link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", client.name)
                        try node.ip("address", "add", "198.51.100.1/24", "dev", "cl0")
                        try node.ip("link", "set", "cl0", "up")
                        try node.ip("address", "add", "203.0.113.10/32", "dev", "lo")
                        try client.ip("link", "set", "eth0", "up")
                        for h in 10..<74 { try client.ip("address", "add", "198.51.100.\(h)/24", "dev", "eth0") }
                        try client.ip("route", "add", "203.0.113.10/32", "via", "198.51.100.1")
                        try node.exec(["sysctl", "-qw", "net.ipv4.fib_multipath_use_neigh=1"])

                        let ops = routeOps(
                            routes: [ecmp("0.0.0.0/0", [("192.0.2.6", 1), ("192.0.2.10", 1)])],
                            rules: [rule(20, from: "203.0.113.10/32")])
                        let r = try node.applyOps(ops)
                        #expect(r.status == 0 && !r.stdout.contains("fib_multipath_use_neigh is 0"), "\(r)")
                        let before = (try ipInReceives(p1), try ipInReceives(p2))
                        // 64 flows (client addresses): each echo reply leaves the node by the table's ECMP route.
                        // Side by side (xargs -P; the replies never come back to the client, so each ping waits out its 1 s deadline).
                        func pings() throws {
                            _ = try client.exec([
                                "sh", "-c", "seq 10 73 | xargs -P 64 -I{} ping -q -c1 -w1 -I 198.51.100.{} 203.0.113.10 >/dev/null 2>&1",
                            ])
                        }
                        try pings()
                        let got = (try ipInReceives(p1) - before.0, try ipInReceives(p2) - before.1)
                        #expect(got.0 + got.1 >= 64, "every reply left through a peer: \(got)")
                        #expect(got.0 >= 10 && got.1 >= 10, "both peers carry replies across the flows: \(got)")

                        // Without the rule, replies go back the client link: the rule is what sends them to the peers.
                        let noRule = routeOps(routes: ops.routes, rules: [])
                        #expect(try node.applyOps(noRule).status == 0)
                        let before2 = (try ipInReceives(p1), try ipInReceives(p2))
                        try pings()
                        #expect(
                            try ipInReceives(p1) - before2.0 + ipInReceives(p2) - before2.1 < 8,
                            "without the rule no reply goes to the peers")
                    }
                }
            }
        }
    }

    @Test func podToPodTrafficFollowsThePodRoutes() throws {
        try Namespace.with("nodeA") { a in
            try Namespace.with("nodeB") { b in
                try Namespace.with("podA") { pa in
                    try Namespace.with("podB") { pb in
                        try a.ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", b.name)
                        for (n, (node, pod)) in [(1, (a, pa)), (2, (b, pb))] {
                            try node.ip("address", "add", "192.0.2.\(n)/24", "dev", "eth1")
                            try node.ip("address", "add", "2001:db8:1::\(n)/64", "dev", "eth1", "nodad")
                            try node.ip("link", "set", "eth1", "up")
                            try podBehind(node: node, pod: pod, number: n)
                        }
                        // A few tries: the first packets wait for neighbour discovery on every hop.
                        func ping(_ target: String, tries: String = "3") throws -> Bool {
                            try pa.exec(["ping", "-c", tries, "-i", "0.3", "-W2", target]).status == 0
                        }
                        #expect(
                            try !ping("203.0.113.2", tries: "1") && !ping("2001:db8:b::2", tries: "1"),
                            "no pod routes yet: no pod-to-pod traffic")

                        func podRoutes(to v4: String, _ v6: String, via n: Int) -> OpList {
                            routeOps(
                                routes: [
                                    RouteSpec(
                                        table: 254, destination: prefix(v4),
                                        nexthops: [Nexthop(gateway: addr("192.0.2.\(n)"), device: ifname("eth1"))]),
                                    RouteSpec(
                                        table: 254, destination: prefix(v6),
                                        nexthops: [Nexthop(gateway: addr("2001:db8:1::\(n)"), device: ifname("eth1"))]),
                                ], rules: [], owned: [])
                        }
                        #expect(try a.applyOps(podRoutes(to: "203.0.113.0/24", "2001:db8:b::/64", via: 2)).status == 0)
                        #expect(try b.applyOps(podRoutes(to: "198.51.100.0/24", "2001:db8:a::/64", via: 1)).status == 0)
                        // Up to 10 tries: under load IPv6 neighbour discovery on the three
                        // new links (link-local addresses still in DAD) can take seconds.
                        #expect(try ping("203.0.113.2", tries: "10"), "IPv4 pod to pod")
                        #expect(try ping("2001:db8:b::2", tries: "10"), "IPv6 pod to pod")
                        // The path is the pod route: via nodeB's address on eth1.
                        let got = try a.exec(["ip", "-j", "route", "get", "203.0.113.2"]).stdout
                        #expect(got.contains("\"gateway\":\"192.0.2.2\"") && got.contains("\"dev\":\"eth1\""), "\(got)")
                    }
                }
            }
        }
    }
}
