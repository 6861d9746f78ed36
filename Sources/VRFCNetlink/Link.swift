import CNetlink
import Glibc

// What the kernel says about links, addresses and rules, as plain values.
// Field names follow iproute2 (`ip -d link`) where there is one.

public struct MACAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    public var description: String {
        bytes.map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined(separator: ":")
    }
}

/// IFLA_BRPORT_* flags of a bridge port (`ip -d link`: hairpin, learning, neigh_suppress).
public struct BridgePortFlags: Hashable, Sendable, Codable {
    public var hairpin: Bool
    public var learning: Bool
    public var neighSuppress: Bool

    public init(hairpin: Bool, learning: Bool, neighSuppress: Bool) {
        self.hairpin = hairpin
        self.learning = learning
        self.neighSuppress = neighSuppress
    }
}

/// IFLA_VXLAN_* of a VXLAN link (`ip -d link`: id, local, dev, dstport, learning).
public struct VXLANInfo: Hashable, Sendable {
    public var vni: UInt32
    /// IPv4 (4 bytes) or IPv6 (16 bytes) local address; nil when unset.
    public var local: [UInt8]?
    /// The lower device (IFLA_VXLAN_LINK); nil when unset.
    public var linkIndex: Int32?
    public var port: UInt16
    public var learning: Bool

    public init(vni: UInt32, local: [UInt8]?, linkIndex: Int32?, port: UInt16, learning: Bool) {
        self.vni = vni
        self.local = local
        self.linkIndex = linkIndex
        self.port = port
        self.learning = learning
    }
}

/// One link as RTM_GETLINK reports it.
public struct Link: Hashable, Sendable {
    public var index: Int32
    public var name: String
    /// IFLA_INFO_KIND: "vrf", "bridge", "vxlan", "veth", ...; nil for physical links.
    public var kind: String?
    public var flags: UInt32
    public var mtu: UInt32
    public var mac: MACAddress?
    public var masterIndex: Int32?
    /// IFLA_LINK: for a veth, its peer's ifindex.
    public var linkIndex: Int32?
    /// IFLA_LINK_NETNSID is present: IFLA_LINK names a link in another namespace.
    public var linkInOtherNamespace: Bool
    /// IFLA_IFALIAS (`ip link set X alias ...`).
    public var alias: String?
    public var vrfTable: UInt32?
    public var vxlan: VXLANInfo?
    /// IFLA_INET6_ADDR_GEN_MODE; nil when the link has no IPv6 state.
    public var addrGenMode: UInt8?
    /// IFLA_INFO_SLAVE_KIND: "bridge", "vrf", ... when the link has a master.
    public var slaveKind: String?
    /// Present when the link is a bridge port.
    public var bridgePort: BridgePortFlags?
    /// IFLA_GROUP, the device group (`ip link set X group N`); 0 by default.
    public var group: UInt32 = 0

    public var isUp: Bool { flags & UInt32(IFF_UP.rawValue) != 0 }

    public init(
        index: Int32, name: String, kind: String? = nil, flags: UInt32 = 0, mtu: UInt32 = 1500,
        mac: MACAddress? = nil, masterIndex: Int32? = nil, linkIndex: Int32? = nil,
        linkInOtherNamespace: Bool = false, alias: String? = nil, vrfTable: UInt32? = nil,
        vxlan: VXLANInfo? = nil, addrGenMode: UInt8? = nil, slaveKind: String? = nil,
        bridgePort: BridgePortFlags? = nil
    ) {
        self.index = index
        self.name = name
        self.kind = kind
        self.flags = flags
        self.mtu = mtu
        self.mac = mac
        self.masterIndex = masterIndex
        self.linkIndex = linkIndex
        self.linkInOtherNamespace = linkInOtherNamespace
        self.alias = alias
        self.vrfTable = vrfTable
        self.vxlan = vxlan
        self.addrGenMode = addrGenMode
        self.slaveKind = slaveKind
        self.bridgePort = bridgePort
    }

    /// Parses an RTM_NEWLINK message (ifinfomsg + attributes).
    init?(payload: Bytes) {
        // struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32.
        guard let index = payload.i32(at: 4), let flags = payload.u32(at: 8),
            let rest = payload.slice(from: MemoryLayout<ifinfomsg>.size)
        else { return nil }
        let a = Attributes(rest)
        guard let name = a[IFLA_IFNAME]?.string else { return nil }
        self.init(index: index, name: name, flags: flags, mtu: a[IFLA_MTU]?.u32() ?? 0)
        if let addr = a[IFLA_ADDRESS] { mac = MACAddress(addr.array) }
        if let m = a[IFLA_MASTER]?.i32(), m != 0 { masterIndex = m }
        if let l = a[IFLA_LINK]?.i32(), l != 0, l != index { linkIndex = l }
        linkInOtherNamespace = a[IFLA_LINK_NETNSID] != nil
        if let s = a[IFLA_IFALIAS]?.string, !s.isEmpty { alias = s }
        group = a[IFLA_GROUP]?.u32() ?? 0
        if let info = a.nested(IFLA_LINKINFO) {
            kind = info[IFLA_INFO_KIND]?.string
            slaveKind = info[IFLA_INFO_SLAVE_KIND]?.string
            if let data = info.nested(IFLA_INFO_DATA) {
                switch kind {
                case "vrf":
                    vrfTable = data[IFLA_VRF_TABLE]?.u32()
                case "vxlan":
                    vxlan = VXLANInfo(
                        vni: data[IFLA_VXLAN_ID]?.u32() ?? 0,
                        local: (data[IFLA_VXLAN_LOCAL] ?? data[IFLA_VXLAN_LOCAL6])?.array,
                        linkIndex: data[IFLA_VXLAN_LINK]?.i32().flatMap { $0 == 0 ? nil : $0 },
                        port: data[IFLA_VXLAN_PORT]?.be16() ?? 0,
                        learning: (data[IFLA_VXLAN_LEARNING]?.u8() ?? 0) != 0)
                default:
                    break
                }
            }
            if slaveKind == "bridge", let port = info.nested(IFLA_INFO_SLAVE_DATA) {
                bridgePort = BridgePortFlags(
                    hairpin: (port[IFLA_BRPORT_MODE]?.u8() ?? 0) != 0,
                    learning: (port[IFLA_BRPORT_LEARNING]?.u8() ?? 0) != 0,
                    neighSuppress: (port[IFLA_BRPORT_NEIGH_SUPPRESS]?.u8() ?? 0) != 0)
            }
        }
        if let inet6 = a.nested(IFLA_AF_SPEC)?.nested(AF_INET6) {
            addrGenMode = inet6[IFLA_INET6_ADDR_GEN_MODE]?.u8()
        }
    }
}

/// One address as RTM_GETADDR reports it.
public struct Address: Hashable, Sendable {
    public var index: Int32
    /// AF_INET or AF_INET6.
    public var family: UInt8
    public var bytes: [UInt8]
    public var prefixLength: UInt8

    public init(index: Int32, family: UInt8, bytes: [UInt8], prefixLength: UInt8) {
        self.index = index
        self.family = family
        self.bytes = bytes
        self.prefixLength = prefixLength
    }

    /// Parses an RTM_NEWADDR message (ifaddrmsg + attributes).
    init?(payload: Bytes) {
        // struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32.
        guard let family = payload.u8(at: 0), let prefix = payload.u8(at: 1), let index = payload.i32(at: 4),
            let rest = payload.slice(from: MemoryLayout<ifaddrmsg>.size)
        else { return nil }
        let a = Attributes(rest)
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
        guard let addr = a[IFA_LOCAL] ?? a[IFA_ADDRESS] else { return nil }
        self.init(index: index, family: family, bytes: addr.array, prefixLength: prefix)
    }

    /// `192.0.2.1/24`, `2001:db8::1/64`: the address as inet_ntop writes it (RFC 5952 for IPv6).
    public var description: String {
        let af = family == UInt8(AF_INET6) ? AF_INET6 : AF_INET
        guard bytes.count == (af == AF_INET6 ? 16 : 4) else {
            return bytes.map { String($0, radix: 16) }.joined(separator: ".") + "/\(prefixLength)"
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = bytes.withUnsafeBytes { inet_ntop(af, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(prefixLength)"
    }
}

extension Address: CustomStringConvertible {}

/// The routing table a policy rule (RTM_GETRULE) points at; 0 for rules
/// without one (e.g. the l3mdev rule of VRFs).
func ruleTable(payload: Bytes) -> UInt32? {
    // struct fib_rule_hdr: family, dst_len, src_len, tos, table (u8), res1, res2, action.
    guard let small = payload.u8(at: 4), let rest = payload.slice(from: MemoryLayout<fib_rule_hdr>.size) else { return nil }
    return Attributes(rest)[FRA_TABLE]?.u32() ?? UInt32(small)
}

extension NetlinkSocket {
    /// Every link of the namespace, with kind-specific and bridge-port data.
    public func links() throws(NetlinkError) -> [Link] {
        let request = try Request("listing links", type: RTM_GETLINK, header: ifinfomsg())
        try request.put(IFLA_EXT_MASK, u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return try dump(request).compactMap { Link(payload: $0) }
    }

    /// Every address of one family (AF_INET, AF_INET6) on every link.
    public func addresses(family: Int32) throws(NetlinkError) -> [Address] {
        var h = ifaddrmsg()
        h.ifa_family = UInt8(family)
        return try dump(Request("listing addresses", type: RTM_GETADDR, header: h)).compactMap { Address(payload: $0) }
    }

    /// The tables that policy rules of any family point at.
    public func ruleTables() throws(NetlinkError) -> Set<UInt32> {
        Set(try dump(Request("listing policy rules", type: RTM_GETRULE, header: fib_rule_hdr())).compactMap { ruleTable(payload: $0) })
    }
}
