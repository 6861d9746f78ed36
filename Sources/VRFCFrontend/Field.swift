import VRFCModel
import VRFCYAML

/// Collects every problem of a run, so the user sees all of them at once.
final class DiagnosticSink {
    var items: [Diagnostic] = []
    func add(_ d: Diagnostic) { items.append(d) }
}

/// A field path like `spec.import[2].cidr`, built only when a message needs
/// it: most fields are valid, and formatting a path for each would dominate
/// the time spent on large inputs.
indirect enum FieldPath: CustomStringConvertible {
    case root
    case key(FieldPath, String)
    case index(FieldPath, Int)

    var description: String {
        switch self {
        case .root: ""
        case .key(.root, let k): k
        case .key(let p, let k): "\(p).\(k)"
        case .index(let p, let i): "\(p)[\(i)]"
        }
    }

    var isRoot: Bool { if case .root = self { true } else { false } }
}

/// The last step of a path, kept unboxed so that looking at a field does
/// not allocate; only a field's children box it into their parent path.
enum PathLeaf {
    case none
    case key(String)
    case index(Int)

    func appended(to parent: FieldPath) -> FieldPath {
        switch self {
        case .none: parent
        case .key(let k): .key(parent, k)
        case .index(let i): .index(parent, i)
        }
    }
}

/// A YAML node with everything a message needs: file, object, field path.
/// Accessors report a diagnostic and return nil when the node is not what
/// the schema asks for, so parsing goes on and finds the next problem too.
struct Field {
    let node: YNode
    let parentPath: FieldPath
    let leaf: PathLeaf
    let context: Context

    /// What is shared by all fields of one object.
    final class Context {
        let file: String
        let object: String?
        let sink: DiagnosticSink

        init(file: String, object: String?, sink: DiagnosticSink) {
            self.file = file
            self.object = object
            self.sink = sink
        }
    }

    init(node: YNode, path: FieldPath = .root, context: Context) {
        self.init(node: node, parent: path, leaf: .none, context: context)
    }

    init(node: YNode, parent: FieldPath, leaf: PathLeaf, context: Context) {
        self.node = node
        parentPath = parent
        self.leaf = leaf
        self.context = context
    }

    var path: FieldPath { leaf.appended(to: parentPath) }

    var sink: DiagnosticSink { context.sink }
    var line: Int { node.line }
    var location: SourceLocation {
        SourceLocation(file: context.file, line: line, object: context.object, field: path.isRoot ? nil : path.description)
    }

    func error(_ message: String, fix: String? = nil) {
        sink.add(Diagnostic(location, message, fix: fix))
    }

    func key(_ name: String, _ node: YNode) -> Field { Field(node: node, parent: path, leaf: .key(name), context: context) }
    func element(_ index: Int, _ node: YNode) -> Field { Field(node: node, parent: path, leaf: .index(index), context: context) }

    /// The same node, reported as part of another object from now on.
    func with(object: String, path: FieldPath? = nil) -> Field {
        Field(node: node, path: path ?? self.path, context: Context(file: context.file, object: object, sink: sink))
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return s.isNull }
        return false
    }

    var kindName: String { ScalarRules.kindName(node) }

    /// The mapping's fields. Unknown keys are errors (a typo must not
    /// silently drop config), with the closest known key suggested.
    func mapping(allowed: [String], ignored: Set<String> = []) -> Fields? {
        guard case .mapping(let m) = node else {
            error("expected a mapping, found \(kindName)")
            return nil
        }
        for pair in m.pairs where !allowed.contains(pair.key.text) && !ignored.contains(pair.key.text) {
            let f = key(pair.key.text, pair.value)
            let list = allowed.joined(separator: ", ")
            if let near = closest(to: pair.key.text, in: allowed) {
                f.error("unknown field \(quoted(pair.key.text))", fix: "did you mean '\(near)'? (allowed: \(list))")
            } else {
                f.error("unknown field \(quoted(pair.key.text))", fix: "allowed: \(list)")
            }
        }
        return Fields(path: path, context: context, pairs: m.pairs)
    }

    /// Elements of a list; `null` is an empty list.
    func sequence() -> [Field]? {
        if isNull { return [] }
        guard case .sequence(let s) = node else {
            error("expected a list, found \(kindName)")
            return nil
        }
        let path = self.path
        return s.items.enumerated().map { Field(node: $0.element, parent: path, leaf: .index($0.offset), context: context) }
    }

    /// A scalar's text. Any scalar style is accepted: YAML 1.1 reads an
    /// unquoted `65000:100` as a number, but vrfc takes the text as written.
    func string() -> String? { report(ScalarRules.string(node)) }

    func integer(in range: ClosedRange<UInt64>) -> UInt64? { report(ScalarRules.integer(node, in: range)) }

    func prefix() -> IPPrefix? {
        guard let text = string() else { return nil }
        return report(ScalarRules.prefix(text))
    }

    /// The value, or nil after reporting the problem here.
    func report<T>(_ result: Result<T, Problem>) -> T? {
        switch result {
        case .success(let v): return v
        case .failure(let p):
            error(p.message, fix: p.fix)
            return nil
        }
    }

    /// A string checked by one of the validated name types.
    func validated<T>(_ make: (String) throws(NameError) -> T) -> T? {
        guard let s = string() else { return nil }
        do {
            return try make(s)
        } catch {
            self.error("\(quoted(s)) is not valid", fix: "expected \(error.expected)")
            return nil
        }
    }

    /// The value of `key` in this mapping, without reporting anything.
    func value(_ key: String) -> Field? {
        guard case .mapping(let m) = node else { return nil }
        for pair in m.pairs where pair.key.text == key { return self.key(key, pair.value) }
        return nil
    }
}

/// A mapping's fields by key. Mappings here have a handful of keys, so a
/// linear scan beats building a dictionary for each of them.
struct Fields {
    /// The mapping's own path, boxed once for all its fields.
    let path: FieldPath
    let context: Field.Context
    let pairs: [YMapping.Pair]

    subscript(_ key: String) -> Field? {
        for pair in pairs where pair.key.text == key {
            return Field(node: pair.value, parent: path, leaf: .key(key), context: context)
        }
        return nil
    }
}

/// The allowed key within edit distance 2, for "did you mean" hints.
func closest(to word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    // Within distance 2 the lengths differ by at most 2; this also keeps a
    // megabyte-long key from costing a quadratic comparison.
    guard candidates.contains(where: { abs($0.unicodeScalars.count - word.unicodeScalars.count) <= 2 }) else { return nil }
    let w = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.filter { $0.1 <= 2 }
    return scored.min { $0.1 < $1.1 }?.0
}

/// Parses a file's YAML (or JSON) documents; a syntax error becomes a
/// diagnostic with its line.
func documents(of file: InputFile, sink: DiagnosticSink) -> [YNode] {
    let (docs, failure) = YAMLReader.read(file.text) { $0 }
    guard let e = failure else { return docs }
    sink.add(Diagnostic(SourceLocation(file: file.name, line: e.line), e.message, fix: e.fix))
    return []
}
