import Mustache
import VRFCModel

// What a template sees. These views are the documented template interface
// (README "Templates"); they expose only IR values, which are validated, and
// answer lookups with a switch instead of reflection so rendering stays fast.

/// Names of the generated FRR objects. The route-map names are a contract
/// with base configs (`call rm_mgmt_vrf_export`); prefix-list names are ours.
public enum FRRNames {
    public static func routeMap(_ vrf: VRFName, _ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "rm" : "rm6")_\(vrf)_\(direction.rawValue)"
    }

    public static func prefixList(_ vrf: VRFName, seq: Int, _ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "pl" : "pl6")_\(vrf)_\(seq)_\(direction.rawValue)"
    }

    public enum Direction: String, Sendable, CaseIterable {
        case `import`, export
    }
}

struct RootView: MustacheParent {
    let ir: NodeIR
    let vrfs: [VRFView]
    let fullVRFs: [VRFView]
    let prefixLists: [PrefixListView]

    init(_ ir: NodeIR) {
        self.ir = ir
        vrfs = ir.vrfs.map(VRFView.init)
        fullVRFs = vrfs.filter { $0.vrf.kind == .full }
        prefixLists = vrfs.flatMap(\.prefixLists)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "asn": ir.asn
        case "routerID": ir.routerID?.description
        case "hostname": ir.hostname?.value
        case "vrfs": vrfs
        case "fullVRFs": fullVRFs
        case "hasVRFs": !vrfs.isEmpty
        case "prefixLists": prefixLists
        default: nil
        }
    }
}

struct VRFView: MustacheParent {
    let vrf: VRF
    let importV4, importV6, exportV4, exportV6: [EntryView]
    let prefixLists: [PrefixListView]

    init(_ vrf: VRF) {
        self.vrf = vrf
        func entries(_ list: [PolicyEntry], _ family: AddressFamily, _ dir: FRRNames.Direction) -> [EntryView] {
            list.filter { !$0.items(family).isEmpty }.map { EntryView(vrf: vrf.name, entry: $0, family: family, direction: dir) }
        }
        importV4 = entries(vrf.imports, .ipv4, .import)
        importV6 = entries(vrf.imports, .ipv6, .import)
        exportV4 = entries(vrf.exports, .ipv4, .export)
        exportV6 = entries(vrf.exports, .ipv6, .export)
        // Imports before exports, IPv4 before IPv6, each in spec.seq order.
        prefixLists = [importV4, importV6, exportV4, exportV6].flatMap { $0.map(PrefixListView.init) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "name": vrf.name.value
        case "vni": vrf.vni
        case "routeTarget": vrf.routeTarget?.value
        case "isFull": vrf.kind == .full
        case "aggregatesV4": vrf.aggregates(.ipv4).map(\.description)
        case "aggregatesV6": vrf.aggregates(.ipv6).map(\.description)
        case "importV4": importV4
        case "importV6": importV6
        case "exportV4": exportV4
        case "exportV6": exportV6
        case "prefixLists": prefixLists
        default: nil
        }
    }
}

/// One route-map entry: a CR's policy for one direction and address family.
struct EntryView: MustacheParent {
    let entry: PolicyEntry
    let family: AddressFamily
    let prefixList: String

    init(vrf: VRFName, entry: PolicyEntry, family: AddressFamily, direction: FRRNames.Direction) {
        self.entry = entry
        self.family = family
        prefixList = FRRNames.prefixList(vrf, seq: entry.seq, family, direction)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "routeMapSeq": entry.routeMapSeq
        case "seq": entry.seq
        case "source": entry.source.value
        case "prefixList": prefixList
        case "community": entry.community?.value
        default: nil
        }
    }
}

struct PrefixListView: MustacheParent {
    let list: String
    let family: AddressFamily
    let items: [ItemView]

    init(_ entry: EntryView) {
        list = entry.prefixList
        family = entry.family
        items = entry.entry.items(entry.family).map(ItemView.init)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "list": list
        case "family": family == .ipv4 ? "ip" : "ipv6"
        case "items": items
        default: nil
        }
    }
}

struct ItemView: MustacheParent {
    let item: PrefixItem

    init(_ item: PrefixItem) { self.item = item }

    func child(named name: String) -> Any? {
        switch name {
        case "seq": item.seq
        case "action": item.action.rawValue
        case "prefix": item.prefix.description
        case "ge": item.ge
        case "le": item.le
        default: nil
        }
    }
}
