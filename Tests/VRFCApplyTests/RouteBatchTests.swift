import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

// Route and rule changes sent many to a datagram (NetlinkSocket.change):
// batches larger than one datagram, refusals in the middle and at the end
// of a datagram (the request that carries the acknowledgement), each
// answered under its own request, on this kernel in namespaces of the test.

private func net(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }
private func ip(_ s: String) -> IPAddress { IPAddress(parsing: s[...])! }

/// `count` (up to 1,024) distinct /32 and /64 destinations, IPv4 and IPv6
/// alternating, each via one of 200 neighbours on up0 (`up0` its ifindex).
private func podRoutes(_ count: Int, up0: Int32) -> [RouteRequest] {
    (0..<count).map { i in
        let (dst, gw) =
            i % 2 == 0
            ? ("\(i / 2 < 256 ? "198.51.100" : "203.0.113").\(i / 2 % 256)/32", "192.0.2.\(2 + i % 200)")
            : ("2001:db8:\(String(0x1000 + i / 2, radix: 16))::/64", "2001:db8:1::\(String(2 + i % 200, radix: 16))")
        return RouteRequest(
            table: 254, destination: net(dst), protocol: RouteOwnership.protocol,
            hops: [RouteRequest.Hop(gateway: ip(gw), ifindex: up0, weight: 1)])
    }
}

/// The same destination via a gateway on no connected network of the
/// namespace: the kernel refuses it.
private func unreachable(_ r: RouteRequest) -> RouteRequest {
    var r = r
    let gateway = r.destination.family == .ipv4 ? ip("203.0.113.254") : ip("2001:db8:2::1")
    r.hops = [RouteRequest.Hop(gateway: gateway, ifindex: r.hops[0].ifindex, weight: 1)]
    return r
}

private func adds(_ routes: [RouteRequest]) -> [RoutingChange] {
    routes.map { RoutingChange(.addRoute($0, replace: false), "adding route \($0.destination)") }
}

private func vrfcRoutes(_ socket: NetlinkSocket) throws -> Set<IPPrefix> {
    var out = Set<IPPrefix>()
    for family in AddressFamily.allCases {
        for r in try socket.routes(family: family, protocol: RouteOwnership.protocol) { out.insert(r.destination) }
    }
    return out
}

@Suite struct RouteBatchTests {
    /// 1,000 route additions (about 70 KB of requests: three datagrams) with
    /// refusals first, in the middle and last: each refusal is answered under
    /// its own request with the kernel's reason, every other route is made,
    /// and the same batch split into datagrams of 7 gives the same answers.
    @Test func aBatchLargerThanADatagramWithRefusalsAnswersEveryRequest() throws {
        try Namespace.with("batch") { ns in
            try ns.addUplink()
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            let socket = try NetlinkSocket.open(namespace: ns.name)
            var routes = podRoutes(1000, up0: up0)
            // The first, two in the middle (699 ends a datagram of 7 below) and the last, whose answer is the acknowledgement.
            let bad = [0, 451, 699, 999]
            for i in bad { routes[i] = unreachable(routes[i]) }
            let changes = adds(routes)

            let before = socket.requestDatagrams
            let results = try socket.change(changes)
            let datagrams = socket.requestDatagrams - before
            #expect(datagrams >= 2 && datagrams <= 4, "1,000 routes in \(datagrams) datagrams")
            #expect(results.count == 1000)
            #expect(results.indices.filter { results[$0] != nil } == bad)
            for i in bad {
                let e = try #require(results[i])
                #expect(e.operation == "adding route \(routes[i].destination)", "\(e)")
                if routes[i].destination.family == .ipv4 {
                    #expect(e.code == ENETUNREACH && e.kernelMessage == "Nexthop has invalid gateway", "\(e)")
                } else {
                    #expect(e.code == EHOSTUNREACH, "\(e)")
                }
            }
            let made = try vrfcRoutes(socket)
            #expect(made == Set(routes.indices.filter { !bad.contains($0) }.map { routes[$0].destination }))

            // Deleting all: the four never made count as gone, not as refused.
            let deletions = routes.map { RoutingChange(.deleteRoute($0), "deleting route \($0.destination)") }
            #expect(try socket.change(deletions).allSatisfy { $0 == nil })
            #expect(try vrfcRoutes(socket).isEmpty)

            // Datagrams of 7: the same answers, in 143 datagrams.
            socket.batchLimits = NetlinkSocket.BatchLimits(requests: 7, bytes: 1 << 20)
            #expect(socket.batchLimits.bytes == socket.maxBatchLimits.bytes, "limits are lowered, never raised")
            let small = socket.requestDatagrams
            let again = try socket.change(changes)
            #expect(socket.requestDatagrams - small == 143)
            #expect(again.map { $0?.code } == results.map { $0?.code })
            #expect(again.map { $0?.kernelMessage } == results.map { $0?.kernelMessage })
            #expect(try vrfcRoutes(socket) == made)
        }
    }

    /// Every request of a datagram may be refused, and each refusal is a
    /// message of its own in the receive buffer: with the smallest buffer the
    /// kernel allows, datagrams shrink so that none is lost (a lost answer
    /// would be ENOBUFS) and all 300 refusals are told.
    @Test func datagramsShrinkWithTheReceiveBufferSoNoRefusalIsLost() throws {
        try Namespace.with("rcvbuf") { ns in
            try ns.addUplink()
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            let socket = try NetlinkSocket.open(namespace: ns.name, receiveBuffer: 1)
            #expect(socket.maxBatchLimits.requests >= 1 && socket.maxBatchLimits.requests <= 4, "\(socket.maxBatchLimits)")
            let routes = podRoutes(300, up0: up0).map(unreachable)
            let results = try socket.change(adds(routes))
            #expect(results.allSatisfy { $0 != nil && $0?.code != ENOBUFS }, "\(results.compactMap { $0 }.prefix(3))")
            #expect(try vrfcRoutes(socket).isEmpty)

            // The default buffer takes the 300 refusals in one datagram.
            let roomy = try NetlinkSocket.open(namespace: ns.name)
            #expect(roomy.maxBatchLimits.requests >= 300, "\(roomy.maxBatchLimits)")
            let before = roomy.requestDatagrams
            #expect(try roomy.change(adds(routes)).allSatisfy { $0 != nil && $0?.code != ENOBUFS })
            #expect(roomy.requestDatagrams - before == 1)
        }
    }

    /// Rules in one datagram: a duplicate refused (EEXIST) between two that
    /// are made, and the deletion of a rule that is not there counts as done.
    @Test func aDuplicateRuleInTheMiddleIsRefusedAlone() throws {
        try Namespace.with("rules") { ns in
            let socket = try NetlinkSocket.open(namespace: ns.name)
            let a = RuleRequest(family: .ipv4, priority: 20, table: 100, from: net("203.0.113.0/25"), protocol: RouteOwnership.protocol)
            let b = RuleRequest(
                family: .ipv6, priority: 20, table: 100, from: net("2001:db8:99::/64"), fwmark: 0x14, fwmask: 0xffff_ffff,
                protocol: RouteOwnership.protocol)
            let absent = RuleRequest(
                family: .ipv4, priority: 21, table: 100, from: net("198.51.100.0/24"), protocol: RouteOwnership.protocol)
            let results = try socket.change([
                RoutingChange(.addRule(a), "adding rule a"), RoutingChange(.addRule(a), "adding rule a again"),
                RoutingChange(.addRule(b), "adding rule b"), RoutingChange(.deleteRule(absent), "deleting rule absent"),
            ])
            #expect(results[0] == nil && results[2] == nil && results[3] == nil, "\(results)")
            let dup = try #require(results[1])
            #expect(dup.code == EEXIST && dup.operation == "adding rule a again", "\(dup)")
            let ours = try socket.rulesAndTables().0.filter { $0.protocol == RouteOwnership.protocol }
            #expect(ours.count == 2 && ours.contains { $0.from == a.from } && ours.contains { $0.from == b.from && $0.fwmark == 0x14 })
        }
    }

    /// Through vrfc-apply: 600 pod routes, two of them via gateways on no
    /// connected network. The apply fails (status 1) naming both with the
    /// kernel's reason, makes the other 598, and tries no rule (the next
    /// group); a rerun is refused the same two only; once the gateways are
    /// reachable the rerun converges and a fresh plan is in sync.
    @Test func refusedRoutesInTheMiddleAreNamedAndTheRestApplied() throws {
        try Namespace.with("refuse") { ns in
            try ns.addUplink()
            var routes = (0..<600).map { i in
                i % 2 == 0
                    ? RouteSpec(
                        table: 254, destination: net("\(i / 2 < 256 ? "198.51.100" : "203.0.113").\(i / 2 % 256)/32"),
                        nexthops: [Nexthop(gateway: ip("192.0.2.\(2 + i % 200)"), device: try! InterfaceName(validating: "up0"))])
                    : RouteSpec(
                        table: 254, destination: net("2001:db8:\(String(0x1000 + i / 2, radix: 16))::/64"),
                        nexthops: [
                            Nexthop(
                                gateway: ip("2001:db8:1::\(String(2 + i % 200, radix: 16))"), device: try! InterfaceName(validating: "up0"))
                        ])
            }
            routes[300].nexthops = [Nexthop(gateway: ip("203.0.113.254"), device: try! InterfaceName(validating: "up0"))]
            routes[301].nexthops = [Nexthop(gateway: ip("2001:db8:2::1"), device: try! InterfaceName(validating: "up0"))]
            let rules = [
                RuleSpec(priority: 20, family: .ipv4, from: net("203.0.113.128/25"), table: 100),
                RuleSpec(priority: 20, family: .ipv6, from: net("2001:db8:99::/64"), fwmark: 0x14, table: 100),
            ]
            let ops = OpList(
                underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [],
                ownedTables: [100], routes: routes, rules: rules)

            let r = try ns.applyOps(ops)
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("the kernel refused 2 of 600 route additions and replacements"), "\(r.stderr)")
            #expect(r.stderr.contains("the 2 steps after them were not tried"), "\(r.stderr)")
            #expect(
                r.stderr.contains("adding route \(routes[300]): Network is unreachable (kernel: Nexthop has invalid gateway)"),
                "\(r.stderr)")
            #expect(r.stderr.contains("adding route \(routes[301]): No route to host"), "\(r.stderr)")
            let socket = try NetlinkSocket.open(namespace: ns.name)
            #expect(try vrfcRoutes(socket) == Set(routes.indices.filter { $0 != 300 && $0 != 301 }.map { routes[$0].destination }))
            #expect(
                try socket.rulesAndTables().0.filter { $0.protocol == RouteOwnership.protocol }.isEmpty,
                "rules come after routes: not tried")

            let rerun = try ns.applyOps(ops)
            #expect(rerun.status == 1 && rerun.stderr.contains("the kernel refused 2 of 2 route additions"), "\(rerun)")

            try ns.ip("address", "add", "203.0.113.253/24", "dev", "up0")
            try ns.ip("address", "add", "2001:db8:2::2/64", "dev", "up0", "nodad")
            let fixed = try ns.applyOps(ops)
            #expect(fixed.status == 0, "\(fixed)")
            #expect(try vrfcRoutes(socket) == Set(routes.map(\.destination)))
            #expect(try ns.planOps(ops).status == 0)
            let again = try ns.applyOps(ops)
            #expect(again.status == 0 && again.stdout.contains("nothing to change"), "\(again)")
        }
    }
    /// The op list allows 256 nexthops to a route (OpList.maxNexthops):
    /// such a request is larger than libnl's default message (a page), so
    /// the widest IPv6 and IPv4 routes must still be built, made, and read
    /// back with every nexthop and weight, and deleted.
    @Test func theWidestMultipathRoutesAreMade() throws {
        try Namespace.with("wide") { ns in
            try ns.addUplink()
            try ns.ip("address", "add", "198.51.100.1/24", "dev", "up0")
            let up0 = try #require(try ns.links().first { $0.name == "up0" }).index
            let socket = try NetlinkSocket.open(namespace: ns.name)
            let v6 = (0..<OpList.maxNexthops).map { "2001:db8:1::\(String(2 + $0, radix: 16))" }
            let v4 = (0..<OpList.maxNexthops).map { $0 < 200 ? "192.0.2.\(2 + $0)" : "198.51.100.\($0 - 198)" }
            let routes = [("2001:db8:ffff::/64", v6), ("203.0.113.0/24", v4)].map { dst, gateways in
                RouteRequest(
                    table: 254, destination: net(dst), protocol: RouteOwnership.protocol,
                    hops: gateways.enumerated().map { RouteRequest.Hop(gateway: ip($1), ifindex: up0, weight: 1 + $0 % 256) })
            }
            let results = try socket.change(adds(routes))
            #expect(results.allSatisfy { $0 == nil }, "\(results)")
            for r in routes {
                let live = try #require(
                    try socket.routes(family: r.destination.family, protocol: RouteOwnership.protocol)
                        .first { $0.destination == r.destination })
                #expect(live.nexthops.count == OpList.maxNexthops, "\(r.destination): \(live.nexthops.count) nexthops")
                #expect(
                    Set(live.nexthops.map { "\($0.gateway.map { "\($0)" } ?? "-") \($0.weight)" })
                        == Set(r.hops.map { "\($0.gateway!) \($0.weight)" }))
            }
            let deletions = routes.map { RoutingChange(.deleteRoute($0), "deleting route \($0.destination)") }
            #expect(try socket.change(deletions).allSatisfy { $0 == nil })
            #expect(try vrfcRoutes(socket).isEmpty, "both wide routes deleted")
        }
    }
}
