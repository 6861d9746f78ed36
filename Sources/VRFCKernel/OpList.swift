import VRFCModel

// The kernel op list: the declarative, versioned description of every link
// and tc attachment a node must have. The applier compares it with the live
// kernel and executes only the difference. Values the compiler cannot know
// offline (the VTEP address, routing table numbers) are symbolic here and
// resolved by the applier on the node.

/// IPv6 link-local address generation (IFLA_INET6_ADDR_GEN_MODE).
public enum AddrGenMode: String, Codable, Hashable, Sendable {
    /// Kernel value 0: link-local address from the MAC. Kept on the veths,
    /// whose BGP sessions (`neighbor vd./dv.<name> interface`) need it.
    case eui64
    /// Kernel value 1: no automatic IPv6 addresses.
    case none

    public var kernelValue: UInt8 { self == .eui64 ? 0 : 1 }
}

public struct VXLANSettings: Codable, Hashable, Sendable {
    public var vni: UInt32
    public var dstPort: UInt16
    public var learning: Bool
    /// The underlay device; its single IPv4 address is the local VTEP address.
    public var device: InterfaceName
}

/// Settings of a link enslaved to a bridge (IFLA_BRPORT_*).
public struct BridgePortSettings: Codable, Hashable, Sendable {
    public var hairpin: Bool
    public var neighSuppress: Bool
    public var learning: Bool
}

public struct LinkSpec: Codable, Hashable, Sendable {
    public var name: InterfaceName
    public var kind: LinkKind
    /// The VRF whose stack this link belongs to.
    public var vrf: VRFName
    public var master: InterfaceName?
    public var mtu: Int
    public var addrGenMode: AddrGenMode
    /// True: the MAC is `02:54` + the four bytes of the underlay IPv4 address.
    public var macFromUnderlay: Bool
    public var vxlan: VXLANSettings?
    public var bridgePort: BridgePortSettings?
    /// The other end of a veth pair.
    public var peer: InterfaceName?

    public init(
        name: InterfaceName, kind: LinkKind, vrf: VRFName, master: InterfaceName? = nil, mtu: Int,
        addrGenMode: AddrGenMode, macFromUnderlay: Bool = false, vxlan: VXLANSettings? = nil,
        bridgePort: BridgePortSettings? = nil, peer: InterfaceName? = nil
    ) {
        self.name = name
        self.kind = kind
        self.vrf = vrf
        self.master = master
        self.mtu = mtu
        self.addrGenMode = addrGenMode
        self.macFromUnderlay = macFromUnderlay
        self.vxlan = vxlan
        self.bridgePort = bridgePort
        self.peer = peer
    }
}

public struct TableRange: Codable, Hashable, Sendable, CustomStringConvertible {
    public var first: UInt32
    public var last: UInt32

    public init(first: UInt32, last: UInt32) {
        self.first = first
        self.last = last
    }

    public static let `default` = TableRange(first: 50, last: 79)

    /// Table ids a VRF may use. 0 is "unspecified" and 0xFFFFFFFF is
    /// RT_TABLE_MAX; between them, `kernelTables` must stay out of the range.
    public static let allowed: ClosedRange<UInt32> = 1...0xFFFF_FFFE
    /// The kernel's own tables: default (253), main (254), local (255).
    public static let kernelTables: ClosedRange<UInt32> = 253...255
    public static let rule =
        "FIRST-LAST with 1 <= FIRST <= LAST <= 4294967294, not including the kernel's tables 253-255 (e.g. 50-79, or 1000-1999 for many VRFs)"

    /// Ordered, within `allowed`, and clear of the kernel's own tables.
    public var isValid: Bool {
        first <= last && Self.allowed.contains(first) && Self.allowed.contains(last)
            && !(first...last).overlaps(Self.kernelTables)
    }

    /// "50-79" → range; nil when malformed or not `isValid`.
    public init?(parsing s: String) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = UInt32(parts[0]), let b = UInt32(parts[1]) else { return nil }
        self.init(first: a, last: b)
        guard isValid else { return nil }
    }

    public func contains(_ t: UInt32) -> Bool { t >= first && t <= last }
    public var count: Int { Int(last - first) + 1 }
    public var description: String { "\(first)-\(last)" }
}

public struct OpList: Codable, Hashable, Sendable {
    public static let formatName = "vrfc-ops"
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    public var underlay: InterfaceName
    public var tableRange: TableRange
    /// In creation order: every link's master comes before it.
    public var links: [LinkSpec]
    /// Interfaces that get the tc router program on clsact ingress.
    public var routerAttachments: [InterfaceName]
    /// Routing tables vrfc owns wholly: every route in them and every rule
    /// pointing at them is vrfc's (others there are imposters and go).
    public var ownedTables: [UInt32]
    /// Routes in `ownedTables` or in `main`, marked with vrfc's protocol.
    public var routes: [RouteSpec]
    /// Policy rules into `ownedTables`, marked with vrfc's rule protocol.
    public var rules: [RuleSpec]
    /// Names of owned tables for iproute2 (`ip route show table NAME`),
    /// which vrfc-apply writes to its own rt_tables.d file.
    public var tableNames: [TableName]

    public init(
        underlay: InterfaceName, tableRange: TableRange, links: [LinkSpec], routerAttachments: [InterfaceName],
        ownedTables: [UInt32] = [], routes: [RouteSpec] = [], rules: [RuleSpec] = [], tableNames: [TableName] = []
    ) {
        format = Self.formatName
        version = Self.currentVersion
        self.underlay = underlay
        self.tableRange = tableRange
        self.links = links
        self.routerAttachments = routerAttachments
        self.ownedTables = ownedTables
        self.routes = routes
        self.rules = rules
        self.tableNames = tableNames
    }

    enum CodingKeys: String, CodingKey {
        case format, version, underlay, tableRange, links, routerAttachments, ownedTables, routes, rules, tableNames
    }

    // The route fields are left out while empty, so op lists of nodes
    // without routes read and print as before.
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        underlay = try c.decode(InterfaceName.self, forKey: .underlay)
        tableRange = try c.decode(TableRange.self, forKey: .tableRange)
        links = try c.decode([LinkSpec].self, forKey: .links)
        routerAttachments = try c.decode([InterfaceName].self, forKey: .routerAttachments)
        ownedTables = try c.decodeIfPresent([UInt32].self, forKey: .ownedTables) ?? []
        routes = try c.decodeIfPresent([RouteSpec].self, forKey: .routes) ?? []
        rules = try c.decodeIfPresent([RuleSpec].self, forKey: .rules) ?? []
        tableNames = try c.decodeIfPresent([TableName].self, forKey: .tableNames) ?? []
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(version, forKey: .version)
        try c.encode(underlay, forKey: .underlay)
        try c.encode(tableRange, forKey: .tableRange)
        try c.encode(links, forKey: .links)
        try c.encode(routerAttachments, forKey: .routerAttachments)
        if !ownedTables.isEmpty { try c.encode(ownedTables, forKey: .ownedTables) }
        if !routes.isEmpty { try c.encode(routes, forKey: .routes) }
        if !rules.isEmpty { try c.encode(rules, forKey: .rules) }
        if !tableNames.isEmpty { try c.encode(tableNames, forKey: .tableNames) }
    }
}
