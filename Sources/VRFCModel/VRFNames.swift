// The naming contract: every name vrfc derives from a VRF's name, spelled
// here and nowhere else. Existing nodes (links the Go network-operator laid)
// and base configs (`call rm_mgmt_vrf_export`) depend on these exact
// spellings, so the kernel backend, the op-list validation, the applier's
// ownership rule and deletion order, the FRR templates' views, the analysis
// and the healthcheck all take them from this file.

/// The kind of a kernel link vrfc creates.
public enum LinkKind: String, Codable, Hashable, Sendable {
    case vrf, bridge, vxlan, veth

    /// The stack links of this kind (two for a veth pair).
    public var stackLinks: [StackLink] { StackLink.allCases.filter { $0.kind == self } }
    /// Their name prefixes (`vr.`; `vd.`/`dv.` for a veth).
    public var prefixes: [String] { stackLinks.map(\.prefix) }
}

/// One link of a full VRF's stack. `allCases` is the creation order: every
/// link's master comes before it.
public enum StackLink: CaseIterable, Hashable, Sendable {
    /// `vr.`: the VRF device, holding the VRF's routing table.
    case vrfDevice
    /// `br.`: the bridge in the VRF.
    case bridge
    /// `vx.`: the VXLAN link in the bridge.
    case vxlan
    /// `vd.`: the veth end in the VRF (the VRF instance's BGP session).
    case vrfSide
    /// `dv.`: the veth end in the default VRF (the default instance's session).
    case defaultSide

    public var prefix: String {
        switch self {
        case .vrfDevice: "vr."
        case .bridge: "br."
        case .vxlan: "vx."
        case .vrfSide: "vd."
        case .defaultSide: "dv."
        }
    }

    public var kind: LinkKind {
        switch self {
        case .vrfDevice: .vrf
        case .bridge: .bridge
        case .vxlan: .vxlan
        case .vrfSide, .defaultSide: .veth
        }
    }

    /// The link it is enslaved to: `vr.` ← `br.` ← `vx.`, `vr.` ← `vd.`; the
    /// VRF device and `dv.` (in the default VRF) have none.
    public var master: StackLink? {
        switch self {
        case .bridge, .vrfSide: .vrfDevice
        case .vxlan: .bridge
        case .vrfDevice, .defaultSide: nil
        }
    }

    /// The other end of a veth pair.
    public var peer: StackLink? {
        switch self {
        case .vrfSide: .defaultSide
        case .defaultSide: .vrfSide
        default: nil
        }
    }

    /// Every prefix vrfc owns: a link without one of them is never vrfc's.
    public static let prefixes: [String] = allCases.map(\.prefix)
    /// The longest prefix: a VRF name may be as long as an interface name minus this.
    public static let prefixLength = prefixes.map(\.utf8.count).max()!

    /// The stack link a name has the prefix of, whatever follows it.
    public init?(prefixOf name: String) {
        guard let link = Self.allCases.first(where: { name.hasPrefix($0.prefix) }) else { return nil }
        self = link
    }

    /// Deleting: slaves before masters, veth ends last, the VRF device at the
    /// very end (the order `ip` users expect).
    public static let deletionOrder: [StackLink] = [.vxlan, .bridge, .vrfSide, .defaultSide, .vrfDevice]

    /// A link name's place in `deletionOrder`; names without a prefix of
    /// vrfc's go after all of them.
    public static func deletionRank(of name: String) -> Int {
        Self(prefixOf: name).flatMap { deletionOrder.firstIndex(of: $0) } ?? deletionOrder.count
    }
}

/// The names of one VRF: its kernel stack, the marker on its links, and the
/// FRR objects generated for it.
public struct VRFNames: Hashable, Sendable {
    public let vrf: VRFName

    public init(_ vrf: VRFName) { self.vrf = vrf }

    /// A stack link's interface name: prefix + VRF name.
    public func link(_ link: StackLink) -> InterfaceName {
        // A VRF name is at most `InterfaceName.maxLength - prefixLength`
        // characters of [A-Za-z0-9_-], so this is always a valid interface name.
        try! InterfaceName(validating: link.prefix + vrf.value)
    }

    public var vrfDevice: InterfaceName { link(.vrfDevice) }
    public var bridge: InterfaceName { link(.bridge) }
    public var vxlan: InterfaceName { link(.vxlan) }
    public var vrfSide: InterfaceName { link(.vrfSide) }
    public var defaultSide: InterfaceName { link(.defaultSide) }

    /// The whole stack in creation order.
    public var stack: [InterfaceName] { StackLink.allCases.map(link) }

    /// `vrfc:v1:` + VRF: the alias (IFLA_IFALIAS) marking a link as vrfc's;
    /// the version lets a later format be told apart.
    public static let markerPrefix = "vrfc:v1:"
    public var marker: String { Self.markerPrefix + vrf.value }

    /// `rm_<vrf>_import|export` (IPv4), `rm6_…` (IPv6): a contract with base
    /// configs, which call them.
    public func routeMap(_ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "rm" : "rm6")_\(vrf)_\(direction.rawValue)"
    }

    /// `pl_<vrf>_<spec.seq>_import|export` (IPv4), `pl6_…` (IPv6): one list
    /// per CR, direction and family.
    public func prefixList(seq: Int, _ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "pl" : "pl6")_\(vrf)_\(seq)_\(direction.rawValue)"
    }

    /// Which way routes leak: `import` into the cluster VRF, `export` out of it.
    public enum Direction: String, Sendable, CaseIterable {
        case `import`, export
    }
}
