import VRFCModel
import VRFCYAML

/// `returnPath:` in the node config: MetalLB's return path through the BGP
/// peers (README "Return-path routing").
public struct ReturnPathConfig: Sendable, Equatable {
    public static let keys = ["table", "tableName", "destination", "rulePriority", "fwmark", "peerWeight", "pools", "connectedNetworks"]
    public static let defaultRulePriority: UInt32 = 20
    /// Before the kernel's `main` rule (32766); 0 is its `local` rule.
    public static let rulePriorityRange: ClosedRange<UInt64> = 1...32765
    public static let defaultPeerWeight = 100
    /// The kernel's nexthop weights (rtnh_hops + 1).
    public static let peerWeightRange: ClosedRange<UInt64> = 1...256

    public var table: UInt32
    public var tableLocation: SourceLocation
    public var tableName: RouteTableName?
    /// nil: `default` (0.0.0.0/0 and ::/0).
    public var destination: IPPrefix?
    public var rulePriority: UInt32 = ReturnPathConfig.defaultRulePriority
    public var fwmark: UInt32?
    public var peerWeight: Int = ReturnPathConfig.defaultPeerWeight
    /// nil: every pool announced over BGP from this node.
    public var pools: [(name: String, location: SourceLocation)]?
    /// nil: not checked.
    public var connectedNetworks: [IPPrefix]?
    public var location: SourceLocation

    public static func == (l: Self, r: Self) -> Bool {
        (l.table, l.tableName, l.destination, l.rulePriority) == (r.table, r.tableName, r.destination, r.rulePriority)
            && (l.fwmark, l.peerWeight, l.connectedNetworks) == (r.fwmark, r.peerWeight, r.connectedNetworks)
            && l.pools?.map(\.name) == r.pools?.map(\.name)
    }

    static func read(_ f: Field) -> ReturnPathConfig? {
        guard let m = f.mapping(allowed: keys) else { return nil }
        let errorsBefore = f.sink.items.count
        guard let tableField = m["table"] else {
            f.error(
                "missing required field 'table'",
                fix: "give the routing table vrfc owns wholly, e.g. table: 200 (outside the VRF table range, not 253-255)")
            return nil
        }
        let table = tableField.integer(in: 1...4_294_967_294).map(UInt32.init)
        var config = ReturnPathConfig(table: table ?? 0, tableLocation: tableField.location, location: f.location)
        if let n = m["tableName"], !n.isNull { config.tableName = n.validated(RouteTableName.init(validating:)) }
        if let d = m["destination"], !d.isNull, let text = d.string() {
            if text != "default", let p = d.report(ScalarRules.prefix(text)) { config.destination = p }
        }
        if let p = m["rulePriority"], let v = p.integer(in: rulePriorityRange) { config.rulePriority = UInt32(v) }
        if let mark = m["fwmark"], !mark.isNull { config.fwmark = readMark(mark) }
        if let w = m["peerWeight"], let v = w.integer(in: peerWeightRange) { config.peerWeight = Int(v) }
        if let p = m["pools"], !p.isNull {
            var names: [(String, SourceLocation)] = []
            for e in p.sequence() ?? [] {
                guard let n = e.validated(ObjectName.init(validating:)) else { continue }
                if names.contains(where: { $0.0 == n.value }) {
                    e.error("pool '\(n)' is listed twice", fix: "list it once")
                } else {
                    names.append((n.value, e.location))
                }
            }
            config.pools = names
        }
        if let c = m["connectedNetworks"], !c.isNull { config.connectedNetworks = (c.sequence() ?? []).compactMap { $0.prefix() } }
        guard f.sink.items.count == errorsBefore else { return nil }
        return config
    }

    /// A fwmark as `ip rule` prints it (`0x14`), or decimal; 1..0xffffffff.
    static func readMark(_ f: Field) -> UInt32? {
        guard case .scalar(let s) = f.node, s.style == .plain, s.text.hasPrefix("0x") || s.text.hasPrefix("0X") else {
            return f.integer(in: 1...0xFFFF_FFFF).map(UInt32.init)
        }
        let digits = s.text.dropFirst(2)
        guard (1...8).contains(digits.count), let v = UInt32(digits, radix: 16) else {
            f.error("\(quoted(s.text)) is not a fwmark", fix: "write 1 to 8 hex digits after 0x (e.g. 0x14), or a decimal number")
            return nil
        }
        guard v != 0 else {
            f.error(
                "fwmark 0 matches unmarked packets, which is every packet here", fix: "use a mark in 0x1..0xffffffff, or leave fwmark out")
            return nil
        }
        return v
    }
}

/// `podRoutes:` in the node config: routes to the other nodes' pod CIDRs and
/// the CNI configuration for this node's own (README "Pod routes").
public struct PodRoutesConfig: Sendable, Equatable {
    public static let keys = ["interface", "ipv6Prefix", "cniNetwork", "cniBridge"]
    public static let defaultCNINetwork = "vrfc-pods"
    public static let defaultCNIBridge = try! InterfaceName(validating: "cbr0")

    /// The interface the other nodes are reached on.
    public var interface: InterfaceName
    /// An IPv6 node address for a node without an IPv6 InternalIP: this
    /// prefix with the node's IPv4 address in its last 32 bits. Without it,
    /// such a node is reached at its link-local address (vrfc-apply finds
    /// its MAC in the neighbour table).
    public var ipv6Prefix: IPPrefix?
    public var cniNetwork: String = PodRoutesConfig.defaultCNINetwork
    public var cniBridge: InterfaceName = PodRoutesConfig.defaultCNIBridge
    public var location: SourceLocation

    static func read(_ f: Field) -> PodRoutesConfig? {
        guard let m = f.mapping(allowed: keys) else { return nil }
        let errorsBefore = f.sink.items.count
        guard let i = m["interface"] else {
            f.error("missing required field 'interface'", fix: "name the interface the other nodes are reached on, e.g. interface: eth1")
            return nil
        }
        let interface = i.validated(InterfaceName.init(validating:))
        var prefix: IPPrefix? = nil
        if let p = m["ipv6Prefix"], !p.isNull, let v = p.prefix() {
            if v.family != .ipv6 {
                p.error("\(v) is not an IPv6 prefix", fix: "write an IPv6 prefix of length 96 or less, e.g. 2001:db8:1::/96")
            } else if v.length > 96 {
                p.error(
                    "\(v) leaves fewer than 32 bits for the node's IPv4 address",
                    fix: "use a prefix of length 96 or less, e.g. 2001:db8:1::/96")
            } else {
                prefix = v
            }
        }
        var config = PodRoutesConfig(interface: interface ?? PodRoutesConfig.defaultCNIBridge, ipv6Prefix: prefix, location: f.location)
        if let n = m["cniNetwork"], let name = n.validated(ObjectName.init(validating:)) { config.cniNetwork = name.value }
        if let b = m["cniBridge"], let name = b.validated(InterfaceName.init(validating:)) { config.cniBridge = name }
        guard f.sink.items.count == errorsBefore, interface != nil else { return nil }
        return config
    }
}
