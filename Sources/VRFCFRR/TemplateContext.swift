import VRFCModel

// What a template sees. These views are the documented template interface
// (README "Templates"); they expose only IR values, which are validated.

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

/// An array of views as a template list.
struct Views<T: TemplateObject>: TemplateList {
    let items: [T]
    var count: Int { items.count }
    func element(_ index: Int) -> TemplateValue { .object(items[index]) }
}

/// An array of strings as a template list (`{{#aggregatesV4}}{{.}}{{/…}}`).
struct Strings: TemplateList {
    let items: [String]
    var count: Int { items.count }
    func element(_ index: Int) -> TemplateValue { .string(items[index]) }
}

struct RootView: TemplateObject {
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

    func value(for key: TemplateKey) -> TemplateValue? {
        switch key {
        case .asn: .int(Int(ir.asn))
        case .routerID: ir.routerID.map { .string($0.description) }
        case .hostname: ir.hostname.map { .string($0.value) }
        case .vrfs: .list(Views(items: vrfs))
        case .fullVRFs: .list(Views(items: fullVRFs))
        case .hasVRFs: .bool(!vrfs.isEmpty)
        case .prefixLists: .list(Views(items: prefixLists))
        default: nil
        }
    }
}

struct VRFView: TemplateObject {
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

    func value(for key: TemplateKey) -> TemplateValue? {
        switch key {
        case .name: .string(vrf.name.value)
        case .vni: vrf.vni.map { .int(Int($0)) }
        case .routeTarget: vrf.routeTarget.map { .string($0.value) }
        case .isFull: .bool(vrf.kind == .full)
        case .aggregatesV4: .list(Strings(items: vrf.aggregates(.ipv4).map(\.description)))
        case .aggregatesV6: .list(Strings(items: vrf.aggregates(.ipv6).map(\.description)))
        case .importV4: .list(Views(items: importV4))
        case .importV6: .list(Views(items: importV6))
        case .exportV4: .list(Views(items: exportV4))
        case .exportV6: .list(Views(items: exportV6))
        case .prefixLists: .list(Views(items: prefixLists))
        default: nil
        }
    }
}

/// One route-map entry: a CR's policy for one direction and address family.
struct EntryView: TemplateObject {
    let entry: PolicyEntry
    let family: AddressFamily
    let prefixList: String

    init(vrf: VRFName, entry: PolicyEntry, family: AddressFamily, direction: FRRNames.Direction) {
        self.entry = entry
        self.family = family
        prefixList = FRRNames.prefixList(vrf, seq: entry.seq, family, direction)
    }

    func value(for key: TemplateKey) -> TemplateValue? {
        switch key {
        case .routeMapSeq: .int(entry.routeMapSeq)
        case .seq: .int(entry.seq)
        case .source: .string(entry.source.value)
        case .prefixList: .string(prefixList)
        case .community: entry.community.map { .string($0.value) }
        default: nil
        }
    }
}

struct PrefixListView: TemplateObject {
    let list: String
    let family: AddressFamily
    let items: [PrefixItem]

    init(_ entry: EntryView) {
        list = entry.prefixList
        family = entry.family
        items = entry.entry.items(entry.family)
    }

    func value(for key: TemplateKey) -> TemplateValue? {
        switch key {
        case .list: .string(list)
        case .family: .string(family == .ipv4 ? "ip" : "ipv6")
        case .items: .list(ItemViews(items: items))
        default: nil
        }
    }
}

/// Prefix-list lines, made into views one at a time while rendering.
struct ItemViews: TemplateList {
    let items: [PrefixItem]
    var count: Int { items.count }
    func element(_ index: Int) -> TemplateValue { .object(ItemView(item: items[index])) }
}

struct ItemView: TemplateObject {
    let item: PrefixItem

    func value(for key: TemplateKey) -> TemplateValue? {
        switch key {
        case .seq: .int(Int(item.seq))
        case .action: .string(item.action.rawValue)
        case .prefix: .string(item.prefix.description)
        case .ge: item.ge.map { .int($0) }
        case .le: item.le.map { .int($0) }
        default: nil
        }
    }
}
