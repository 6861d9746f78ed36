import CNetlink
import Glibc

/// A link to create, complete: everything the kernel accepts at creation
/// goes into the one RTM_NEWLINK (kind and its data, MTU, MAC, master,
/// ifindex), so the link never exists half-made. IPv6 addr_gen_mode, the
/// alias and bridge-port flags are refused at creation and are set by a
/// following `LinkUpdate`.
public struct NewLink: Sendable {
    public enum Kind: Sendable {
        case vrf(table: UInt32)
        case bridge
        case vxlan(VXLANInfo)
        /// The peer is created in the same message, in the same namespace.
        case veth(peerIndex: Int32, peerName: String, peerMTU: UInt32)
    }

    /// Chosen by the caller (`ip link add ... index N`), so later requests can
    /// name the link without asking the kernel for it.
    public var index: Int32
    public var name: String
    public var kind: Kind
    public var mtu: UInt32
    public var mac: MACAddress?
    public var masterIndex: Int32?
    /// IFLA_GROUP (not on a veth's peer: libnl sends none there). An
    /// attribute the kernel takes at creation that nothing else looks at:
    /// the applier puts a nonce here, so a half-made link proves which
    /// request made it.
    public var group: UInt32?

    public init(
        index: Int32, name: String, kind: Kind, mtu: UInt32, mac: MACAddress? = nil, masterIndex: Int32? = nil,
        group: UInt32? = nil
    ) {
        self.index = index
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.masterIndex = masterIndex
        self.group = group
    }

    /// Builds the request with libnl-route's link objects.
    func request(_ op: String) throws(NetlinkError) -> Request {
        let link: OpaquePointer
        switch kind {
        case .vrf(let table):
            guard let l = rtnl_link_vrf_alloc() else { throw NetlinkError(op, code: ENOMEM) }
            link = l
            try check(rtnl_link_vrf_set_tableid(link, table), op, link)
        case .bridge:
            guard let l = rtnl_link_alloc() else { throw NetlinkError(op, code: ENOMEM) }
            link = l
            try check(rtnl_link_set_type(link, "bridge"), op, link)
        case .vxlan(let v):
            guard let l = rtnl_link_vxlan_alloc() else { throw NetlinkError(op, code: ENOMEM) }
            link = l
            try check(rtnl_link_vxlan_set_id(link, v.vni), op, link)
            if let local = v.local {
                let family = local.count == 4 ? AF_INET : AF_INET6
                guard let addr = local.withUnsafeBytes({ nl_addr_build(family, $0.baseAddress, $0.count) }) else {
                    release(link)
                    throw NetlinkError(op, code: ENOMEM)
                }
                defer { nl_addr_put(addr) }
                try check(rtnl_link_vxlan_set_local(link, addr), op, link)
            }
            if let lower = v.linkIndex { try check(rtnl_link_vxlan_set_link(link, UInt32(lower)), op, link) }
            try check(rtnl_link_vxlan_set_port(link, UInt32(v.port)), op, link)
            try check(rtnl_link_vxlan_set_learning(link, v.learning ? 1 : 0), op, link)
        case .veth(let peerIndex, let peerName, let peerMTU):
            guard let l = rtnl_link_veth_alloc() else { throw NetlinkError(op, code: ENOMEM) }
            link = l
            guard let peer = rtnl_link_veth_get_peer(link) else {
                release(link)
                throw NetlinkError(op, code: ENOMEM)
            }
            rtnl_link_set_name(peer, peerName)
            rtnl_link_set_ifindex(peer, peerIndex)
            rtnl_link_set_mtu(peer, peerMTU)
            rtnl_link_put(peer)  // get_peer took a reference
        }
        defer { release(link) }
        rtnl_link_set_name(link, name)
        rtnl_link_set_ifindex(link, index)
        rtnl_link_set_mtu(link, mtu)
        if let group { rtnl_link_set_group(link, group) }
        if let master = masterIndex { rtnl_link_set_master(link, master) }
        if let mac {
            guard let addr = mac.bytes.withUnsafeBytes({ nl_addr_build(AF_LLC, $0.baseAddress, 6) }) else {
                throw NetlinkError(op, code: ENOMEM)
            }
            rtnl_link_set_addr(link, addr)
            nl_addr_put(addr)
        }
        var msg: OpaquePointer? = nil
        let rc = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &msg)
        guard rc == 0, let msg else {
            throw NetlinkError(op, code: nil, detail: "building the request: " + String(cString: nl_geterror(rc)))
        }
        return Request(taking: msg, op)
    }

    /// A libnl setter's result; on an error the half-built link object is
    /// released here (every early exit above goes through this or frees it
    /// itself), so a refused value leaks nothing.
    private func check(_ rc: Int32, _ op: String, _ link: OpaquePointer) throws(NetlinkError) {
        guard rc == 0 else {
            release(link)
            throw NetlinkError(op, code: nil, detail: "building the request: " + String(cString: nl_geterror(rc)))
        }
    }

    /// A veth's link object owns its peer and is released with it.
    private func release(_ link: OpaquePointer) {
        if case .veth = kind { rtnl_link_veth_release(link) } else { rtnl_link_put(link) }
    }
}

/// Changes to an existing link, sent as one RTM_NEWLINK without
/// NLM_F_CREATE: only the attributes that are set change. A rename, the
/// alias and the IPv6 mode can thus land together with the kernel's single
/// rtnl lock held, i.e. all or nothing as far as an interrupted caller goes.
public struct LinkUpdate: Sendable {
    public var index: Int32
    public var name: String?
    public var alias: String?
    public var mtu: UInt32?
    public var mac: MACAddress?
    /// 0 releases the link from its master (`nomaster`).
    public var masterIndex: Int32?
    public var addrGenMode: UInt8?
    /// Applied through the link's current master, so the link must already
    /// be a bridge port when this is sent.
    public var bridgePort: BridgePortFlags?
    /// IFLA_GROUP; lands in the same request as the alias.
    public var group: UInt32?

    public init(
        index: Int32, name: String? = nil, alias: String? = nil, mtu: UInt32? = nil, mac: MACAddress? = nil,
        masterIndex: Int32? = nil, addrGenMode: UInt8? = nil, bridgePort: BridgePortFlags? = nil, group: UInt32? = nil
    ) {
        self.group = group
        self.index = index
        self.name = name
        self.alias = alias
        self.mtu = mtu
        self.mac = mac
        self.masterIndex = masterIndex
        self.addrGenMode = addrGenMode
        self.bridgePort = bridgePort
    }

    /// Built with libnl's nlmsg/nla_put rather than an rtnl_link object: the
    /// bridge-port flags travel as IFLA_INFO_SLAVE_DATA, which libnl's link
    /// object cannot carry, and they must land in the same message as the rest.
    func request(_ op: String) throws(NetlinkError) -> Request {
        var h = ifinfomsg()
        h.ifi_index = index
        let b = try Request(op, type: RTM_NEWLINK, header: h)
        if let name { try b.put(IFLA_IFNAME, string: name) }
        if let alias { try b.put(IFLA_IFALIAS, string: alias) }
        if let group { try b.put(IFLA_GROUP, u32: group) }
        if let mtu { try b.put(IFLA_MTU, u32: mtu) }
        if let mac { try b.put(IFLA_ADDRESS, bytes: mac.bytes) }
        if let masterIndex { try b.put(IFLA_MASTER, u32: UInt32(bitPattern: masterIndex)) }
        if let addrGenMode {
            try b.nest(IFLA_AF_SPEC) { () throws(NetlinkError) in
                try b.nest(AF_INET6) { () throws(NetlinkError) in
                    try b.put(IFLA_INET6_ADDR_GEN_MODE, u8: addrGenMode)
                }
            }
        }
        if let p = bridgePort {
            try b.nest(IFLA_LINKINFO) { () throws(NetlinkError) in
                try b.put(IFLA_INFO_SLAVE_KIND, string: "bridge")
                try b.nest(IFLA_INFO_SLAVE_DATA) { () throws(NetlinkError) in
                    try b.put(IFLA_BRPORT_MODE, u8: p.hairpin ? 1 : 0)
                    try b.put(IFLA_BRPORT_LEARNING, u8: p.learning ? 1 : 0)
                    try b.put(IFLA_BRPORT_NEIGH_SUPPRESS, u8: p.neighSuppress ? 1 : 0)
                }
            }
        }
        return b
    }
}

extension NetlinkSocket {
    /// RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: the link with its kind,
    /// settings, master and the ifindex chosen by the caller, in one message.
    public func create(_ spec: NewLink) throws(NetlinkError) {
        try perform(spec.request("creating \(spec.name)"))
    }

    /// RTM_NEWLINK on an existing link: only the given attributes change.
    public func update(_ u: LinkUpdate, describing op: String) throws(NetlinkError) {
        try perform(u.request(op))
    }

    /// `up: false` takes the link down (L3VNIRepair's bounce).
    public func setUp(index: Int32, name: String, up: Bool = true) throws(NetlinkError) {
        var h = ifinfomsg()
        h.ifi_index = index
        h.ifi_flags = up ? UInt32(IFF_UP.rawValue) : 0
        h.ifi_change = UInt32(IFF_UP.rawValue)
        try perform(Request("\(up ? "bringing up" : "taking down") \(name)", type: RTM_SETLINK, header: h))
    }

    /// Deletes a link by ifindex. Returns false when it was already gone
    /// (deleting one end of a veth pair removes the other).
    @discardableResult
    public func delete(index: Int32, name: String) throws(NetlinkError) -> Bool {
        var h = ifinfomsg()
        h.ifi_index = index
        do {
            try perform(Request("deleting \(name)", type: RTM_DELLINK, header: h))
            return true
        } catch  where error.code == ENODEV {
            return false
        }
    }
}
