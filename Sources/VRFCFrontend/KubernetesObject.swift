import VRFCModel
import VRFCYAML

/// What every Kubernetes object vrfc reads has: apiVersion, kind and the
/// parts of `metadata` it uses. kubectl's output also carries the server's
/// metadata (uid, resourceVersion, managedFields, annotations, ...): ignored.
struct KubernetesObject {
    /// The object's top-level fields, reported as part of the named object.
    var top: Fields
    var name: ObjectName
    var namespace: String?
    var labels: [String: String]
    /// The object's root, for messages about the whole object.
    var field: Field
    /// `Kind "name"`, how messages name it.
    var label: String

    /// Reads the header of one object of `kind`; nil (after reporting) when
    /// the name is missing or invalid or the top level is not a mapping.
    static func read(
        _ raw: Field, kind: String, apiVersions: [String], label: String,
        allowed: [String], ignored: Set<String> = []
    ) -> KubernetesObject? {
        guard case .mapping = raw.node else {
            raw.with(object: label).error("expected a \(kind) object, found \(raw.kindName)")
            return nil
        }
        let (name, object) = Self.name(of: raw, kind: kind, label: label)
        var namespace: String? = nil
        var labels: [String: String] = [:]
        guard let top = object.mapping(allowed: allowed, ignored: ignored) else { return nil }
        checkType(top, of: object, kind: kind, apiVersions: apiVersions)
        if let metadata = top["metadata"], case .mapping(let m) = metadata.node {
            let meta = Fields(path: metadata.path, context: metadata.context, pairs: m.pairs)
            if let ns = meta["namespace"], !ns.isNull { namespace = ns.validated(ObjectName.init(validating:))?.value }
            if let l = meta["labels"], !l.isNull { labels = readLabels(l) }
        }
        guard let name else { return nil }
        return KubernetesObject(top: top, name: name, namespace: namespace, labels: labels, field: object, label: "\(kind) \"\(name)\"")
    }

    /// `metadata.name`, reported when missing or invalid, and the object's
    /// root for messages about it: named `Kind "name"` once the name is known.
    static func name(of raw: Field, kind: String, label: String) -> (name: ObjectName?, object: Field) {
        guard let metadata = raw.value("metadata"), case .mapping = metadata.node, let nameField = metadata.value("name") else {
            raw.with(object: label, path: .key(.key(.root, "metadata"), "name")).error(
                "missing metadata.name", fix: "give the object a name")
            return (nil, raw.with(object: label))
        }
        guard let name = nameField.with(object: label, path: .key(.key(.root, "metadata"), "name")).validated(ObjectName.init(validating:))
        else { return (nil, raw.with(object: label)) }
        return (name, raw.with(object: "\(kind) \"\(name)\"", path: .root))
    }

    /// `apiVersion` and `kind`, each reported when missing or not `kind`'s.
    static func checkType(_ top: Fields, of object: Field, kind: String, apiVersions: [String]) {
        if let f = top["apiVersion"] {
            if let v = f.string(), !apiVersions.contains(v) {
                f.error("apiVersion \(quoted(v)) is not supported", fix: "write apiVersion: \(apiVersions.joined(separator: " or "))")
            }
        } else {
            object.error("missing apiVersion", fix: "write apiVersion: \(apiVersions[0])")
        }
        if let f = top["kind"] {
            if let k = f.string(), k != kind { f.error("kind \(quoted(k)) is not \(kind)") }
        } else {
            // Only list items get here without one; kubectl writes it on each.
            object.error("missing kind", fix: "write kind: \(kind)")
        }
    }

    /// `metadata.labels`: string keys to string values (what the API server
    /// accepts; vrfc only compares them with selectors).
    static func readLabels(_ f: Field) -> [String: String] {
        guard case .mapping(let m) = f.node else {
            f.error("expected a mapping of label names to values, found \(f.kindName)")
            return [:]
        }
        var out: [String: String] = [:]
        for pair in m.pairs {
            let value = f.key(pair.key.text, pair.value)
            guard LabelSelector.isLabelKey(pair.key.text) else {
                value.error("\(quoted(pair.key.text)) is not a label name", fix: "expected \(LabelSelector.keyRule)")
                continue
            }
            // An empty label value is valid and written as "" (or nothing).
            let text: String?
            if case .scalar(let s) = pair.value, s.isNull, s.style == .plain { text = "" } else { text = value.string() }
            guard let text else { continue }
            guard LabelSelector.isLabelValue(text) else {
                value.error("\(quoted(text)) is not a label value", fix: "expected \(LabelSelector.valueRule)")
                continue
            }
            out[pair.key.text] = text
        }
        return out
    }
}

/// A Kubernetes label selector (`matchLabels`, `matchExpressions`), as
/// MetalLB's nodeSelectors and ipAddressPoolSelectors use them.
struct LabelSelector: Sendable, Equatable {
    enum Operator: String, Sendable, Equatable { case In, NotIn, Exists, DoesNotExist }
    struct Requirement: Sendable, Equatable {
        var key: String
        var op: Operator
        var values: [String]
    }

    var matchLabels: [String: String]
    var requirements: [Requirement]

    /// An empty selector selects everything, as in Kubernetes.
    func matches(_ labels: [String: String]) -> Bool {
        for (k, v) in matchLabels where labels[k] != v { return false }
        for r in requirements {
            let value = labels[r.key]
            switch r.op {
            case .In: if value.map({ !r.values.contains($0) }) ?? true { return false }
            case .NotIn: if let value, r.values.contains(value) { return false }
            case .Exists: if value == nil { return false }
            case .DoesNotExist: if value != nil { return false }
            }
        }
        return true
    }

    static let keyRule =
        "an optional DNS subdomain prefix and '/', then 1 to 63 characters from A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit"
    static let valueRule = "at most 63 characters from A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit"

    static func isLabelKey(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isName(parts[0])
        case 2: return (try? ObjectName(validating: String(parts[0]))) != nil && isName(parts[1])
        default: return false
        }
    }

    static func isLabelValue(_ s: String) -> Bool { s.isEmpty || isName(s[...]) }

    static func isName(_ s: Substring) -> Bool {
        let u = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        guard (1...63).contains(u.count), alnum(u.first!), alnum(u.last!) else { return false }
        return u.allSatisfy { alnum($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
    }

    /// One selector; `keys` are its field names (`matchLabels` or the
    /// legacy ConfigMap's `match-labels`).
    static func read(_ f: Field, labelsKey: String = "matchLabels", expressionsKey: String = "matchExpressions") -> LabelSelector? {
        guard let m = f.mapping(allowed: [labelsKey, expressionsKey]) else { return nil }
        var ok = true
        var labels: [String: String] = [:]
        if let l = m[labelsKey], !l.isNull {
            let before = f.sink.items.count
            labels = KubernetesObject.readLabels(l)
            ok = ok && f.sink.items.count == before
        }
        var requirements: [Requirement] = []
        for e in m[expressionsKey]?.sequence() ?? [] {
            guard let x = e.mapping(allowed: ["key", "operator", "values"]) else {
                ok = false
                continue
            }
            guard let keyField = x["key"], let key = keyField.string() else {
                if x["key"] == nil { e.error("missing required field 'key'") }
                ok = false
                continue
            }
            if !isLabelKey(key) {
                keyField.error("\(quoted(key)) is not a label name", fix: "expected \(keyRule)")
                ok = false
            }
            guard let opField = x["operator"], let opText = opField.string() else {
                if x["operator"] == nil { e.error("missing required field 'operator'", fix: "use In, NotIn, Exists or DoesNotExist") }
                ok = false
                continue
            }
            guard let op = Operator(rawValue: opText) else {
                opField.error("\(quoted(opText)) is not an operator", fix: "use In, NotIn, Exists or DoesNotExist")
                ok = false
                continue
            }
            var values: [String] = []
            for v in x["values"]?.sequence() ?? [] { if let s = v.string() { values.append(s) } else { ok = false } }
            // The API server's rule: In/NotIn need values, Exists/DoesNotExist none.
            if (op == .In || op == .NotIn) && values.isEmpty {
                (x["values"] ?? e).error("operator \(op.rawValue) needs at least one value")
                ok = false
            }
            if (op == .Exists || op == .DoesNotExist) && !values.isEmpty {
                x["values"]!.error("operator \(op.rawValue) takes no values", fix: "remove values")
                ok = false
            }
            requirements.append(Requirement(key: key, op: op, values: values))
        }
        return ok ? LabelSelector(matchLabels: labels, requirements: requirements) : nil
    }
}
