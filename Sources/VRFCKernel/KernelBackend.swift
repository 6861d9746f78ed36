import VRFCModel

/// IR → op list. Per full VRF, the stack of `VRFNames` in creation order:
/// the VRF device, the bridge in it, the VXLAN link in the bridge, and the
/// veth pair (one end in the VRF, one in the default VRF). Policy-only VRFs
/// have no links: their VRF comes from the node's provisioning.
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
            let n = VRFNames(vrf.name)
            // Name, kind, master and peer come from the naming contract; the
            // settings are the kernel backend's.
            func spec(
                _ l: StackLink, _ addrGenMode: AddrGenMode, macFromUnderlay: Bool = false,
                vxlan: VXLANSettings? = nil, bridgePort: BridgePortSettings? = nil
            ) -> LinkSpec {
                LinkSpec(
                    name: n.link(l), kind: l.kind, vrf: vrf.name, master: l.master.map(n.link), mtu: mtu,
                    addrGenMode: addrGenMode, macFromUnderlay: macFromUnderlay, vxlan: vxlan,
                    bridgePort: bridgePort, peer: l.peer.map(n.link))
            }
            links += [
                spec(.vrfDevice, .none),
                spec(.bridge, .none, macFromUnderlay: true),
                spec(
                    .vxlan, .none, macFromUnderlay: true,
                    vxlan: VXLANSettings(vni: vni, dstPort: vxlanPort, learning: false, device: options.underlay),
                    bridgePort: BridgePortSettings(hairpin: true, neighSuppress: false, learning: false)),
                spec(.vrfSide, .eui64),
                spec(.defaultSide, .eui64),
            ]
            attachments += [n.bridge, n.vrfSide, n.vxlan]
        }
        attachments += ir.bpfInterfaces
        let (tables, routes, rules, names) = routeOps(ir.routing)
        return OpList(
            underlay: options.underlay, tableRange: options.tableRange, links: links, routerAttachments: attachments,
            ownedTables: tables, routes: routes, rules: rules, tableNames: names)
    }
}
