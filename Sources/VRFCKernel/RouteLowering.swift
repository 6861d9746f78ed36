import VRFCModel

extension KernelBackend {
    /// IR routes and rules → op-list entries: every route and rule marked
    /// with vrfc's protocol, a single path without a weight (the kernel
    /// keeps none for it), each rule of the family its `from` prefix has.
    public static func routeOps(_ routing: RoutingIR?) -> (ownedTables: [UInt32], routes: [RouteSpec], rules: [RuleSpec]) {
        guard let routing else { return ([], [], []) }
        let routes = routing.routes.map { r in
            RouteSpec(
                table: r.table, destination: r.destination,
                nexthops: r.nexthops.map { Nexthop(gateway: $0.gateway, device: $0.device, weight: r.nexthops.count > 1 ? $0.weight : 1) },
                protocol: RouteOwnership.protocol)
        }
        let rules = routing.rules.map {
            RuleSpec(priority: $0.priority, family: $0.family, from: $0.from, fwmark: $0.fwmark, table: $0.table)
        }
        return (routing.ownedTables.map(\.id), routes, rules)
    }
}
