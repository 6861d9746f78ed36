import VRFCModel

/// Node-level options that do not come from files.
public struct NodeOptions: Sendable {
    public var routerID: IPv4Address?
    public var hostname: Hostname?
    /// The routing tables VRFs get (`--table-range`): no other table vrfc owns may be in it.
    public var vrfTables: ClosedRange<UInt32>

    public init(routerID: IPv4Address? = nil, hostname: Hostname? = nil, vrfTables: ClosedRange<UInt32> = 50...79) {
        self.routerID = routerID
        self.hostname = hostname
        self.vrfTables = vrfTables
    }
}

/// Cross-object validation and construction of the IR.
public enum Lowering {
    public static func lower(config: NodeConfig, objects: [RouteConfiguration], options: NodeOptions) throws(Diagnostics) -> NodeIR {
        var diags: [Diagnostic] = []

        // Object names are unique in a cluster; two files defining one name
        // means one of them is stale.
        var byName: [ObjectName: RouteConfiguration] = [:]
        var unique: [RouteConfiguration] = []
        for o in objects {
            if let first = byName[o.name] {
                diags.append(
                    Diagnostic(
                        o.location,
                        "metadata.name '\(o.name)' is also defined at \(first.location.file)\(first.location.line.map { ":\($0)" } ?? "")",
                        fix: "object names are unique; rename or remove one"))
            } else {
                byName[o.name] = o
                unique.append(o)
            }
        }

        let skip = Set(config.skip)
        let known = config.knownVRFs
        var byVRF: [VRFName: [RouteConfiguration]] = [:]
        for o in unique {
            guard config.mappings[o.vrf] != nil || skip.contains(o.vrf) else {
                let fix =
                    known.isEmpty
                    ? "add it to vnimap or vrfConfig (or skipVRFConfig) in \(config.file)"
                    : "add it to vnimap or vrfConfig (or skipVRFConfig) in \(config.file); known VRFs: \(known.map(\.value).joined(separator: ", "))"
                diags.append(Diagnostic(o.vrfLocation, "VRF '\(o.vrf)' is not in the node config", fix: fix))
                continue
            }
            if skip.contains(o.vrf), !o.aggregates.isEmpty {
                diags.append(
                    Diagnostic(
                        o.aggregateLocation ?? o.location,
                        "VRF '\(o.vrf)' is in skipVRFConfig, so vrfc generates no BGP instance to aggregate in",
                        fix: "remove spec.aggregate, or configure the aggregate where that VRF's BGP instance is provisioned"))
                continue
            }
            byVRF[o.vrf, default: []].append(o)
        }

        var vrfs: [VRF] = []
        for (name, crs) in byVRF {
            let sorted = crs.sorted { ($0.seq, $0.name) < ($1.seq, $1.name) }
            var clash = false
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.seq == b.seq {
                diags.append(
                    Diagnostic(
                        b.seqLocation,
                        "spec.seq \(b.seq) of VRF '\(name)' is also used by \(a.location.object ?? "\(a.name)") (\(a.location.file)\(a.location.line.map { ":\($0)" } ?? ""))",
                        fix: "give each CR of a VRF its own spec.seq; it becomes route-map entry seq + 1"))
                clash = true
            }
            if clash { continue }
            let mapping = config.mappings[name]
            vrfs.append(
                VRF(
                    name: name,
                    kind: skip.contains(name) ? .policyOnly : .full,
                    vni: mapping?.vni,
                    routeTarget: mapping?.routeTarget,
                    imports: sorted.map { policy($0, $0.imports, community: nil) },
                    exports: sorted.map { policy($0, $0.exports, community: $0.community) },
                    aggregates: Array(Set(sorted.flatMap(\.aggregates))).sorted()))
        }
        if !diags.isEmpty { throw Diagnostics(diags.sorted(by: Self.messageOrder)) }

        return NodeIR(
            asn: config.serverASN, routerID: options.routerID, hostname: options.hostname,
            bpfInterfaces: config.bpfInterfaces, vrfs: vrfs.sorted(by: VRF.ordered))
    }

    static func policy(_ o: RouteConfiguration, _ items: [PrefixItem], community: CommunityList?) -> PolicyEntry {
        let sorted = items.sorted { $0.seq < $1.seq }
        return PolicyEntry(
            source: o.name, seq: o.seq,
            ipv4: sorted.filter { $0.prefix.family == .ipv4 },
            ipv6: sorted.filter { $0.prefix.family == .ipv6 },
            community: community)
    }

    /// Messages in file and line order, so output is stable run to run.
    public static func messageOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        (a.location.file, a.location.line ?? 0, a.message) < (b.location.file, b.location.line ?? 0, b.message)
    }
}
