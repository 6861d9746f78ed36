import VRFCModel

/// IR → op list. Per full VRF (names are a contract with existing nodes):
/// `vr.` VRF, `br.` bridge in it, `vx.` VXLAN in the bridge, and the veth
/// pair `vd.` (in the VRF) / `dv.` (default VRF). Policy-only VRFs have no
/// links: their VRF comes from the node's provisioning.
public enum KernelBackend {
    public static let mtu = 9000
    public static let vxlanPort: UInt16 = 4789
    public static let defaultUnderlay = try! InterfaceName(validating: "dum.underlay")

    public struct Options: Sendable {
        public var underlay: InterfaceName
        public var tableRange: TableRange

        public init(underlay: InterfaceName = KernelBackend.defaultUnderlay, tableRange: TableRange = .default) {
            self.underlay = underlay
            self.tableRange = tableRange
        }
    }

    public static func ops(_ ir: NodeIR, options: Options = Options()) -> OpList {
        var links: [LinkSpec] = []
        var attachments: [InterfaceName] = []
        for vrf in ir.fullVRFs {
            guard let vni = vrf.vni else { continue }  // full VRFs always have one (Lowering)
            let n = LinkNames(vrf.name)
            links.append(LinkSpec(name: n.vrf, kind: .vrf, vrf: vrf.name, mtu: mtu, addrGenMode: .none))
            links.append(LinkSpec(name: n.bridge, kind: .bridge, vrf: vrf.name, master: n.vrf, mtu: mtu,
                                  addrGenMode: .none, macFromUnderlay: true))
            links.append(LinkSpec(name: n.vxlan, kind: .vxlan, vrf: vrf.name, master: n.bridge, mtu: mtu,
                                  addrGenMode: .none, macFromUnderlay: true,
                                  vxlan: VXLANSettings(vni: vni, dstPort: vxlanPort, learning: false, device: options.underlay),
                                  bridgePort: BridgePortSettings(hairpin: true, neighSuppress: false, learning: false)))
            links.append(LinkSpec(name: n.vrfSide, kind: .veth, vrf: vrf.name, master: n.vrf, mtu: mtu,
                                  addrGenMode: .eui64, peer: n.defaultSide))
            links.append(LinkSpec(name: n.defaultSide, kind: .veth, vrf: vrf.name, mtu: mtu,
                                  addrGenMode: .eui64, peer: n.vrfSide))
            attachments += [n.bridge, n.vrfSide, n.vxlan]
        }
        attachments += ir.bpfInterfaces
        let (tables, routes, rules) = routeOps(ir.routing)
        return OpList(underlay: options.underlay, tableRange: options.tableRange, links: links, routerAttachments: attachments,
                      ownedTables: tables, routes: routes, rules: rules)
    }
}

/// The interface names of one VRF's stack.
public struct LinkNames: Sendable {
    public let vrf, bridge, vxlan, vrfSide, defaultSide: InterfaceName

    public init(_ name: VRFName) {
        // A VRF name is at most 12 characters of [A-Za-z0-9_-], so each of
        // these is a valid interface name of at most 15.
        func make(_ prefix: String) -> InterfaceName { try! InterfaceName(validating: prefix + name.value) }
        vrf = make("vr.")
        bridge = make("br.")
        vxlan = make("vx.")
        vrfSide = make("vd.")
        defaultSide = make("dv.")
    }
}
