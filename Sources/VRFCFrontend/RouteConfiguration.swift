import VRFCModel
import Yams

/// One VRFRouteConfiguration object (group network.schiff.telekom.de,
/// version v1alpha1), with every field validated on its own. Checks that
/// need other objects or the node config happen in `Lowering`.
public struct RouteConfiguration: Sendable, Equatable {
    public static let apiVersion = "network.schiff.telekom.de/v1alpha1"
    public static let kind = "VRFRouteConfiguration"
    public static let seqRange: ClosedRange<UInt64> = 1...65534

    public var name: ObjectName
    /// Where the object starts.
    public var location: SourceLocation
    public var vrf: VRFName
    public var vrfLocation: SourceLocation
    public var seq: Int
    public var seqLocation: SourceLocation
    public var imports: [PrefixItem]
    public var exports: [PrefixItem]
    public var aggregates: [IPPrefix]
    public var aggregateLocation: SourceLocation?
    public var community: Community?

    /// Reads every VRFRouteConfiguration in the files: single objects,
    /// multi-document YAML, `List` objects (kubectl's `-o yaml`) and JSON.
    public static func parse(_ files: [InputFile]) -> (objects: [RouteConfiguration], diagnostics: [Diagnostic]) {
        let sink = DiagnosticSink()
        var objects: [RouteConfiguration] = []
        for file in files {
            for (docIndex, doc) in documents(of: file, sink: sink).enumerated() {
                let root = Field(node: doc, path: "", file: file.name, object: nil, sink: sink)
                if root.isNull { continue }
                readDocument(root, index: docIndex, into: &objects)
            }
        }
        return (objects, sink.items)
    }

    static func readDocument(_ root: Field, index: Int, into objects: inout [RouteConfiguration]) {
        guard case .mapping = root.node else {
            root.with(object: "document \(index + 1)").error("expected a \(kind) object or a List of them, found \(root.kindName)")
            return
        }
        let kindField = root.mappingValue("kind")
        let kindText = kindField.flatMap { f -> String? in
            guard case .scalar(let s) = f.node else { return nil }
            return s.string
        }
        switch kindText {
        case kind:
            if let o = readObject(root, label: "\(kind) in document \(index + 1)") { objects.append(o) }
        case "List", "\(kind)List":
            let label = "\(kindText!) in document \(index + 1)"
            let list = root.with(object: label)
            guard let fields = list.mapping(allowed: ["apiVersion", "kind", "items"], ignored: ["metadata"]) else { return }
            if let v = fields["apiVersion"]?.string() {
                let expected = kindText == "List" ? "v1" : apiVersion
                if v != expected { fields["apiVersion"]!.error("apiVersion '\(v)' is not '\(expected)'", fix: "write apiVersion: \(expected)") }
            }
            for item in fields["items"]?.sequence() ?? [] {
                if let o = readObject(item, label: "\(label), \(item.path)") { objects.append(o) }
            }
        case nil:
            root.with(object: "document \(index + 1)").error("missing 'kind'", fix: "write kind: \(kind)")
        case let other?:
            kindField!.with(object: "document \(index + 1)").error("kind '\(other)' is not \(kind)",
                                                                   fix: "vrfc reads only \(kind) objects and Lists of them; remove other objects from its inputs")
        }
    }

    /// One object; `label` names it in messages until its name is known.
    static func readObject(_ raw: Field, label: String) -> RouteConfiguration? {
        // Messages name the object by metadata.name and give paths inside it.
        var object = raw.with(object: label)
        let errorsBefore = raw.sink.items.count
        guard case .mapping = raw.node else {
            object.error("expected a \(kind) object, found \(raw.kindName)")
            return nil
        }
        var name: ObjectName? = nil
        if let metadata = raw.mappingValue("metadata"), case .mapping = metadata.node,
           let nameField = metadata.mappingValue("name") {
            name = Field(node: nameField.node, path: "metadata.name", file: raw.file, object: label, sink: raw.sink)
                .validated(ObjectName.init(validating:))
            if let name { object = Field(node: raw.node, path: "", file: raw.file, object: "\(kind) \"\(name)\"", sink: raw.sink) }
        } else {
            Field(node: raw.node, path: "metadata.name", file: raw.file, object: label, sink: raw.sink)
                .error("missing metadata.name", fix: "give the object a name")
        }

        // kubectl output carries status and server-side metadata: ignored.
        guard let top = object.mapping(allowed: ["apiVersion", "kind", "metadata", "spec"], ignored: ["status"]) else { return nil }
        if let f = top["apiVersion"] {
            if let v = f.string(), v != apiVersion { f.error("apiVersion '\(v)' is not supported", fix: "write apiVersion: \(apiVersion)") }
        } else {
            object.error("missing apiVersion", fix: "write apiVersion: \(apiVersion)")
        }
        if let f = top["kind"], let k = f.string(), k != kind {
            f.error("kind '\(k)' is not \(kind)")
        }
        guard let specField = top["spec"] else {
            object.error("missing spec", fix: "add spec with at least vrf and seq")
            return nil
        }
        guard let spec = specField.mapping(allowed: ["vrf", "seq", "import", "export", "aggregate", "community"]) else { return nil }

        var vrf: VRFName? = nil
        if let f = spec["vrf"] { vrf = f.validated(VRFName.init(validating:)) } else { specField.error("missing required field 'vrf'", fix: "name the VRF, e.g. vrf: vrf1") }
        var seq: Int? = nil
        if let f = spec["seq"] { seq = f.integer(in: seqRange).map(Int.init) } else { specField.error("missing required field 'seq'", fix: "add seq: <1..65534>, unique among the CRs of this VRF") }
        let imports = spec["import"].map { readItems($0) } ?? []
        let exports = spec["export"].map { readItems($0) } ?? []

        var aggregates: [IPPrefix] = []
        for element in spec["aggregate"]?.sequence() ?? [] {
            guard let p = readPrefix(element) else { continue }
            if aggregates.contains(p) {
                element.error("aggregate \(p) is listed twice", fix: "list it once")
            } else {
                aggregates.append(p)
            }
        }
        let community = spec["community"].flatMap { $0.isNull ? nil : $0.validated(Community.init(validating:)) }

        guard raw.sink.items.count == errorsBefore, let name, let vrf, let seq else { return nil }
        return RouteConfiguration(
            name: name, location: SourceLocation(file: raw.file, line: raw.line, object: "\(kind) \"\(name)\""),
            vrf: vrf, vrfLocation: spec["vrf"]!.location,
            seq: seq, seqLocation: spec["seq"]!.location,
            imports: imports, exports: exports,
            aggregates: aggregates.sorted(), aggregateLocation: spec["aggregate"]?.location,
            community: community)
    }

    /// A canonical prefix; anything else is refused with the canonical form.
    static func readPrefix(_ f: Field) -> IPPrefix? {
        guard let text = f.string() else { return nil }
        switch IPPrefix.parse(text) {
        case .success(let p):
            return p
        case .failure(.malformed):
            f.error("\(quoted(text)) is not an IPv4 or IPv6 prefix", fix: "write ADDRESS/LENGTH, e.g. 203.0.113.0/24 or 2001:db8::/48")
        case .failure(.missingLength(let suggestion)):
            f.error("\(quoted(text)) has no prefix length", fix: "write e.g. '\(suggestion)'")
        case .failure(.lengthOutOfRange(let max)):
            f.error("the prefix length of \(quoted(text)) is above \(max)", fix: "use a length in 0..\(max)")
        case .failure(.notCanonical(let canonical)):
            let hostBits = IPPrefix.parse(canonical).map { p -> Bool in
                IPAddress(parsing: text.split(separator: "/")[0]).map { $0 != p.address } ?? false
            }
            if case .success(true) = hostBits {
                f.error("\(quoted(text)) has host bits set", fix: "write the network '\(canonical)'")
            } else {
                f.error("\(quoted(text)) is not in canonical form", fix: "write '\(canonical)'")
            }
        }
        return nil
    }

    /// An import or export list.
    static func readItems(_ list: Field) -> [PrefixItem] {
        var items: [PrefixItem] = []
        var bySeq: [UInt32: Int] = [:]
        var byContent: [String: Int] = [:]
        for (index, f) in (list.sequence() ?? []).enumerated() {
            guard let fields = f.mapping(allowed: ["cidr", "action", "seq", "ge", "le"]) else { continue }
            var ok = true
            var prefix: IPPrefix? = nil
            if let c = fields["cidr"] { prefix = readPrefix(c) } else { f.error("missing required field 'cidr'", fix: "add e.g. cidr: 203.0.113.0/24"); ok = false }
            var action: PrefixAction? = nil
            if let a = fields["action"] {
                if let text = a.string() {
                    action = PrefixAction(rawValue: text)
                    if action == nil { a.error("\(quoted(text)) is not an action", fix: "use permit or deny") }
                }
            } else {
                f.error("missing required field 'action'", fix: "add action: permit or action: deny"); ok = false
            }
            var seq = UInt32(index + 1)
            var seqIsDefault = true
            if let s = fields["seq"] {
                if let v = s.integer(in: 1...4_294_967_295) { seq = UInt32(v); seqIsDefault = false } else { ok = false }
            }
            let maxLen = UInt64(prefix?.family.maxLength ?? 128)
            let ge = fields["ge"].flatMap { $0.integer(in: 1...maxLen) }.map(Int.init)
            let le = fields["le"].flatMap { $0.integer(in: 1...maxLen) }.map(Int.init)
            if (fields["ge"] != nil && ge == nil) || (fields["le"] != nil && le == nil) { ok = false }

            // FRR's rule: prefix length <= ge <= le <= 32/128. vtysh --dryrun
            // lets violations through; a running FRR refuses them at load.
            if let p = prefix {
                let rule = "FRR requires prefix length <= ge <= le <= \(p.family.maxLength)"
                if let ge, ge < p.length {
                    fields["ge"]!.error("ge \(ge) is below the prefix length \(p.length) of \(p)", fix: "\(rule); use ge \(p.length) or more, or drop ge"); ok = false
                }
                if let le, le < p.length {
                    fields["le"]!.error("le \(le) is below the prefix length \(p.length) of \(p)", fix: "\(rule); use le \(p.length) or more, or drop le"); ok = false
                }
                if let ge, let le, ge > le {
                    fields["le"]!.error("le \(le) is below ge \(ge)", fix: "\(rule); use le \(ge) or more"); ok = false
                }
            }
            guard ok, let prefix, let action else { continue }

            if let other = bySeq[seq] {
                let how = seqIsDefault ? "seq \(seq) (the default for item [\(index)], its position + 1)" : "seq \(seq)"
                (fields["seq"] ?? f).error("\(how) is also used by item [\(other)] of this list", fix: "give each item its own seq")
                continue
            }
            let key = "\(prefix) \(action) \(ge ?? -1) \(le ?? -1)"
            if let other = byContent[key] {
                f.error("item [\(index)] repeats item [\(other)] (same cidr, action, ge and le)", fix: "remove one of them")
                continue
            }
            bySeq[seq] = index
            byContent[key] = index
            items.append(PrefixItem(seq: seq, action: action, prefix: prefix, ge: ge, le: le))
        }
        return items
    }
}

extension Field {
    /// The value of `key` in this mapping, without reporting anything.
    func mappingValue(_ key: String) -> Field? {
        guard case .mapping(let m) = node else { return nil }
        for (k, v) in m {
            if case .scalar(let s) = k, s.string == key { return self.key(key, v) }
        }
        return nil
    }
}
