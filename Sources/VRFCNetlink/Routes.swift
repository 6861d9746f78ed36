import CNetlink
import Glibc
import VRFCModel

// Routes and policy rules: what the kernel reports (RTM_GETROUTE and
// RTM_GETRULE dumps, parsed into plain values) and the requests that change
// them, built with libnl-route's rtnl_route / rtnl_rule objects and sent
// many to a datagram through the socket's perform(batchOf:).

/// One path of a route as the kernel reports it.
public struct KernelNexthop: Hashable, Sendable {
    public var gateway: IPAddress?
    public var ifindex: Int32?
    /// `ip route`'s weight: rtnh_hops + 1; 1 for a single-path route.
    public var weight: Int

    public init(gateway: IPAddress?, ifindex: Int32?, weight: Int) {
        self.gateway = gateway
        self.ifindex = ifindex
        self.weight = weight
    }
}

/// One route as RTM_GETROUTE reports it.
public struct KernelRoute: Hashable, Sendable {
    public var family: AddressFamily
    public var table: UInt32
    public var destination: IPPrefix
    public var `protocol`: UInt8
    public var scope: UInt8
    /// RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, ...
    public var type: UInt8
    public var tos: UInt8
    /// RTA_PRIORITY, the metric (0 when absent).
    public var metric: UInt32
    public var nexthops: [KernelNexthop]
    /// Something vrfc never sets: a source prefix, a nexthop object id,
    /// RTA_VIA, encapsulation. Such a route never equals one vrfc wants.
    public var hasOtherAttributes: Bool

    /// The metric the kernel gives a route added without one.
    public static func defaultMetric(_ family: AddressFamily) -> UInt32 { family == .ipv6 ? 1024 : 0 }

    /// Parses an RTM_NEWROUTE message (rtmsg + attributes); nil for families
    /// other than IPv4/IPv6 and for cache entries.
    init?(payload: Bytes) {
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags (u32).
        guard let fam = payload.u8(at: 0), let dstLen = payload.u8(at: 1), let srcLen = payload.u8(at: 2),
            let tos = payload.u8(at: 3), let smallTable = payload.u8(at: 4), let proto = payload.u8(at: 5),
            let scope = payload.u8(at: 6), let type = payload.u8(at: 7), let flags = payload.u32(at: 8),
            let rest = payload.slice(from: MemoryLayout<rtmsg>.size)
        else { return nil }
        guard flags & UInt32(RTM_F_CLONED) == 0, let family = AddressFamily(af: fam) else { return nil }
        // The attributes in one pass (a dump of a thousand routes), each
        // type's first one, as `Attributes` would find it.
        var dstAttr: Bytes?
        var tableAttr: Bytes?
        var priority: Bytes?
        var gateway: Bytes?
        var oif: Bytes?
        var multipath: Bytes?
        var other = false
        Attributes(rest).forEach { type, value in
            switch UInt32(type) {
            case RTA_DST.rawValue: if dstAttr == nil { dstAttr = value }
            case RTA_TABLE.rawValue: if tableAttr == nil { tableAttr = value }
            case RTA_PRIORITY.rawValue: if priority == nil { priority = value }
            case RTA_GATEWAY.rawValue: if gateway == nil { gateway = value }
            case RTA_OIF.rawValue: if oif == nil { oif = value }
            case RTA_MULTIPATH.rawValue: if multipath == nil { multipath = value }
            case RTA_SRC.rawValue, RTA_NH_ID.rawValue, RTA_VIA.rawValue, RTA_ENCAP.rawValue: other = true
            default: break
            }
        }
        let dst = dstAttr.flatMap { ipAddress($0, family) } ?? (family == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)))
        guard Int(dstLen) <= family.maxLength else { return nil }
        self.family = family
        table = tableAttr?.u32() ?? UInt32(smallTable)
        destination = IPPrefix(canonical: dst, length: Int(dstLen))
        self.protocol = proto
        self.scope = scope
        self.type = type
        self.tos = tos
        metric = priority?.u32() ?? 0
        hasOtherAttributes = srcLen != 0 || other
        var hops: [KernelNexthop] = []
        if let mp = multipath {
            // struct rtnexthop: len u16, flags u8, hops u8, ifindex i32, then attributes.
            var off = 0
            while off + 8 <= mp.count, let len = mp.u16(at: off), Int(len) >= 8, off + Int(len) <= mp.count {
                let h = mp.u8(at: off + 3) ?? 0
                let idx = mp.i32(at: off + 4) ?? 0
                let attrs = mp.slice(from: off + 8, count: Int(len) - 8).map(Attributes.init)
                if attrs?[RTA_VIA.rawValue] != nil { hasOtherAttributes = true }
                hops.append(
                    KernelNexthop(
                        gateway: attrs?[RTA_GATEWAY.rawValue].flatMap { ipAddress($0, family) },
                        ifindex: idx == 0 ? nil : idx, weight: Int(h) + 1))
                off += align4(Int(len))
            }
        } else if gateway != nil || oif != nil {
            hops.append(KernelNexthop(gateway: gateway.flatMap { ipAddress($0, family) }, ifindex: oif?.i32(), weight: 1))
        }
        nexthops = hops
    }
}

/// One policy rule as RTM_GETRULE reports it.
public struct KernelRule: Hashable, Sendable {
    public var family: AddressFamily
    public var priority: UInt32
    public var table: UInt32
    /// FR_ACT_TO_TBL for `lookup TABLE`; others (goto, blackhole, ...) point at no table.
    public var action: UInt8
    public var from: IPPrefix?
    public var to: IPPrefix?
    public var fwmark: UInt32?
    public var fwmask: UInt32?
    public var `protocol`: UInt8
    public var iifname: String?
    public var oifname: String?
    /// Selectors vrfc never sets (tos, invert, uid range, ports, ip proto,
    /// l3mdev, goto, suppressors, realms, tunnel id): never one vrfc wants.
    public var hasOtherSelectors: Bool

    /// Whether this is a `lookup TABLE` rule into `table`.
    public func looksUp(_ t: UInt32) -> Bool { action == UInt8(FR_ACT_TO_TBL) && table == t }

    init?(payload: Bytes) {
        // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action (u8 each), flags (u32).
        guard let fam = payload.u8(at: 0), let dstLen = payload.u8(at: 1), let srcLen = payload.u8(at: 2),
            let tos = payload.u8(at: 3), let smallTable = payload.u8(at: 4), let action = payload.u8(at: 7),
            let flags = payload.u32(at: 8), let rest = payload.slice(from: MemoryLayout<fib_rule_hdr>.size)
        else { return nil }
        guard let family = AddressFamily(af: fam) else { return nil }
        let a = Attributes(rest)
        self.family = family
        priority = a[FRA_PRIORITY]?.u32() ?? 0
        table = a[FRA_TABLE]?.u32() ?? UInt32(smallTable)
        self.action = action
        func prefix(_ attr: Bytes?, _ len: UInt8) -> IPPrefix? {
            guard let attr, let addr = ipAddress(attr, family), Int(len) <= family.maxLength else { return nil }
            return IPPrefix(canonical: addr, length: Int(len))
        }
        from = prefix(a[FRA_SRC], srcLen)
        to = prefix(a[FRA_DST], dstLen)
        fwmark = a[FRA_FWMARK]?.u32()
        fwmask = a[FRA_FWMASK]?.u32()
        self.protocol = a[FRA_PROTOCOL]?.u8() ?? 0
        iifname = a[FRA_IIFNAME]?.string
        oifname = a[FRA_OIFNAME]?.string
        let suppressPrefix = a[FRA_SUPPRESS_PREFIXLEN]?.i32() ?? -1
        let suppressGroup = a[FRA_SUPPRESS_IFGROUP]?.i32() ?? -1
        hasOtherSelectors =
            tos != 0 || flags & UInt32(FIB_RULE_INVERT) != 0 || a[FRA_UID_RANGE] != nil
            || a[FRA_SPORT_RANGE] != nil || a[FRA_DPORT_RANGE] != nil || a[FRA_IP_PROTO] != nil
            || (a[FRA_L3MDEV]?.u8() ?? 0) != 0 || a[FRA_GOTO] != nil || a[FRA_FLOW] != nil
            || (a[FRA_TUN_ID] != nil) || suppressPrefix != -1 || suppressGroup != -1
            || iifname != nil || oifname != nil
    }
}

/// An address attribute of the given family (network byte order), read in place.
func ipAddress(_ b: Bytes, _ family: AddressFamily) -> IPAddress? {
    switch family {
    case .ipv4:
        guard b.count == 4, let v = b.u32() else { return nil }
        return .v4(IPv4Address(UInt32(bigEndian: v)))
    case .ipv6:
        guard b.count == 16, let h = b.u64(at: 0), let l = b.u64(at: 8) else { return nil }
        return .v6(IPv6Address(high: UInt64(bigEndian: h), low: UInt64(bigEndian: l)))
    }
}

extension AddressFamily {
    var af: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }

    /// The family of a route or rule message; nil for families other than IPv4/IPv6.
    init?(af: UInt8) {
        switch Int32(af) {
        case AF_INET: self = .ipv4
        case AF_INET6: self = .ipv6
        default: return nil
        }
    }
}

/// An address as libnl's nl_addr (a new reference the caller puts).
func nlAddress(_ a: IPAddress, prefixLength: Int? = nil) -> OpaquePointer? {
    // Network byte order, from the stack (libnl copies it).
    var bytes: (UInt64, UInt64)
    let count: Int
    switch a {
    case .v4(let v): (bytes, count) = ((UInt64(v.value.bigEndian), 0), 4)
    case .v6(let v): (bytes, count) = ((v.high.bigEndian, v.low.bigEndian), 16)
    }
    guard let addr = withUnsafeMutableBytes(of: &bytes, { nl_addr_build(a.family.af, $0.baseAddress, count) }) else { return nil }
    nl_addr_set_prefixlen(addr, Int32(prefixLength ?? a.family.maxLength))
    return addr
}

/// A route to add, replace or delete, with every value resolved (device ifindexes).
public struct RouteRequest: Sendable, Hashable {
    /// A path to set is the same value as a path the kernel reports.
    public typealias Hop = KernelNexthop

    public var table: UInt32
    public var destination: IPPrefix
    public var `protocol`: UInt8
    /// For deletions: the live route's metric, scope, type and tos, so the
    /// request names exactly that route. Additions leave them to the kernel
    /// (metric default, scope from the nexthops, unicast).
    public var metric: UInt32?
    public var scope: UInt8?
    public var type: UInt8?
    public var tos: UInt8?
    public var hops: [Hop]

    public init(
        table: UInt32, destination: IPPrefix, protocol: UInt8, hops: [Hop], metric: UInt32? = nil,
        scope: UInt8? = nil, type: UInt8? = nil, tos: UInt8? = nil
    ) {
        self.table = table
        self.destination = destination
        self.protocol = `protocol`
        self.hops = hops
        self.metric = metric
        self.scope = scope
        self.type = type
        self.tos = tos
    }

    /// The rtnl_route object (the caller puts it).
    func object(_ op: String) throws(NetlinkError) -> OpaquePointer {
        guard let r = rtnl_route_alloc() else { throw NetlinkError(op, code: ENOMEM) }
        let family = destination.family
        _ = rtnl_route_set_family(r, UInt8(family.af))
        rtnl_route_set_table(r, table)
        guard let dst = nlAddress(destination.address, prefixLength: destination.length) else {
            rtnl_route_put(r)
            throw NetlinkError(op, code: ENOMEM)
        }
        _ = rtnl_route_set_dst(r, dst)
        nl_addr_put(dst)
        rtnl_route_set_protocol(r, `protocol`)
        _ = rtnl_route_set_type(r, type ?? UInt8(RTN_UNICAST))
        if let metric { rtnl_route_set_priority(r, metric) }
        if let scope { rtnl_route_set_scope(r, scope) }
        if let tos { rtnl_route_set_tos(r, tos) }
        for h in hops {
            guard let nh = rtnl_route_nh_alloc() else {
                rtnl_route_put(r)
                throw NetlinkError(op, code: ENOMEM)
            }
            if let g = h.gateway, let ga = nlAddress(g) {
                rtnl_route_nh_set_gateway(nh, ga)
                nl_addr_put(ga)
            }
            if let i = h.ifindex { rtnl_route_nh_set_ifindex(nh, i) }
            // libnl's weight is the kernel's rtnh_hops: `ip route`'s weight minus one.
            rtnl_route_nh_set_weight(nh, UInt8(clamping: h.weight - 1))
            rtnl_route_add_nexthop(r, nh)  // the route owns it now
        }
        return r
    }
}

extension RouteRequest {
    /// libnl builds a request in a message of its default size (a page)
    /// and never grows it, but 256 IPv6 nexthops take about 7 KB (28 bytes
    /// each). For a route that may not fit, the default is raised while its
    /// request is built and set back after, so other requests stay a page.
    func withRoom(_ build: () -> Int32) -> Int32 {
        let page = Int(getpagesize())
        // The fixed part (headers, destination, table, protocol, metric) is
        // under 128 bytes; a nexthop at most 8 (rtnexthop) + 20 (IPv6 gateway).
        let bytes = 256 + hops.count * 32
        guard bytes > page else { return build() }
        nlmsg_set_default_size(bytes)
        defer { nlmsg_set_default_size(page) }
        return build()
    }
}

/// A policy rule to add or delete.
public struct RuleRequest: Sendable, Hashable {
    public var family: AddressFamily
    public var priority: UInt32
    public var table: UInt32
    public var from: IPPrefix?
    public var to: IPPrefix?
    public var fwmark: UInt32?
    public var fwmask: UInt32?
    /// vrfc's marker on additions; on deletions the live rule's own (0 is
    /// "any" to the kernel).
    public var `protocol`: UInt8
    public var iifname: String?
    public var oifname: String?
    public var action: UInt8

    public init(
        family: AddressFamily, priority: UInt32, table: UInt32, from: IPPrefix? = nil, to: IPPrefix? = nil,
        fwmark: UInt32? = nil, fwmask: UInt32? = nil, protocol: UInt8, iifname: String? = nil, oifname: String? = nil,
        action: UInt8 = UInt8(FR_ACT_TO_TBL)
    ) {
        self.family = family
        self.priority = priority
        self.table = table
        self.from = from
        self.to = to
        self.fwmark = fwmark
        self.fwmask = fwmask
        self.protocol = `protocol`
        self.iifname = iifname
        self.oifname = oifname
        self.action = action
    }

    /// The live rule, as a request that names it (for deleting it).
    public init(_ k: KernelRule) {
        self.init(
            family: k.family, priority: k.priority, table: k.table, from: k.from, to: k.to, fwmark: k.fwmark,
            fwmask: k.fwmark == nil ? nil : k.fwmask, protocol: k.protocol, iifname: k.iifname, oifname: k.oifname,
            action: k.action)
    }

    func object(_ op: String) throws(NetlinkError) -> OpaquePointer {
        guard let r = rtnl_rule_alloc() else { throw NetlinkError(op, code: ENOMEM) }
        rtnl_rule_set_family(r, family.af)
        rtnl_rule_set_prio(r, priority)
        rtnl_rule_set_action(r, action)
        if action == UInt8(FR_ACT_TO_TBL) { rtnl_rule_set_table(r, table) }
        for (p, set) in [(from, rtnl_rule_set_src), (to, rtnl_rule_set_dst)] as [(IPPrefix?, (OpaquePointer?, OpaquePointer?) -> Int32)] {
            guard let p else { continue }
            guard let a = nlAddress(p.address, prefixLength: p.length) else {
                rtnl_rule_put(r)
                throw NetlinkError(op, code: ENOMEM)
            }
            _ = set(r, a)
            nl_addr_put(a)
        }
        if let fwmark { rtnl_rule_set_mark(r, fwmark) }
        if let fwmask { rtnl_rule_set_mask(r, fwmask) }
        if `protocol` != 0 { _ = rtnl_rule_set_protocol(r, `protocol`) }
        if let iifname { _ = rtnl_rule_set_iif(r, iifname) }
        if let oifname { _ = rtnl_rule_set_oif(r, oifname) }
        return r
    }
}

extension NetlinkSocket {
    /// Every IPv4 and IPv6 route in every table, in one dump (IPv6
    /// multipath routes come as one message with all their paths).
    public func routes() throws(NetlinkError) -> [KernelRoute] {
        try dump(Request("listing routes", type: RTM_GETROUTE, header: rtmsg())).compactMap { KernelRoute(payload: $0) }
    }

    /// The routes of one family in one table and/or with one protocol,
    /// filtered by the kernel (strict checking: rtm_protocol and RTA_TABLE
    /// in the request), so a node whose other tables are large (a VRF with
    /// a full BGP table) is not read whole. A table that does not exist has
    /// no routes. Filtered here too: a kernel without strict checking
    /// (before 4.20) ignores the filter and sends everything.
    public func routes(family: AddressFamily, table: UInt32? = nil, protocol: UInt8? = nil) throws(NetlinkError) -> [KernelRoute] {
        var h = rtmsg()
        h.rtm_family = UInt8(family.af)
        h.rtm_protocol = `protocol` ?? 0
        var what = "listing \(family.rawValue) routes"
        if let table { what += " of table \(table)" }
        if let `protocol` { what += " with protocol \(`protocol`)" }
        let request = try Request(what, type: RTM_GETROUTE, header: h)
        if let table { try request.put(RTA_TABLE.rawValue, u32: table) }
        let parts: [Bytes]
        do {
            parts = try dump(request, strict: true)
        } catch  where error.code == ENOENT && table != nil {
            return []  // "FIB table does not exist"
        }
        return parts.compactMap { p in
            guard let r = KernelRoute(payload: p), r.family == family, table.map({ r.table == $0 }) ?? true,
                `protocol`.map({ r.protocol == $0 }) ?? true
            else { return nil }
            return r
        }
    }

    /// Every IPv4 and IPv6 policy rule, and the tables that rules of any
    /// family point at (a table in use by a rule is not free for a VRF), in one dump.
    public func rulesAndTables() throws(NetlinkError) -> ([KernelRule], Set<UInt32>) {
        let parts = try dump(Request("listing policy rules", type: RTM_GETRULE, header: fib_rule_hdr()))
        return (parts.compactMap { KernelRule(payload: $0) }, Set(parts.compactMap { ruleTable(payload: $0) }))
    }
}

/// A route or rule change, for `NetlinkSocket.change(_:)`.
public struct RoutingChange: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// RTM_NEWROUTE with NLM_F_EXCL (a route already there is an error),
        /// or with NLM_F_REPLACE (the one route of that table, destination,
        /// tos and metric becomes this one in one step: no moment without a route).
        case addRoute(RouteRequest, replace: Bool)
        /// RTM_DELROUTE; a route already gone counts as deleted.
        case deleteRoute(RouteRequest)
        /// RTM_NEWRULE with NLM_F_EXCL.
        case addRule(RuleRequest)
        /// RTM_DELRULE; a rule already gone counts as deleted.
        case deleteRule(RuleRequest)
    }

    public var action: Action
    /// What it does in words, for errors ("adding route ...").
    public var operation: String

    public init(_ action: Action, _ operation: String) {
        self.action = action
        self.operation = operation
    }

    /// The message, built by libnl's rtnl_route / rtnl_rule.
    func request() throws(NetlinkError) -> Request {
        let op = operation
        switch action {
        case .addRoute(let r, let replace):
            let obj = try r.object(op)
            defer { rtnl_route_put(obj) }
            return try Request(op) { m in
                r.withRoom { rtnl_route_build_add_request(obj, replace ? NLM_F_REPLACE : NLM_F_EXCL, &m) }
            }
        case .deleteRoute(let r):
            let obj = try r.object(op)
            defer { rtnl_route_put(obj) }
            return try Request(op) { m in r.withRoom { rtnl_route_build_del_request(obj, 0, &m) } }
        case .addRule(let r):
            let obj = try r.object(op)
            defer { rtnl_rule_put(obj) }
            return try Request(op) { rtnl_rule_build_add_request(obj, NLM_F_EXCL, &$0) }
        case .deleteRule(let r):
            let obj = try r.object(op)
            defer { rtnl_rule_put(obj) }
            return try Request(op) { rtnl_rule_build_delete_request(obj, 0, &$0) }
        }
    }

    /// A deletion the kernel answers with "not there": done already, so a
    /// rerun after a crash converges.
    func isGone(_ e: NetlinkError) -> Bool {
        switch action {
        case .deleteRoute: e.code == ESRCH || e.code == ENOENT
        case .deleteRule: e.code == ENOENT
        case .addRoute, .addRule: false
        }
    }
}

extension NetlinkSocket {
    /// Makes the changes, in order, in as few datagrams as `batchLimits`
    /// allow (one send and one receive per datagram when all are done), and
    /// returns each one's refusal with the kernel's extended-ack text (nil:
    /// done). Every change is tried, also after a refusal: callers batch
    /// only changes that do not depend on each other. Throws only when the
    /// kernel's answers cannot be read.
    public func change(_ changes: [RoutingChange]) throws(NetlinkError) -> [NetlinkError?] {
        var results = try perform(batchOf: changes.count) { i throws(NetlinkError) in try changes[i].request() }
        for i in results.indices {
            if let e = results[i], changes[i].isGone(e) { results[i] = nil }
        }
        return results
    }
}

extension Request {
    /// A message an rtnl_*_build_*_request fills in (`perform` adds the
    /// ack flag); libnl's error, if any, as a NetlinkError.
    convenience init(_ op: String, building build: (inout OpaquePointer?) -> Int32) throws(NetlinkError) {
        var msg: OpaquePointer?
        let rc = build(&msg)
        guard rc == 0, let msg else {
            throw NetlinkError(op, code: nil, detail: "building the request: " + String(cString: nl_geterror(rc)))
        }
        self.init(taking: msg, op)
    }
}
