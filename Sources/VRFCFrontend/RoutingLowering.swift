import VRFCModel

/// Cross-object validation of MetalLB's configuration and the Node objects
/// against the node config, and construction of the routes and rules.
/// Errors stop the compile; warnings are printed and the compile goes on.
public enum RoutingLowering {
    public struct Result: Sendable {
        public var routing: RoutingIR?
        public var errors: [Diagnostic] = []
        public var warnings: [Diagnostic] = []
    }

    public static func lower(config: NodeConfig, objects: InputObjects, vrfTables: ClosedRange<UInt32>) -> Result {
        var r = Result()
        let hasMetalLB =
            !objects.bgpPeers.isEmpty || !objects.addressPools.isEmpty || !objects.bgpAdvertisements.isEmpty
            || !objects.metalLBConfigMaps.isEmpty

        // Objects nothing asks for are a mistake in the inputs or the config.
        if hasMetalLB && config.returnPath == nil {
            let at =
                objects.bgpPeers.first?.location ?? objects.addressPools.first?.location
                ?? objects.bgpAdvertisements.first?.location ?? objects.metalLBConfigMaps.first!.location
            r.errors.append(
                Diagnostic(
                    at, "MetalLB's configuration is given, but the node config has no returnPath",
                    fix: "add returnPath to \(config.file) (README \"Return-path routing\"), or remove the MetalLB objects from the inputs")
            )
        }
        if let node = objects.nodes.first, config.podRoutes == nil && config.returnPath == nil {
            r.errors.append(
                Diagnostic(
                    node.location, "Node objects are given, but the node config has neither podRoutes nor returnPath",
                    fix: "add podRoutes (or returnPath) to \(config.file), or remove the Node objects from the inputs"))
        }
        let nodes = checkNodes(objects.nodes, &r)
        var routing = RoutingIR()

        if let pods = config.podRoutes {
            podRoutes(pods, config: config, nodes: nodes, into: &routing, &r)
        }
        if let rp = config.returnPath {
            returnPath(rp, config: config, objects: objects, nodes: nodes, vrfTables: vrfTables, into: &routing, &r)
        }
        guard config.podRoutes != nil || config.returnPath != nil else { return r }
        routing.routes.sort(by: NodeRoute.ordered)
        routing.rules.sort(by: PolicyRule.ordered)
        r.routing = routing
        r.errors.sort(by: Lowering.messageOrder)
        r.warnings.sort(by: Lowering.messageOrder)
        for i in r.warnings.indices { r.warnings[i].severity = .warning }
        return r
    }

    /// Names unique, no address on two nodes, no pod CIDR on two nodes.
    static func checkNodes(_ all: [KubernetesNode], _ r: inout Result) -> [ObjectName: KubernetesNode] {
        var byName: [ObjectName: KubernetesNode] = [:]
        for n in all {
            if let first = byName[n.name] {
                r.errors.append(
                    Diagnostic(
                        n.location, "Node '\(n.name)' is also defined at \(place(first.location))",
                        fix: "object names are unique; remove one of them"))
            } else {
                byName[n.name] = n
            }
        }
        var byAddress: [IPAddress: KubernetesNode] = [:]
        for n in byName.values.sorted(by: { $0.name < $1.name }) {
            for a in n.internalIPs {
                if let other = byAddress[a] {
                    r.errors.append(
                        Diagnostic(
                            n.addressesLocation,
                            "InternalIP \(a) is also the address of Node '\(other.name)' (\(place(other.addressesLocation)))",
                            fix: "each node needs its own address; pod routes to both would be one route"))
                } else {
                    byAddress[a] = n
                }
            }
        }
        let cidrs = byName.values.sorted(by: { $0.name < $1.name }).flatMap { n in
            n.podCIDRs.map { (prefix: $0, owner: n.label, location: n.podCIDRsLocation) }
        }
        for (a, b) in overlaps(cidrs) {
            r.errors.append(
                Diagnostic(
                    b.location, "pod CIDR \(b.prefix) overlaps \(a.prefix) of \(a.owner) (\(place(a.location)))",
                    fix: "Kubernetes assigns each node its own pod CIDRs; check the nodes' spec.podCIDRs"))
        }
        return byName
    }

    static func podRoutes(
        _ pods: PodRoutesConfig, config: NodeConfig, nodes: [ObjectName: KubernetesNode],
        into routing: inout RoutingIR, _ r: inout Result
    ) {
        guard let me = config.nodeName else {
            r.errors.append(
                Diagnostic(
                    pods.location, "podRoutes needs nodeName, this node's name among the Node objects",
                    fix: "add nodeName: <this node's metadata.name> to \(config.file)"))
            return
        }
        // As for returnPath: the node config compiled alone is not an error.
        if nodes.isEmpty {
            r.warnings.append(
                Diagnostic(
                    pods.location, "podRoutes: the inputs hold no Node objects: no pod route and no CNI ranges",
                    fix: "pass them (kubectl get nodes -o json)"))
            return
        }
        guard nodes[me] != nil else {
            let fix =
                "pass this node's Node object too; the Node objects given are \(nodes.keys.sorted().prefix(10).map(\.value).joined(separator: ", "))"
            r.errors.append(
                Diagnostic(config.nodeNameLocation ?? pods.location, "nodeName '\(me)' is not among the Node objects", fix: fix))
            return
        }
        let own = nodes[me]!.podCIDRs.sorted { ($0.family == .ipv4 ? 0 : 1) < ($1.family == .ipv4 ? 0 : 1) }
        routing.podNetwork = PodNetwork(name: pods.cniNetwork, bridge: pods.cniBridge, podCIDRs: own)
        for node in nodes.values.sorted(by: { $0.name < $1.name }) {
            if node.podCIDRs.isEmpty {
                r.warnings.append(
                    Diagnostic(
                        node.podCIDRsLocation,
                        node.name == me
                            ? "this node has no podCIDRs: its CNI configuration has no ranges"
                            : "has no podCIDRs: no pod route to it (skipped)",
                        fix: "Kubernetes assigns pod CIDRs when kube-controller-manager runs with --allocate-node-cidrs"))
                continue
            }
            guard node.name != me else { continue }
            for cidr in node.podCIDRs {
                let hop: RouteNexthop?
                switch cidr.family {
                case .ipv4:
                    hop = node.internalIP(.ipv4).map { RouteNexthop(gateway: $0, device: pods.interface, source: node.label) }
                case .ipv6:
                    if let a = node.internalIP(.ipv6) {
                        hop = RouteNexthop(gateway: a, device: pods.interface, source: node.label)
                    } else if case .v4(let v4)? = node.internalIP(.ipv4) {
                        if let prefix = pods.ipv6Prefix, case .v6(let p) = prefix.address {
                            hop = RouteNexthop(
                                gateway: .v6(IPv6Address(high: p.high, low: p.low | UInt64(v4.value))), device: pods.interface,
                                source: node.label)
                        } else {
                            // The last resort: the node's link-local address, from
                            // the MAC its IPv4 address has in the neighbour table.
                            // Only the node knows it, so vrfc-apply resolves it.
                            hop = RouteNexthop(linkLocalOf: .v4(v4), device: pods.interface, source: node.label)
                        }
                    } else {
                        hop = nil
                    }
                }
                guard let hop else {
                    let fix =
                        cidr.family == .ipv4
                        ? "give the node an IPv4 InternalIP in status.addresses"
                        : "give the node an IPv6 InternalIP, or an IPv4 one (reached at podRoutes.ipv6Prefix + it, or else at its link-local address)"
                    r.warnings.append(
                        Diagnostic(
                            node.addressesLocation,
                            "has no \(cidr.family.rawValue) address for its pod CIDR \(cidr): no route to it (skipped)", fix: fix))
                    continue
                }
                routing.routes.append(NodeRoute(purpose: .podRoute, table: mainTable, destination: cidr, nexthops: [hop]))
            }
        }
    }

    /// The kernel's tables: 253 default, 254 main, 255 local.
    static let kernelTables: [UInt32: String] = [253: "default", 254: "main", 255: "local"]
    static let mainTable: UInt32 = 254

    static func returnPath(
        _ rp: ReturnPathConfig, config: NodeConfig, objects: InputObjects, nodes: [ObjectName: KubernetesNode],
        vrfTables: ClosedRange<UInt32>, into routing: inout RoutingIR, _ r: inout Result
    ) {
        if let name = kernelTables[rp.table] {
            r.errors.append(
                Diagnostic(
                    rp.tableLocation, "table \(rp.table) is the kernel's '\(name)' table, which vrfc never owns",
                    fix: "choose a table of its own, outside \(vrfTables.lowerBound)-\(vrfTables.upperBound) (the VRF tables) and 253-255"))
            return
        }
        if vrfTables.contains(rp.table) {
            r.errors.append(
                Diagnostic(
                    rp.tableLocation,
                    "table \(rp.table) is inside the VRF table range \(vrfTables.lowerBound)-\(vrfTables.upperBound), where VRFs get their tables",
                    fix: "choose a table outside it (or move the range with --table-range)"))
            return
        }
        routing.ownedTables = [OwnedTable(id: rp.table, name: rp.tableName)]

        // One shape of MetalLB's configuration.
        let crds = !objects.bgpPeers.isEmpty || !objects.addressPools.isEmpty || !objects.bgpAdvertisements.isEmpty
        if crds, let map = objects.metalLBConfigMaps.first {
            r.errors.append(
                Diagnostic(
                    map.location, "MetalLB's configuration is given both as CRDs and as its legacy ConfigMap",
                    fix: "MetalLB reads one of them; pass the one it uses"))
            return
        }
        if objects.metalLBConfigMaps.count > 1 {
            let first = objects.metalLBConfigMaps[0]
            r.errors.append(
                Diagnostic(
                    objects.metalLBConfigMaps[1].location,
                    "a second MetalLB ConfigMap (the first is \(first.label), \(place(first.location)))",
                    fix: "pass MetalLB's one ConfigMap"))
            return
        }
        let legacy = objects.metalLBConfigMaps.first
        let peers = legacy?.peers ?? objects.bgpPeers
        let pools = legacy?.pools ?? objects.addressPools
        // Not an error: vrfc-apply compiles the node config alone (--clean,
        // and to learn the operator's bpfInterfaces); the table stays owned.
        if legacy == nil && !crds {
            r.warnings.append(
                Diagnostic(
                    rp.location, "returnPath: the inputs hold no MetalLB configuration: table \(rp.table) gets no route and no rule",
                    fix: "pass its objects (kubectl get bgppeers,ipaddresspools,bgpadvertisements -A -o yaml) or its ConfigMap"))
            return
        }
        let errorsBefore = r.errors.count
        unique(peers.compactMap { p in legacy == nil ? (p.label, p.location) : nil }, &r)
        unique(pools.map { ($0.name, $0.location) }, kind: legacy == nil ? "IPAddressPool" : "address pool", &r)
        unique(objects.bgpAdvertisements.map { ($0.label, $0.location) }, &r)
        let poolPrefixes = pools.flatMap { p in p.prefixes.map { (prefix: $0, owner: p.label, location: p.addressesLocation) } }
        for (a, b) in overlaps(poolPrefixes) {
            let same = a.owner == b.owner
            r.errors.append(
                Diagnostic(
                    b.location,
                    same
                        ? "\(b.owner): \(b.prefix) overlaps its own \(a.prefix)"
                        : "\(b.owner): \(b.prefix) overlaps \(a.prefix) of \(a.owner) (\(place(a.location)))",
                    fix: same ? "list each address once" : "pools must not share addresses; MetalLB would hand one address out twice"))
        }

        // This node's labels, needed only where something selects nodes.
        let me = config.nodeName.flatMap { nodes[$0] }
        func selected(_ selectors: [LabelSelector], by label: String, at location: SourceLocation) -> Bool? {
            if selectors.isEmpty { return true }
            guard let me else {
                r.errors.append(
                    Diagnostic(
                        location, "\(label) selects nodes by label, and this node's labels are unknown",
                        fix: config.nodeName == nil
                            ? "add nodeName to \(config.file) and pass this node's Node object"
                            : "pass this node's Node object (kubectl get node \(config.nodeName!) -o json)"))
                return nil
            }
            return selectors.contains { $0.matches(me.labels) }
        }

        var myPeers: [MetalLBPeer] = []
        for p in peers {
            guard selected(p.nodeSelectors, by: p.label, at: p.location) == true else { continue }
            if let vrf = p.vrf {
                r.warnings.append(
                    Diagnostic(
                        p.location, "\(p.label) peers in VRF \(quoted(vrf)): not a path of the return-path table (left out)",
                        fix: "the return path leaves through the default VRF's peers"))
                continue
            }
            guard let address = p.address else {
                r.warnings.append(
                    Diagnostic(
                        p.location,
                        "\(p.label) is a BGP unnumbered peer (interface): its address is not known before the session (left out)"))
                continue
            }
            if let nets = rp.connectedNetworks,
                !nets.contains(where: { $0.contains(IPPrefix(canonical: address, length: address.family.maxLength)) })
            {
                r.warnings.append(
                    Diagnostic(
                        p.location,
                        "\(p.label): \(address) is not on a connected network (\(nets.map(\.text).joined(separator: ", "))) (left out)",
                        fix: "the kernel refuses a nexthop it cannot reach directly; fix returnPath.connectedNetworks or the peer's address"
                    ))
                continue
            }
            if !myPeers.contains(where: { $0.address == address }) { myPeers.append(p) }
        }

        var announced: [MetalLBPool] = []
        for pool in pools {
            if let bgp = pool.legacyBGP {
                if bgp { announced.append(pool) }
                continue
            }
            let ads = objects.bgpAdvertisements.filter { $0.selects(pool) }
            if ads.contains(where: { selected($0.nodeSelectors, by: $0.label, at: $0.location) == true }) { announced.append(pool) }
        }
        var covered = announced
        if let names = rp.pools {
            covered = []
            for (name, location) in names {
                guard let pool = pools.first(where: { $0.name == name }) else {
                    r.errors.append(
                        Diagnostic(
                            location, "no address pool is named '\(name)'",
                            fix: pools.isEmpty
                                ? "the inputs hold no pool" : "known pools: \(pools.map(\.name).sorted().joined(separator: ", "))"))
                    continue
                }
                guard announced.contains(pool) else {
                    r.errors.append(
                        Diagnostic(
                            location, "\(pool.label) is not announced over BGP from this node",
                            fix:
                                "only replies from addresses the peers route here should leave through them; announce the pool (BGPAdvertisement, or protocol: bgp) or remove it from returnPath.pools"
                        ))
                    continue
                }
                covered.append(pool)
            }
        }
        guard r.errors.count == errorsBefore else { return }
        if covered.isEmpty {
            r.warnings.append(
                Diagnostic(
                    rp.location, "no address pool is announced over BGP from this node: table \(rp.table) gets no route and no rule",
                    fix: "vrfc still owns the table and removes what others put there"))
        }

        for family in AddressFamily.allCases {
            let prefixes = covered.flatMap { pool in pool.prefixes.filter { $0.family == family }.map { (pool, $0) } }
            guard !prefixes.isEmpty else { continue }
            if let d = rp.destination, d.family != family {
                for (pool, p) in prefixes {
                    r.warnings.append(
                        Diagnostic(
                            pool.addressesLocation,
                            "\(pool.label): \(p) is \(family.rawValue) and returnPath.destination \(d) is not (no rule)"))
                }
                continue
            }
            let paths = myPeers.filter { $0.address?.family == family }.sorted { $0.address! < $1.address! }
            guard !paths.isEmpty else {
                r.warnings.append(
                    Diagnostic(
                        prefixes[0].0.addressesLocation,
                        "no BGP peer of this node has an \(family.rawValue) address: replies from \(prefixes.map(\.1.text).joined(separator: ", ")) keep the main table (no rule)",
                        fix: "add an \(family.rawValue) BGPPeer for this node, or leave the pool out of returnPath.pools"))
                continue
            }
            let destination =
                rp.destination ?? IPPrefix(canonical: family == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)), length: 0)
            routing.routes.append(
                NodeRoute(
                    purpose: .returnPath, table: rp.table, destination: destination,
                    nexthops: paths.map { RouteNexthop(gateway: $0.address!, weight: rp.peerWeight, source: $0.label) }))
            for (pool, p) in prefixes {
                routing.rules.append(PolicyRule(priority: rp.rulePriority, from: p, fwmark: rp.fwmark, table: rp.table, source: pool.label))
            }
        }
    }

    static func unique(_ items: [(String, SourceLocation)], kind: String? = nil, _ r: inout Result) {
        var seen: [String: SourceLocation] = [:]
        for (name, location) in items {
            if let first = seen[name] {
                r.errors.append(
                    Diagnostic(
                        location, "\(kind.map { "\($0) '\(name)'" } ?? name) is also defined at \(place(first))",
                        fix: "names are unique; remove one of them"))
            } else {
                seen[name] = location
            }
        }
    }

    /// Pairs of overlapping prefixes (the earlier, the later), in address order.
    static func overlaps<T>(_ items: [(prefix: IPPrefix, owner: String, location: T)]) -> [(
        (prefix: IPPrefix, owner: String, location: T), (prefix: IPPrefix, owner: String, location: T)
    )] {
        let sorted = items.sorted { ($0.prefix, $0.owner) < ($1.prefix, $1.owner) }
        var out: [((prefix: IPPrefix, owner: String, location: T), (prefix: IPPrefix, owner: String, location: T))] = []
        // Sorted by address then length, a prefix's containers come before
        // it: the stack holds the chain of prefixes that contain the current one.
        var stack: [(prefix: IPPrefix, owner: String, location: T)] = []
        for item in sorted {
            while let top = stack.last, !top.prefix.contains(item.prefix) { stack.removeLast() }
            if let top = stack.last { out.append((top, item)) }
            stack.append(item)
        }
        return out
    }

    static func place(_ l: SourceLocation) -> String { "\(l.file)\(l.line.map { ":\($0)" } ?? "")" }
}
