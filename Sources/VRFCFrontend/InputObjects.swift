import VRFCModel
import VRFCYAML

/// Every object the INPUTs hold, read from single objects, multi-document
/// YAML, `List` objects (kubectl's `-o yaml`) and JSON, each through the one
/// YAML door and checked by its kind's schema.
public struct InputObjects: Sendable {
    public var routeConfigurations: [RouteConfiguration] = []
    public var bgpPeers: [MetalLBPeer] = []
    public var addressPools: [MetalLBPool] = []
    public var bgpAdvertisements: [MetalLBAdvertisement] = []
    public var metalLBConfigMaps: [MetalLBConfigMap] = []
    public var nodes: [KubernetesNode] = []

    public init() {}

    mutating func append(_ other: InputObjects) {
        routeConfigurations += other.routeConfigurations
        bgpPeers += other.bgpPeers
        addressPools += other.addressPools
        bgpAdvertisements += other.bgpAdvertisements
        metalLBConfigMaps += other.metalLBConfigMaps
        nodes += other.nodes
    }

    /// The kinds vrfc reads, each with its List kind (`NodeList`, ...).
    static let kinds = [RouteConfiguration.kind, "BGPPeer", "IPAddressPool", "BGPAdvertisement", "ConfigMap", KubernetesNode.kind]
    static let kindsText =
        "VRFRouteConfiguration, MetalLB's BGPPeer, IPAddressPool and BGPAdvertisement, MetalLB's legacy ConfigMap, and Node objects, and Lists of them"

    /// The apiVersion a `KindList` is written with.
    static func listVersions(_ kind: String) -> [String] {
        switch kind {
        case RouteConfiguration.kind: [RouteConfiguration.apiVersion]
        case "BGPPeer": MetalLB.peerVersions
        case "IPAddressPool": MetalLB.poolVersions
        case "BGPAdvertisement": MetalLB.advertisementVersions
        default: ["v1"]
        }
    }

    /// One object of a kind vrfc reads, into its list.
    static func readObject(_ raw: Field, kind: String, label: String, into objects: inout InputObjects) {
        switch kind {
        case RouteConfiguration.kind:
            if let o = RouteConfiguration.readObject(raw, label: label) { objects.routeConfigurations.append(o) }
        case "BGPPeer":
            if let o = MetalLB.readPeer(raw, label: label) { objects.bgpPeers.append(o) }
        case "IPAddressPool":
            if let o = MetalLB.readPool(raw, label: label) { objects.addressPools.append(o) }
        case "BGPAdvertisement":
            if let o = MetalLB.readAdvertisement(raw, label: label) { objects.bgpAdvertisements.append(o) }
        case "ConfigMap":
            if let o = MetalLB.readConfigMap(raw, label: label) { objects.metalLBConfigMaps.append(o) }
        case KubernetesNode.kind:
            if let o = KubernetesNode.readObject(raw, label: label) { objects.nodes.append(o) }
        default:
            preconditionFailure("not a kind vrfc reads: \(kind)")
        }
    }

    public static func parse(_ files: [InputFile]) -> (objects: InputObjects, diagnostics: [Diagnostic]) {
        var objects = InputObjects()
        var diagnostics: [Diagnostic] = []
        for file in files {
            let (o, d) = parse(file)
            objects.append(o)
            diagnostics += d
        }
        return (objects, diagnostics)
    }

    /// One file's objects and their problems, in document order.
    static func parse(_ file: InputFile) -> (objects: InputObjects, diagnostics: [Diagnostic]) {
        let name = file.name
        let (documents, failure) = YAMLReader.read(file.text) { doc -> Document in
            let sink = DiagnosticSink()
            var objects = InputObjects()
            let root = Field(node: doc, context: .init(file: name, object: nil, sink: sink))
            if !root.isNull { readDocument(root, into: &objects) }
            return Document(objects: objects, diagnostics: sink.items)
        }
        var objects = InputObjects()
        var diagnostics: [Diagnostic] = []
        for d in documents {
            objects.append(d.objects)
            diagnostics += d.diagnostics
        }
        if let e = failure { diagnostics.append(Diagnostic(SourceLocation(file: name, line: e.line), e.message, fix: e.fix)) }
        return (objects, diagnostics)
    }

    /// What one YAML document holds.
    struct Document: Sendable {
        var objects: InputObjects
        var diagnostics: [Diagnostic]
    }

    static func readDocument(_ root: Field, into objects: inout InputObjects) {
        let here = "document at line \(root.line)"
        guard case .mapping = root.node else {
            root.with(object: here).error(
                "expected a Kubernetes object or a List of them, found \(root.kindName)",
                fix: "vrfc reads \(kindsText)")
            return
        }
        guard let kindField = root.value("kind") else {
            root.with(object: here).error("missing 'kind'", fix: "write kind: \(RouteConfiguration.kind) (or another kind vrfc reads)")
            return
        }
        guard case .scalar(let k) = kindField.node, !k.isNull else {
            kindField.with(object: here).error("expected a kind, found \(kindField.kindName)")
            return
        }
        let kind = k.text
        if kinds.contains(kind) {
            readObject(root, kind: kind, label: "\(kind) at line \(root.line)", into: &objects)
            return
        }
        let itemKind = kind != "List" && kind.hasSuffix("List") ? String(kind.dropLast(4)) : nil
        guard kind == "List" || itemKind.map(kinds.contains) == true else {
            kindField.with(object: here).error(
                "kind \(quoted(kind)) is not one vrfc reads",
                fix: "vrfc reads \(kindsText); remove other objects from its inputs")
            return
        }
        let label = "\(kind) at line \(root.line)"
        let list = root.with(object: label)
        guard let fields = list.mapping(allowed: ["apiVersion", "kind", "items"], ignored: ["metadata"]) else { return }
        if let v = fields["apiVersion"]?.string() {
            let expected = kind == "List" ? ["v1"] : listVersions(itemKind!)
            if !expected.contains(v) {
                fields["apiVersion"]!.error("apiVersion \(quoted(v)) is not '\(expected[0])'", fix: "write apiVersion: \(expected[0])")
            }
        }
        for item in fields["items"]?.sequence() ?? [] {
            let itemLabel = "\(label), \(item.path)"
            // kubectl writes each item's kind, also in a `KindList`.
            guard case .mapping = item.node, let f = item.value("kind"), case .scalar(let s) = f.node, !s.isNull else {
                if case .mapping = item.node {
                    item.with(object: itemLabel).error("missing kind", fix: "write kind: \(itemKind ?? RouteConfiguration.kind)")
                } else {
                    item.with(object: itemLabel).error("expected a Kubernetes object, found \(item.kindName)")
                }
                continue
            }
            guard kinds.contains(s.text), itemKind == nil || itemKind == s.text else {
                f.with(object: itemLabel).error(
                    "kind \(quoted(s.text)) is not one vrfc reads\(itemKind.map { " in a \($0)List" } ?? "")",
                    fix: "vrfc reads \(kindsText)")
                continue
            }
            readObject(item, kind: s.text, label: itemLabel, into: &objects)
        }
    }
}
