// Routes and policy rules in the IR: MetalLB's return path (one table vrfc
// owns wholly, an ECMP route in it through the node's BGP peers, a rule per
// announced pool) and pod routes (a route in `main` to every other node's
// pod CIDRs). Validated and sorted like the rest of the IR, and each value
// says which input object it came from, so reviews can name it.

/// Why a route or rule exists.
public enum RoutePurpose: String, Codable, Hashable, Sendable {
    /// Replies from LoadBalancer addresses leave through the BGP peers.
    case returnPath
    /// Another node's pod CIDR, via that node's address.
    case podRoute
}

/// A routing table vrfc owns wholly: every route in it and every rule
/// pointing at it is vrfc's; anything else found there is an imposter.
public struct OwnedTable: Codable, Hashable, Sendable {
    public var id: UInt32
    /// Its name in `/etc/iproute2/rt_tables`, if the node config gives one.
    public var name: RouteTableName?

    public init(id: UInt32, name: RouteTableName? = nil) {
        self.id = id
        self.name = name
    }
}

/// One path of a route.
public struct RouteNexthop: Codable, Hashable, Sendable {
    /// Same family as the route's destination; nil with `linkLocalOf`.
    public var gateway: IPAddress?
    /// An IPv6 path through a node known only by its IPv4 address: the
    /// gateway is that node's EUI-64 link-local address, made from the MAC
    /// in the neighbour table on `device` at apply time (the compiler cannot
    /// know it). Set instead of `gateway`, always with `device`.
    public var linkLocalOf: IPAddress?
    public var device: InterfaceName?
    /// ECMP weight, 1...256.
    public var weight: Int
    /// The object that gave this path (`BGPPeer "x"`, `Node "y"`).
    public var source: String

    public init(gateway: IPAddress, device: InterfaceName? = nil, weight: Int = 1, source: String) {
        self.gateway = gateway
        self.device = device
        self.weight = weight
        self.source = source
    }

    public init(linkLocalOf neighbour: IPAddress, device: InterfaceName, weight: Int = 1, source: String) {
        linkLocalOf = neighbour
        self.device = device
        self.weight = weight
        self.source = source
    }

    enum CodingKeys: String, CodingKey { case gateway, linkLocalOf, device, weight, source }

    // Addresses are their canonical text, re-validated when read.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func address(_ key: CodingKeys) throws -> IPAddress? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let a = IPAddress(parsing: text[...]), a.description == text else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a canonical address: \(text)")
            }
            return a
        }
        gateway = try address(.gateway)
        linkLocalOf = try address(.linkLocalOf)
        guard (gateway == nil) != (linkLocalOf == nil) else {
            throw DecodingError.dataCorruptedError(
                forKey: .gateway, in: c, debugDescription: "a nexthop has either a gateway or linkLocalOf")
        }
        device = try c.decodeIfPresent(InterfaceName.self, forKey: .device)
        weight = try c.decode(Int.self, forKey: .weight)
        source = try c.decode(String.self, forKey: .source)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(gateway?.description, forKey: .gateway)
        try c.encodeIfPresent(linkLocalOf?.description, forKey: .linkLocalOf)
        try c.encodeIfPresent(device, forKey: .device)
        try c.encode(weight, forKey: .weight)
        try c.encode(source, forKey: .source)
    }
}

public struct NodeRoute: Codable, Hashable, Sendable {
    public var purpose: RoutePurpose
    public var table: UInt32
    public var destination: IPPrefix
    /// Sorted by gateway; more than one is an ECMP route.
    public var nexthops: [RouteNexthop]

    public init(purpose: RoutePurpose, table: UInt32, destination: IPPrefix, nexthops: [RouteNexthop]) {
        self.purpose = purpose
        self.table = table
        self.destination = destination
        self.nexthops = nexthops
    }

    public var family: AddressFamily { destination.family }

    /// The IR's sort key: table, family, destination.
    public static func ordered(_ l: NodeRoute, _ r: NodeRoute) -> Bool {
        (l.table, l.destination) < (r.table, r.destination)
    }
}

/// `from <from> [fwmark <fwmark>] lookup <table>` at `priority`.
public struct PolicyRule: Codable, Hashable, Sendable {
    public var priority: UInt32
    public var from: IPPrefix
    public var fwmark: UInt32?
    public var table: UInt32
    /// The object that gave it (`IPAddressPool "x"`).
    public var source: String

    public init(priority: UInt32, from: IPPrefix, fwmark: UInt32? = nil, table: UInt32, source: String) {
        self.priority = priority
        self.from = from
        self.fwmark = fwmark
        self.table = table
        self.source = source
    }

    public var family: AddressFamily { from.family }

    public static func ordered(_ l: PolicyRule, _ r: PolicyRule) -> Bool {
        (l.priority, l.from, l.table) < (r.priority, r.from, r.table)
    }
}

/// The node's own pod network, for its CNI configuration: a bridge with
/// host-local IPAM over exactly the ranges Kubernetes assigned the node.
public struct PodNetwork: Codable, Hashable, Sendable {
    /// The CNI network name.
    public var name: String
    public var bridge: InterfaceName
    /// This node's `spec.podCIDRs`, IPv4 first.
    public var podCIDRs: [IPPrefix]

    public init(name: String, bridge: InterfaceName, podCIDRs: [IPPrefix]) {
        self.name = name
        self.bridge = bridge
        self.podCIDRs = podCIDRs
    }
}

/// The node's routes and rules.
public struct RoutingIR: Codable, Hashable, Sendable {
    public var ownedTables: [OwnedTable]
    /// Sorted with `NodeRoute.ordered`.
    public var routes: [NodeRoute]
    /// Sorted with `PolicyRule.ordered`.
    public var rules: [PolicyRule]
    /// With pod routes: this node's own pod network.
    public var podNetwork: PodNetwork?

    public init(ownedTables: [OwnedTable] = [], routes: [NodeRoute] = [], rules: [PolicyRule] = [], podNetwork: PodNetwork? = nil) {
        self.ownedTables = ownedTables
        self.routes = routes
        self.rules = rules
        self.podNetwork = podNetwork
    }
}

/// A name for a routing table in `/etc/iproute2/rt_tables`: what `ip`
/// accepts there, and never a number or one of the kernel's own names.
public struct RouteTableName: Hashable, Sendable, CustomStringConvertible, ValidatedString {
    public let value: String
    public static let reserved: Set<String> = ["local", "main", "default", "unspec", "all"]
    public static let rule =
        "1 to 31 characters from A-Z, a-z, 0-9, '_', '-' and '.', starting with a letter, and not local, main, default, unspec or all"

    public init(validating s: String) throws(NameError) {
        let u = Array(s.utf8)
        guard (1...31).contains(u.count), let first = u.first, Self.isLetter(first),
            u.allSatisfy({ Self.isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }),
            !Self.reserved.contains(s)
        else { throw NameError(expected: Self.rule) }
        value = s
    }

    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }

    public var description: String { value }
}
