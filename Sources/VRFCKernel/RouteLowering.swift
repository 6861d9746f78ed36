import VRFCModel

extension KernelBackend {
    /// IR routes and rules → op-list entries: every route and rule marked
    /// with vrfc's protocol, a single path without a weight (the kernel
    /// keeps none for it), each rule of the family its `from` prefix has.
    public static func routeOps(_ routing: RoutingIR?) -> (
        ownedTables: [UInt32], routes: [RouteSpec], rules: [RuleSpec], tableNames: [TableName]
    ) {
        guard let routing else { return ([], [], [], []) }
        let routes = routing.routes.map { r in
            RouteSpec(
                table: r.table, destination: r.destination,
                nexthops: r.nexthops.map { h in
                    var n = Nexthop(gateway: h.gateway, device: h.device, weight: r.nexthops.count > 1 ? h.weight : 1)
                    n.linkLocalOf = h.linkLocalOf
                    return n
                },
                protocol: RouteOwnership.protocol)
        }
        let rules = routing.rules.map {
            RuleSpec(priority: $0.priority, family: $0.family, from: $0.from, fwmark: $0.fwmark, table: $0.table)
        }
        let names = routing.ownedTables.compactMap { t in t.name.map { TableName(table: t.id, name: $0) } }
        return (routing.ownedTables.map(\.id), routes, rules, names)
    }
}
