import VRFCModel

// What a template sees. These views are the documented template interface
// (README "Templates"); they expose only IR values, which are validated, and
// hand out finished names (`vrfDevice`, `importMapV4`, …) from the naming
// contract (`VRFNames`), so no template spells a name by concatenation.

/// Every name a view answers to.
enum ViewKey: String, TemplateKey, CaseIterable {
    // Node
    case asn, routerID, hostname, vrfs, fullVRFs, hasVRFs, prefixLists
    // VRF
    case name, vni, routeTarget, isFull, aggregatesV4, aggregatesV6, importV4, importV6, exportV4, exportV6
    case vrfDevice, vrfSide, defaultSide, importMapV4, importMapV6, exportMapV4, exportMapV6
    // Route-map entry
    case routeMapSeq, seq, source, prefixList, community
    // Prefix-list and its lines
    case list, family, items, action, prefix, ge, le

    init?(name: String) { self.init(rawValue: name) }
}

typealias ViewValue = TemplateValue<ViewKey>
typealias SectionTemplate = Template<ViewKey>

/// A view that is an element of a list: the list answers for it.
protocol ElementView {
    func value(for key: ViewKey) -> ViewValue?
}

/// An array of views as a template list.
final class Views<T: ElementView & Sendable>: TemplateList, Sendable {
    let items: [T]
    init(_ items: [T]) { self.items = items }
    var count: Int { items.count }
    func element(_ index: Int) -> ViewValue { .element(self, index) }
    func value(for key: ViewKey, at index: Int) -> ViewValue? { items[index].value(for: key) }
}

/// An array of strings as a template list (`{{#aggregatesV4}}{{.}}{{/…}}`).
final class Strings: TemplateList, Sendable {
    let items: [String]
    init(_ items: [String]) { self.items = items }
    var count: Int { items.count }
    func element(_ index: Int) -> ViewValue { .string(items[index]) }
}

final class RootView: TemplateObject, Sendable {
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

    func value(for key: ViewKey) -> ViewValue? {
        switch key {
        case .asn: .int(Int(ir.asn))
        case .routerID: ir.routerID.map { .string($0.description) }
        case .hostname: ir.hostname.map { .string($0.value) }
        case .vrfs: .list(Views(vrfs))
        case .fullVRFs: .list(Views(fullVRFs))
        case .hasVRFs: .bool(!vrfs.isEmpty)
        case .prefixLists: .list(Views(prefixLists))
        default: nil
        }
    }
}

struct VRFView: ElementView {
    let vrf: VRF
    let importV4, importV6, exportV4, exportV6: [EntryView]
    let prefixLists: [PrefixListView]
    /// Interface and route-map names, each built once per VRF.
    let vrfDevice, vrfSide, defaultSide, importMapV4, importMapV6, exportMapV4, exportMapV6: String

    init(_ vrf: VRF) {
        self.vrf = vrf
        let names = VRFNames(vrf.name)
        func entries(_ list: [PolicyEntry], _ family: AddressFamily, _ dir: VRFNames.Direction) -> [EntryView] {
            list.filter { !$0.items(family).isEmpty }.map { EntryView(names, entry: $0, family: family, direction: dir) }
        }
        vrfDevice = names.vrfDevice.value
        vrfSide = names.vrfSide.value
        defaultSide = names.defaultSide.value
        importMapV4 = names.routeMap(.ipv4, .import)
        importMapV6 = names.routeMap(.ipv6, .import)
        exportMapV4 = names.routeMap(.ipv4, .export)
        exportMapV6 = names.routeMap(.ipv6, .export)
        importV4 = entries(vrf.imports, .ipv4, .import)
        importV6 = entries(vrf.imports, .ipv6, .import)
        exportV4 = entries(vrf.exports, .ipv4, .export)
        exportV6 = entries(vrf.exports, .ipv6, .export)
        // Imports before exports, IPv4 before IPv6, each in spec.seq order.
        prefixLists = [importV4, importV6, exportV4, exportV6].flatMap { $0.map(PrefixListView.init) }
    }

    func value(for key: ViewKey) -> ViewValue? {
        switch key {
        case .name: .string(vrf.name.value)
        case .vni: vrf.vni.map { .int(Int($0)) }
        case .routeTarget: vrf.routeTarget.map { .string($0.value) }
        case .isFull: .bool(vrf.kind == .full)
        case .aggregatesV4: .list(Strings(vrf.aggregates(.ipv4).map(\.description)))
        case .aggregatesV6: .list(Strings(vrf.aggregates(.ipv6).map(\.description)))
        case .importV4: .list(Views(importV4))
        case .importV6: .list(Views(importV6))
        case .exportV4: .list(Views(exportV4))
        case .exportV6: .list(Views(exportV6))
        case .prefixLists: .list(Views(prefixLists))
        case .vrfDevice: .string(vrfDevice)
        case .vrfSide: .string(vrfSide)
        case .defaultSide: .string(defaultSide)
        case .importMapV4: .string(importMapV4)
        case .importMapV6: .string(importMapV6)
        case .exportMapV4: .string(exportMapV4)
        case .exportMapV6: .string(exportMapV6)
        default: nil
        }
    }
}

/// One route-map entry: a CR's policy for one direction and address family.
struct EntryView: ElementView {
    let entry: PolicyEntry
    let family: AddressFamily
    let prefixList: String

    init(_ names: VRFNames, entry: PolicyEntry, family: AddressFamily, direction: VRFNames.Direction) {
        self.entry = entry
        self.family = family
        prefixList = names.prefixList(seq: entry.seq, family, direction)
    }

    func value(for key: ViewKey) -> ViewValue? {
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

struct PrefixListView: ElementView {
    let list: String
    let family: AddressFamily
    let items: PrefixItems

    init(_ entry: EntryView) {
        list = entry.prefixList
        family = entry.family
        items = PrefixItems(entry.entry.items(entry.family))
    }

    func value(for key: ViewKey) -> ViewValue? {
        switch key {
        case .list: .string(list)
        case .family: .string(family == .ipv4 ? "ip" : "ipv6")
        case .items: .list(items)
        default: nil
        }
    }
}

/// Prefix-list lines: by far the most numerous elements, so their fields
/// are read in place rather than through a generic view.
final class PrefixItems: TemplateList, Sendable {
    let items: [PrefixItem]
    init(_ items: [PrefixItem]) { self.items = items }
    var count: Int { items.count }
    func element(_ index: Int) -> ViewValue { .element(self, index) }

    func value(for key: ViewKey, at index: Int) -> ViewValue? {
        switch key {
        case .seq: .int(Int(items[index].seq))
        case .action: .string(items[index].action.rawValue)
        case .prefix: .string(items[index].prefix.text)
        case .ge: items[index].ge.map { .int($0) }
        case .le: items[index].le.map { .int($0) }
        default: nil
        }
    }
}
