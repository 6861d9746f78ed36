import VRFCModel
import VRFCYAML

/// Every object the INPUTs hold, read from single objects, multi-document
/// YAML, `List` objects (kubectl's `-o yaml`) and JSON, each through the one
/// YAML door and checked by its kind's schema.
public struct InputObjects: Sendable {
    public var routeConfigurations: [RouteConfiguration] = []

    public init() {}

    mutating func append(_ other: InputObjects) {
        routeConfigurations += other.routeConfigurations
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
        let kind = RouteConfiguration.kind
        let here = "document at line \(root.line)"
        guard case .mapping = root.node else {
            root.with(object: here).error("expected a \(kind) object or a List of them, found \(root.kindName)")
            return
        }
        let kindField = root.value("kind")
        let kindText = kindField.flatMap { f -> String? in
            guard case .scalar(let s) = f.node else { return nil }
            return s.text
        }
        switch kindText {
        case kind:
            if let o = RouteConfiguration.readObject(root, label: "\(kind) at line \(root.line)") { objects.routeConfigurations.append(o) }
        case "List", "\(kind)List":
            let label = "\(kindText!) at line \(root.line)"
            let list = root.with(object: label)
            guard let fields = list.mapping(allowed: ["apiVersion", "kind", "items"], ignored: ["metadata"]) else { return }
            if let v = fields["apiVersion"]?.string() {
                let expected = kindText == "List" ? "v1" : RouteConfiguration.apiVersion
                if v != expected { fields["apiVersion"]!.error("apiVersion \(quoted(v)) is not '\(expected)'", fix: "write apiVersion: \(expected)") }
            }
            for item in fields["items"]?.sequence() ?? [] {
                if let o = RouteConfiguration.readObject(item, label: "\(label), \(item.path)") { objects.routeConfigurations.append(o) }
            }
        case nil:
            root.with(object: here).error("missing 'kind'", fix: "write kind: \(kind)")
        case let other?:
            kindField!.with(object: here).error("kind \(quoted(other)) is not \(kind)",
                                               fix: "vrfc reads only \(kind) objects and Lists of them; remove other objects from its inputs")
        }
    }
}
