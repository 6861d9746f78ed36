// The intermediate representation: one value per node, from which both
// backends (FRR text, kernel ops) are generated. Everything in it is already
// validated and sorted, so equal inputs give equal IR and equal bytes out.

public enum PrefixAction: String, Codable, Hashable, Sendable {
    case permit, deny
}

/// One prefix-list line.
public struct PrefixItem: Codable, Hashable, Sendable {
    public var seq: UInt32
    public var action: PrefixAction
    public var prefix: IPPrefix
    public var ge: Int?
    public var le: Int?
    /// Position in the CR's `import`/`export` list (0-based), so reviews can
    /// name the item as written. Not part of the IR's JSON or its equality:
    /// it says where the line came from, not what FRR is given.
    public var index: Int?

    public init(seq: UInt32, action: PrefixAction, prefix: IPPrefix, ge: Int? = nil, le: Int? = nil, index: Int? = nil) {
        self.seq = seq
        self.action = action
        self.prefix = prefix
        self.ge = ge
        self.le = le
        self.index = index
    }

    enum CodingKeys: String, CodingKey { case seq, action, prefix, ge, le }

    public static func == (l: Self, r: Self) -> Bool {
        (l.seq, l.action, l.prefix, l.ge, l.le) == (r.seq, r.action, r.prefix, r.ge, r.le)
    }

    public func hash(into h: inout Hasher) {
        h.combine(seq)
        h.combine(action)
        h.combine(prefix)
        h.combine(ge)
        h.combine(le)
    }
}

/// One CR's contribution to one direction of a VRF's policy: a route-map
/// entry per address family, each matching its own prefix-list.
public struct PolicyEntry: Codable, Hashable, Sendable {
    /// `metadata.name` of the VRFRouteConfiguration this came from.
    public var source: ObjectName
    /// `spec.seq`, 1...65534.
    public var seq: Int
    public var ipv4: [PrefixItem]
    public var ipv6: [PrefixItem]
    /// `set community` on exported routes (one or more communities, in
    /// FRR's order: read them through `community?.members`); nil for imports.
    public var community: CommunityList?

    /// The communities `set community` writes, in FRR's order.
    public var communities: [Community] { community?.members ?? [] }

    /// Route-map entries sit at `spec.seq + 1`: entry 1 is the export maps'
    /// `deny 1 / match tag 20000`, which must stay first.
    public var routeMapSeq: Int { seq + 1 }

    public init(source: ObjectName, seq: Int, ipv4: [PrefixItem], ipv6: [PrefixItem], community: CommunityList? = nil) {
        self.source = source
        self.seq = seq
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.community = community
    }

    public func items(_ family: AddressFamily) -> [PrefixItem] { family == .ipv4 ? ipv4 : ipv6 }
}

public enum VRFKind: String, Codable, Hashable, Sendable {
    /// VRF device, bridge, VXLAN, veth pair, BGP instance and policy.
    case full
    /// Listed in `skipVRFConfig`: only route-maps and prefix-lists; the VRF
    /// itself comes from the node's provisioning.
    case policyOnly
}

public struct VRF: Codable, Hashable, Sendable {
    public var name: VRFName
    public var kind: VRFKind
    /// Always set for full VRFs; policy-only VRFs have one only if mapped.
    public var vni: UInt32?
    public var routeTarget: RouteTarget?
    public var imports: [PolicyEntry]
    public var exports: [PolicyEntry]
    /// Sorted, IPv4 before IPv6, no duplicates.
    public var aggregates: [IPPrefix]

    public init(
        name: VRFName, kind: VRFKind, vni: UInt32?, routeTarget: RouteTarget?,
        imports: [PolicyEntry], exports: [PolicyEntry], aggregates: [IPPrefix]
    ) {
        self.name = name
        self.kind = kind
        self.vni = vni
        self.routeTarget = routeTarget
        self.imports = imports
        self.exports = exports
        self.aggregates = aggregates
    }

    public func aggregates(_ family: AddressFamily) -> [IPPrefix] { aggregates.filter { $0.family == family } }

    /// The IR's sort key (README "The IR"): VNI then name; unmapped policy-only VRFs first.
    public static func ordered(_ l: VRF, _ r: VRF) -> Bool {
        (l.vni ?? 0, l.name.value) < (r.vni ?? 0, r.name.value)
    }
}

public struct NodeIR: Codable, Hashable, Sendable {
    public static let currentVersion = 1

    public var version: Int
    /// ASN of the generated per-VRF BGP instances (`serverASN`).
    public var asn: UInt32
    public var routerID: IPv4Address?
    public var hostname: Hostname?
    /// Pre-existing interfaces that also get the tc router program.
    public var bpfInterfaces: [InterfaceName]
    /// Only VRFs named by at least one CR; sorted with `VRF.ordered`.
    public var vrfs: [VRF]
    /// Return-path and pod routes with their rules; nil (and absent from
    /// the JSON) when the node config asks for neither.
    public var routing: RoutingIR?

    public init(
        asn: UInt32, routerID: IPv4Address?, hostname: Hostname?, bpfInterfaces: [InterfaceName], vrfs: [VRF],
        routing: RoutingIR? = nil
    ) {
        self.version = Self.currentVersion
        self.asn = asn
        self.routerID = routerID
        self.hostname = hostname
        self.bpfInterfaces = bpfInterfaces
        self.vrfs = vrfs
        self.routing = routing
    }

    public var fullVRFs: [VRF] { vrfs.filter { $0.kind == .full } }
}
