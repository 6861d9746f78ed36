import VRFCModel

// Routes and policy rules in the op list: the routes vrfc keeps in the
// kernel (a return-path table whose whole content vrfc owns, pod routes to
// other nodes in `main`) and the policy rules that send traffic into the
// owned tables. Like links, they are declarative: the applier compares them
// with the live kernel and changes only the difference.

/// How the kernel marks routes and rules as vrfc's: the route protocol
/// (rtm_protocol) and the rule protocol (FRA_PROTOCOL), so `ip route` and
/// `ip rule` show them as vrfc's (`proto vrfc` with
/// `/etc/iproute2/rt_protos.d/vrfc.conf`, else `proto 118`).
public enum RouteOwnership {
    /// 118 = 0x76, 'v'. Unused by the kernel's rtnetlink.h, iproute2's
    /// rt_protos and FRR's zebra (11, 186-198).
    public static let `protocol`: UInt8 = 118
    public static let protocolName = "vrfc"
    /// The kernel's `main` table: pod routes go there, marked by the protocol.
    public static let mainTable: UInt32 = 254
}

/// One path of a route: a gateway, a device, or both; or a device and the
/// IPv4 address of the neighbour whose link-local address is the gateway.
public struct Nexthop: Codable, Hashable, Sendable {
    /// Same family as the route's destination; nil for a device route.
    public var gateway: IPAddress?
    /// An IPv6 route's gateway known only on the node: the EUI-64 link-local
    /// address (fe80::/64) of the MAC that this IPv4 address has in the
    /// neighbour table of `device`. vrfc-apply resolves it when it plans.
    public var linkLocalOf: IPAddress?
    /// Required for a link-local IPv6 gateway, with `linkLocalOf` and for a route without gateway.
    public var device: InterfaceName?
    /// ECMP weight, 1...256 as `ip route ... nexthop ... weight N` writes it.
    /// A route with a single path has no weight in the kernel (it reads back as 1).
    public var weight: Int

    public static let weightRange: ClosedRange<Int> = 1...256

    public init(gateway: IPAddress?, device: InterfaceName? = nil, weight: Int = 1) {
        self.gateway = gateway
        self.device = device
        self.weight = weight
    }

    public init(linkLocalOf neighbour: IPAddress, device: InterfaceName?, weight: Int = 1) {
        linkLocalOf = neighbour
        self.device = device
        self.weight = weight
    }

    enum CodingKeys: String, CodingKey { case gateway, linkLocalOf, device, weight }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func address(_ key: CodingKeys) throws -> IPAddress? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let a = IPAddress(parsing: text[...]), a.description == text else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an address: \(text)")
            }
            return a
        }
        gateway = try address(.gateway)
        linkLocalOf = try address(.linkLocalOf)
        device = try c.decodeIfPresent(InterfaceName.self, forKey: .device)
        weight = try c.decode(Int.self, forKey: .weight)
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(gateway?.description, forKey: .gateway)
        try c.encodeIfPresent(linkLocalOf?.description, forKey: .linkLocalOf)
        try c.encodeIfPresent(device, forKey: .device)
        try c.encode(weight, forKey: .weight)
    }
}

/// A route vrfc keeps: `table`, `destination` (canonical prefix; `0.0.0.0/0`
/// and `::/0` are `default`), one or more paths (more than one is an ECMP
/// route), and the protocol marker, which must be vrfc's.
public struct RouteSpec: Codable, Hashable, Sendable {
    public var table: UInt32
    public var destination: IPPrefix
    public var nexthops: [Nexthop]
    public var `protocol`: UInt8

    public init(table: UInt32, destination: IPPrefix, nexthops: [Nexthop], protocol: UInt8 = RouteOwnership.protocol) {
        self.table = table
        self.destination = destination
        self.nexthops = nexthops
        self.protocol = `protocol`
    }

    public var family: AddressFamily { destination.family }
}

/// A policy rule vrfc keeps: `priority`, `family`, optional `from`/`to`
/// prefixes and fwmark (with its mask, default all ones), pointing at one of
/// the op list's owned tables. The kernel gets vrfc's rule protocol on it.
public struct RuleSpec: Codable, Hashable, Sendable {
    public var priority: UInt32
    public var family: AddressFamily
    public var from: IPPrefix?
    public var to: IPPrefix?
    public var fwmark: UInt32?
    /// Only with `fwmark`; nil means 0xFFFFFFFF (the whole mark).
    public var fwmask: UInt32?
    public var table: UInt32

    public init(
        priority: UInt32, family: AddressFamily, from: IPPrefix? = nil, to: IPPrefix? = nil,
        fwmark: UInt32? = nil, fwmask: UInt32? = nil, table: UInt32
    ) {
        self.priority = priority
        self.family = family
        self.from = from
        self.to = to
        self.fwmark = fwmark
        self.fwmask = fwmask
        self.table = table
    }

    /// The mask the kernel stores for this rule's fwmark (0 without one).
    public var effectiveMask: UInt32 { fwmark == nil ? 0 : fwmask ?? 0xFFFF_FFFF }
}

/// An owned table's name for iproute2: `TABLE NAME` in rt_tables.
public struct TableName: Codable, Hashable, Sendable {
    public var table: UInt32
    public var name: RouteTableName

    public init(table: UInt32, name: RouteTableName) {
        self.table = table
        self.name = name
    }
}

extension RouteSpec: CustomStringConvertible {
    /// `ip route` words, for messages and reports. Made in one buffer (a
    /// plan of a thousand new routes makes a thousand of these).
    public var description: String {
        var b: [UInt8] = []
        b.reserveCapacity(32 + 48 * nexthops.count)
        b += destination.length == 0 ? "default".utf8 : destination.text.utf8
        b += " table ".utf8
        b += String(table).utf8
        for n in nexthops {
            if nexthops.count > 1 { b += " nexthop".utf8 }
            if let g = n.gateway {
                b += " via ".utf8
                g.write(to: &b)
            }
            if let a = n.linkLocalOf {
                b += " via link-local of ".utf8
                a.write(to: &b)
            }
            if let d = n.device {
                b += " dev ".utf8
                b += d.value.utf8
            }
            if nexthops.count > 1 {
                b += " weight ".utf8
                b += String(n.weight).utf8
            }
        }
        return String(decoding: b, as: UTF8.self)
    }
}

extension RuleSpec: CustomStringConvertible {
    /// `ip rule` words, for messages and reports.
    public var description: String {
        var s = "\(priority): \(family == .ipv4 ? "-4" : "-6")"
        if let from { s += " from \(from)" }
        if let to { s += " to \(to)" }
        if let fwmark { s += " fwmark 0x\(String(fwmark, radix: 16))" + (fwmask.map { "/0x\(String($0, radix: 16))" } ?? "") }
        return s + " lookup \(table)"
    }
}

extension IPAddress {
    /// fe80::/10: usable as a gateway only together with its device.
    public var isIPv6LinkLocal: Bool {
        if case .v6(let a) = self { return a.high >> 54 == 0x3FA }
        return false
    }
}

extension OpList {
    /// Priority 0 is the kernel's `local` rule: a rule there would come
    /// before the node's own addresses are looked up.
    public static let rulePriorityRange: ClosedRange<UInt32> = 1...UInt32.max
    /// Paths per route: far above any node's BGP peers, far below anything
    /// that would strain a netlink message.
    public static let maxNexthops = 256

    /// Why an address cannot be a neighbour's in an IPv4 neighbour table, or nil.
    static func neighbourProblem(_ a: IPAddress) -> String? {
        guard case .v4(let v) = a else { return "is not an IPv4 address (the neighbour is looked up by its IPv4 address)" }
        let first = v.value >> 24
        if first == 0 || first == 127 || first >= 224 {
            return "is not a unicast address a neighbour can have (0/8, 127/8, multicast and 240/4 are not)"
        }
        return nil
    }

    /// Why a table cannot be one vrfc owns wholly, or nil.
    func ownedTableProblem(_ t: UInt32) -> String? {
        if t == 0 || t == UInt32.max { return "\(t) is not a usable table id (1...4294967294)" }
        if TableRange.kernelTables.contains(t) {
            return "\(t) is one of the kernel's own tables (253 default, 254 main, 255 local), which vrfc never owns"
        }
        if tableRange.contains(t) { return "\(t) is inside the VRF table range \(tableRange), where VRFs get their tables" }
        return nil
    }

    /// The route and rule half of `validate()`: the op list may come from a
    /// file anyone could have edited, so nothing here may reach a table vrfc
    /// does not own, carry another protocol, or be ambiguous.
    func routeProblems() -> [String] {
        var problems: [String] = []
        var owned: Set<UInt32> = []
        for t in ownedTables {
            if let why = ownedTableProblem(t) { problems.append("op list: ownedTables: \(why)") }
            if !owned.insert(t).inserted { problems.append("op list: ownedTables: \(t) is listed twice") }
        }

        var namedTables: Set<UInt32> = []
        var names: Set<String> = []
        for (i, n) in tableNames.enumerated() {
            let where_ = "op list: tableNames[\(i)] (\(n.table) \(n.name))"
            if !owned.contains(n.table) {
                problems.append("\(where_): table \(n.table) is not one of ownedTables; vrfc names only tables it owns")
            }
            if !namedTables.insert(n.table).inserted { problems.append("\(where_): table \(n.table) is named twice") }
            if !names.insert(n.name.value).inserted { problems.append("\(where_): the name \(n.name) is given to two tables") }
        }

        // Messages are built only for a problem (a thousand routes, none wrong, is the usual case).
        // One flat index, sized once (no Hasher per route).
        var routeKeys = RouteIndex(capacity: routes.count)
        for (i, r) in routes.enumerated() {
            var where_: String { "op list: routes[\(i)] (\(r.destination) table \(r.table))" }
            if r.protocol != RouteOwnership.protocol {
                problems.append(
                    "\(where_): protocol \(r.protocol) is not vrfc's (\(RouteOwnership.protocol)); vrfc marks every route it makes with it")
            }
            if !owned.contains(r.table) && r.table != RouteOwnership.mainTable {
                problems.append(
                    "\(where_): table \(r.table) is neither one of ownedTables (\(ownedTables.map(String.init).joined(separator: ", "))) nor main (254)"
                )
            }
            if let first = routeKeys.first(table: r.table, destination: r.destination) {
                // (a third one names the first too)
                problems.append(
                    "\(where_): the same destination and table as routes[\(first)]; give a destination one route with several nexthops")
            } else {
                routeKeys.insert(table: r.table, destination: r.destination, position: i)
            }
            if r.nexthops.isEmpty { problems.append("\(where_): needs at least one nexthop") }
            if r.nexthops.count > Self.maxNexthops {
                problems.append("\(where_): \(r.nexthops.count) nexthops, at most \(Self.maxNexthops)")
            }
            var seen: [Nexthop] = []
            for (j, n) in r.nexthops.enumerated() {
                var at: String { "\(where_): nexthops[\(j)]" }
                if n.gateway == nil && n.device == nil && n.linkLocalOf == nil {
                    problems.append("\(at): needs a gateway, a device or both")
                }
                if let a = n.linkLocalOf {
                    if n.gateway != nil { problems.append("\(at): has both gateway and linkLocalOf; give one of them") }
                    if r.family != .ipv6 {
                        problems.append("\(at): linkLocalOf gives an IPv6 gateway, and the destination is \(r.family.rawValue)")
                    }
                    if n.device == nil { problems.append("\(at): linkLocalOf \(a) needs its device (whose neighbour table holds the MAC)") }
                    if let why = Self.neighbourProblem(a) { problems.append("\(at): linkLocalOf \(a) \(why)") }
                }
                if let g = n.gateway {
                    if g.family != r.family {
                        problems.append("\(at): gateway \(g) is \(g.family.rawValue), the destination \(r.family.rawValue)")
                    }
                    if g.isIPv6LinkLocal && n.device == nil {
                        problems.append("\(at): the link-local gateway \(g) needs its device")
                    }
                }
                if !Nexthop.weightRange.contains(n.weight) {
                    problems.append(
                        "\(at): weight \(n.weight) is outside \(Nexthop.weightRange.lowerBound)...\(Nexthop.weightRange.upperBound)")
                }
                guard r.nexthops.count > 1 else { continue }  // (no array for the usual single path)
                var path = n
                path.weight = 1
                if seen.contains(path) { problems.append("\(at): the same path is listed twice") } else { seen.append(path) }
            }
        }

        var ruleKeys: Set<RuleSpec> = []
        for (i, r) in rules.enumerated() {
            var where_: String { "op list: rules[\(i)] (\(r))" }
            if !Self.rulePriorityRange.contains(r.priority) {
                problems.append("\(where_): priority 0 is the kernel's local rule; use 1 or more")
            }
            if !owned.contains(r.table) {
                problems.append("\(where_): table \(r.table) is not one of ownedTables; vrfc's rules point only at tables it owns")
            }
            for (field, p) in [("from", r.from), ("to", r.to)] {
                if let p, p.family != r.family {
                    problems.append("\(where_): \(field) \(p) is \(p.family.rawValue), the rule \(r.family.rawValue)")
                }
            }
            if r.fwmark == 0 && r.fwmask == nil {
                problems.append("\(where_): fwmark 0 without a fwmask is no fwmark to the kernel; leave it out or give the mask")
            }
            if let m = r.fwmask {
                if r.fwmark == nil { problems.append("\(where_): fwmask without fwmark") }
                if m == 0 { problems.append("\(where_): fwmask 0 matches every packet; leave fwmark out instead") }
            }
            if !ruleKeys.insert(r).inserted { problems.append("\(where_): listed twice") }
        }
        return problems
    }
}
