import VRFCKernel
import VRFCModel
import VRFCNetlink

// Routes and policy rules: op list vs live kernel → steps. What is vrfc's:
// every route and rule carrying vrfc's protocol (118), every route in a
// table the op list owns, and every `lookup` rule into such a table. A
// route or rule there that the op list does not want is an imposter and
// goes; anything else (another protocol outside the owned tables) is never
// touched, and a foreign route holding a destination vrfc wants in `main`
// is a problem, not something to overwrite.

/// A route change, resolved for this node (device ifindexes).
public struct RouteStep: Sendable, Hashable {
    public enum Kind: String, Sendable { case add, replace, delete }
    public var kind: Kind
    public var request: RouteRequest
    /// `ip route` words, for reports.
    public var text: String
    public var reason: String?
}

/// A policy-rule change.
public struct RuleStep: Sendable, Hashable {
    public enum Kind: String, Sendable { case add, delete }
    public var kind: Kind
    public var request: RuleRequest
    public var text: String
    public var reason: String?
}

extension Step {
    /// Changes only routes or rules (the read-back then reads only those).
    var isRouteOrRule: Bool {
        switch self {
        case .route, .rule: true
        default: false
        }
    }
}

extension KernelRoute {
    /// `ip route` words, for reports.
    func text(_ names: [Int32: String]) -> String {
        var s = (destination.length == 0 ? "default" : destination.text) + " table \(table) proto \(`protocol`)"
        for n in nexthops {
            if nexthops.count > 1 { s += " nexthop" }
            if let g = n.gateway { s += " via \(g)" }
            if let i = n.ifindex { s += " dev \(names[i] ?? "#\(i)")" }
            if nexthops.count > 1 { s += " weight \(n.weight)" }
        }
        if metric != KernelRoute.defaultMetric(family) { s += " metric \(metric)" }
        return s
    }

    /// The request that deletes exactly this route.
    var deletion: RouteRequest {
        RouteRequest(
            table: table, destination: destination, protocol: `protocol`, hops: [], metric: metric,
            scope: scope, type: type, tos: tos)
    }
}

extension KernelRule {
    func text() -> String {
        var s = "\(priority): \(family == .ipv4 ? "-4" : "-6")"
        if let from { s += " from \(from)" }
        if let to { s += " to \(to)" }
        if let fwmark { s += " fwmark 0x\(String(fwmark, radix: 16))" + (fwmask.map { "/0x\(String($0, radix: 16))" } ?? "") }
        if let iifname { s += " iif \(iifname)" }
        if let oifname { s += " oif \(oifname)" }
        s += action == 1 ? " lookup \(table)" : " action \(action)"
        return s + " proto \(`protocol`)"
    }
}

extension KernelRoute {
    /// Whether a route of vrfc's with the same table and destination takes
    /// this one's place in the kernel: vrfc adds no tos and no metric, so
    /// the route it replaces has tos 0 and the family's default metric.
    var isReplaceable: Bool { tos == 0 && metric == KernelRoute.defaultMetric(family) }
}

extension RouteIndex {
    /// The live routes vrfc's routes may take the place of, by table and destination.
    init(replaceable routes: [KernelRoute]) {
        self.init(capacity: routes.count)
        for (i, r) in routes.enumerated() where r.isReplaceable { insert(table: r.table, destination: r.destination, position: i) }
    }
}

extension KernelSnapshot {
    /// The routes a plan of `ops` must see, read with kernel-filtered dumps
    /// instead of every route of every table: every route with vrfc's
    /// protocol (wherever it is), every route in an owned table (imposters
    /// included), and, where a wanted route in a table vrfc does not own
    /// (`main`) is not there as vrfc's, that table of that family, so a
    /// foreign route holding its destination is seen. The plan never
    /// touches or reads anything else: another protocol's routes outside
    /// the owned tables are not vrfc's and not in its way.
    public static func routes(_ socket: NetlinkSocket, for ops: OpList) throws(NetlinkError) -> [KernelRoute] {
        let mark = RouteOwnership.protocol
        let owned = Set(ops.ownedTables)
        var routes: [KernelRoute] = []
        for family in AddressFamily.allCases {
            routes += try socket.routes(family: family, protocol: mark)
            // vrfc's own are in the dump above already.
            for t in ops.ownedTables { routes += try socket.routes(family: family, table: t).filter { $0.protocol != mark } }
        }
        let present = RouteIndex(replaceable: routes)
        var holders: [(AddressFamily, UInt32)] = []
        for want in ops.routes where !owned.contains(want.table) && !present.contains(table: want.table, destination: want.destination) {
            if !holders.contains(where: { $0 == (want.family, want.table) }) { holders.append((want.family, want.table)) }
        }
        for (family, table) in holders {
            routes += try socket.routes(family: family, table: table).filter { $0.protocol != mark }
        }
        return routes
    }
}

extension PlanBuilder {
    /// The route and rule steps, in execution order: routes added or
    /// replaced (so a rule never points at a table still missing its route),
    /// stale and imposter rules deleted, wanted rules added, stale and
    /// imposter routes deleted. Appended to `steps` in place: a step is a
    /// large value, and a thousand routes are not copied from list to list.
    mutating func routeSteps(into steps: inout [Step]) {
        // Arrays, not Sets, where a few tables or an index will do: each Set
        // or Dictionary type's first use costs a scan of the binary's
        // conformance records, and a flag per route costs no hashing.
        let owned = ops.ownedTables
        // Link names only for the text of a replaced or deleted route.
        lazy var names = Dictionary(snap.links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        var matchedRoutes = [Bool](repeating: false, count: snap.routes.count)
        // Additions go straight into `steps` (taken back out on a problem):
        // copying a thousand steps from list to list cost more than making them.
        let start = steps.count
        steps.reserveCapacity(start + ops.routes.count + ops.rules.count)
        var routeProblems = false

        // The live routes each wanted route may take the place of (the prefix carries the family).
        let byKey = RouteIndex(replaceable: snap.routes)
        // The device of the route before: routes to many nodes share one
        // interface, and its name is not hashed again for each.
        var lastDevice: (name: String, index: Int32)?

        for want in ops.routes {
            var hops: [RouteRequest.Hop] = []
            hops.reserveCapacity(want.nexthops.count)
            for n in want.nexthops {
                var idx: Int32?
                if let d = n.device {
                    if let last = lastDevice, last.name == d.value {
                        idx = last.index
                    } else {
                        guard let l = byName[d.value] else {
                            plan.problems.append("route \(want): device \(d) does not exist")
                            routeProblems = true
                            continue
                        }
                        idx = l.index
                        lastDevice = (d.value, l.index)
                    }
                }
                hops.append(RouteRequest.Hop(gateway: n.gateway, ifindex: idx, weight: want.nexthops.count > 1 ? n.weight : 1))
            }
            let request = RouteRequest(table: want.table, destination: want.destination, protocol: want.protocol, hops: hops)
            // The one live route this route takes the place of: same table,
            // destination, tos 0 and the default metric (the kernel's key).
            if let same = byKey.first(table: want.table, destination: want.destination, where: { routeMatches(snap.routes[$0], request) }) {
                matchedRoutes[same] = true
                continue
            }
            if let live = byKey.first(table: want.table, destination: want.destination) {
                let r = snap.routes[live]
                if r.protocol == RouteOwnership.protocol || owned.contains(r.table) {
                    matchedRoutes[live] = true
                    steps.append(
                        .route(
                            RouteStep(
                                kind: .replace, request: request, text: want.description,
                                reason: r.protocol == RouteOwnership.protocol
                                    ? "was \(r.text(names))" : "replaces the imposter \(r.text(names))")))
                } else {
                    plan.problems.append(
                        "route \(want): a foreign route holds this destination in table \(r.table) (\(r.text(names))); vrfc does not touch routes it does not own: remove it or leave this destination out"
                    )
                    routeProblems = true
                }
                continue
            }
            steps.append(.route(RouteStep(kind: .add, request: request, text: want.description)))
        }

        var routeDeletions: [Step] = []
        for (i, r) in snap.routes.enumerated() where !matchedRoutes[i] {
            if r.protocol == RouteOwnership.protocol {
                routeDeletions.append(
                    .route(
                        RouteStep(
                            kind: .delete, request: r.deletion, text: r.text(names),
                            reason: "vrfc's, no longer in the op list")))
            } else if owned.contains(r.table) {
                routeDeletions.append(
                    .route(
                        RouteStep(
                            kind: .delete, request: r.deletion, text: r.text(names),
                            reason: "imposter in vrfc's table \(r.table)")))
            }
        }

        // Rules: each live rule answers for at most one wanted rule.
        var matchedRules = [Bool](repeating: false, count: snap.rules.count)
        var ruleAdds: [Step] = []
        for want in ops.rules {
            if let i = snap.rules.indices.first(where: { !matchedRules[$0] && ruleMatches(snap.rules[$0], want) }) {
                matchedRules[i] = true
                continue
            }
            let request = RuleRequest(
                family: want.family, priority: want.priority, table: want.table, from: want.from, to: want.to,
                fwmark: want.fwmark, fwmask: want.fwmark == nil ? nil : want.effectiveMask,
                protocol: RouteOwnership.protocol)
            ruleAdds.append(.rule(RuleStep(kind: .add, request: request, text: want.description)))
        }
        var ruleDeletions: [Step] = []
        for (i, r) in snap.rules.enumerated() where !matchedRules[i] {
            let intoOwned = owned.first(where: { r.looksUp($0) })
            if r.protocol == RouteOwnership.protocol {
                ruleDeletions.append(
                    .rule(
                        RuleStep(
                            kind: .delete, request: RuleRequest(r), text: r.text(),
                            reason: "vrfc's, no longer in the op list")))
            } else if let t = intoOwned {
                ruleDeletions.append(
                    .rule(
                        RuleStep(
                            kind: .delete, request: RuleRequest(r), text: r.text(),
                            reason: "imposter pointing at vrfc's table \(t)")))
            }
        }

        multipathNote()
        plan.wantedRoutes = ops.routes.count
        plan.wantedRules = ops.rules.count
        if routeProblems {
            steps.removeSubrange(start...)
            return
        }
        steps += ruleDeletions
        steps += ruleAdds
        steps += routeDeletions
    }

    /// Equal as far as the op list says: vrfc's protocol, a plain unicast
    /// route with the default metric, and the same paths (a path without a
    /// device in the op list takes whichever device the kernel resolved).
    func routeMatches(_ r: KernelRoute, _ want: RouteRequest) -> Bool {
        guard r.protocol == want.protocol, r.type == 1 /* RTN_UNICAST */, !r.hasOtherAttributes,
            r.nexthops.count == want.hops.count
        else { return false }
        var left = r.nexthops
        for h in want.hops {
            guard
                let j = left.firstIndex(where: { k in
                    k.gateway == h.gateway && (h.ifindex == nil || k.ifindex == h.ifindex) && (want.hops.count == 1 || k.weight == h.weight)
                })
            else { return false }
            left.remove(at: j)
        }
        return true
    }

    func ruleMatches(_ r: KernelRule, _ want: RuleSpec) -> Bool {
        r.protocol == RouteOwnership.protocol && r.looksUp(want.table) && !r.hasOtherSelectors && r.family == want.family
            && r.priority == want.priority && r.from == want.from && r.to == want.to && r.fwmark == want.fwmark
            && (want.fwmark == nil || r.fwmask == want.effectiveMask)
    }

    /// An IPv4 ECMP route to peers keeps hashing flows onto a peer whose
    /// neighbour entry has failed unless net.ipv4.fib_multipath_use_neigh is 1.
    mutating func multipathNote() {
        // Counted without an array per route, and no route copied unless it
        // is one of the three named: the plan runs twice per apply over every route.
        var count = 0
        var named: [String] = []
        for r in ops.routes where r.family == .ipv4 && r.nexthops.count > 1 {
            var gateways = 0
            for n in r.nexthops where n.gateway != nil { gateways += 1 }
            guard gateways > 1 else { continue }
            count += 1
            if named.count < 3 { named.append(r.description) }
        }
        guard count > 0 else { return }
        // Joined by hand: `joined`'s first use costs a scan of the binary's conformances.
        var list = ""
        for n in named {
            if !list.isEmpty { list += "; " }
            list += n
        }
        switch snap.multipathUseNeigh {
        case true?: break
        case false?:
            plan.notes.append(
                "net.ipv4.fib_multipath_use_neigh is 0: the ECMP route\(count == 1 ? "" : "s") \(list)\(count > 3 ? "; ..." : "") \(count == 1 ? "keeps" : "keep") sending flows to a peer that stopped answering ARP (the kernel only skips a path whose link is down); set it to 1 (sysctl -w net.ipv4.fib_multipath_use_neigh=1, and in /etc/sysctl.d)"
            )
        case nil:
            plan.notes.append(
                "net.ipv4.fib_multipath_use_neigh could not be read: with 0, ECMP routes to peers keep sending flows to a peer that stopped answering ARP"
            )
        }
    }
}
