import VRFCModel
import Yams

/// Collects every problem of a run, so the user sees all of them at once.
final class DiagnosticSink {
    var items: [Diagnostic] = []
    func add(_ d: Diagnostic) { items.append(d) }
}

/// A YAML node with everything a message needs: file, object, field path.
/// Accessors report a diagnostic and return nil when the node is not what
/// the schema asks for, so parsing goes on and finds the next problem too.
struct Field {
    let node: Node
    let path: String
    let file: String
    let object: String?
    let sink: DiagnosticSink

    var line: Int? { node.mark?.line }
    var location: SourceLocation { SourceLocation(file: file, line: line, object: object, field: path.isEmpty ? nil : path) }

    func error(_ message: String, fix: String? = nil) {
        sink.add(Diagnostic(location, message, fix: fix))
    }

    func key(_ name: String, _ node: Node) -> Field {
        Field(node: node, path: path.isEmpty ? name : "\(path).\(name)", file: file, object: object, sink: sink)
    }

    func element(_ index: Int, _ node: Node) -> Field {
        Field(node: node, path: "\(path)[\(index)]", file: file, object: object, sink: sink)
    }

    func with(object: String) -> Field {
        Field(node: node, path: path, file: file, object: object, sink: sink)
    }

    /// Plain `null`, `~` or nothing: YAML's ways to write "no value".
    var isNull: Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return s.string.isEmpty || s.string == "~" || s.string == "null" || s.string == "Null" || s.string == "NULL"
    }

    var kindName: String {
        switch node {
        case .scalar: isNull ? "null" : "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The mapping's fields by key. Unknown keys are errors (a typo must not
    /// silently drop config), with the closest known key suggested.
    func mapping(allowed: [String], ignored: Set<String> = []) -> [String: Field]? {
        guard case .mapping(let m) = node else {
            error("expected a mapping, found \(kindName)")
            return nil
        }
        var out: [String: Field] = [:]
        for (k, v) in m {
            guard case .scalar(let ks) = k else {
                key("?", v).error("mapping keys must be strings")
                continue
            }
            let name = ks.string
            if allowed.contains(name) {
                out[name] = key(name, v)
            } else if !ignored.contains(name) {
                let f = key(name, v)
                if let near = closest(to: name, in: allowed) {
                    f.error("unknown field '\(name)'", fix: "did you mean '\(near)'? (allowed: \(allowed.joined(separator: ", ")))")
                } else {
                    f.error("unknown field '\(name)'", fix: "allowed: \(allowed.joined(separator: ", "))")
                }
            }
        }
        return out
    }

    /// Elements of a list; `null` is an empty list.
    func sequence() -> [Field]? {
        if isNull { return [] }
        guard case .sequence(let s) = node else {
            error("expected a list, found \(kindName)")
            return nil
        }
        return s.enumerated().map { element($0.offset, $0.element) }
    }

    /// A scalar's text. Any scalar style is accepted: YAML 1.1 reads an
    /// unquoted `65000:100` as a number, but vrfc takes the text as written.
    func string() -> String? {
        guard case .scalar(let s) = node, !isNull else {
            error("expected a string, found \(kindName)")
            return nil
        }
        return s.string
    }

    /// An unquoted decimal integer in `range`, as the Kubernetes API would
    /// insist for an integer field.
    func integer(in range: ClosedRange<UInt64>) -> UInt64? {
        guard case .scalar(let s) = node, !isNull else {
            error("expected an integer in \(range.lowerBound)..\(range.upperBound), found \(kindName)")
            return nil
        }
        let text = s.string
        let digits = !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        if s.style == .singleQuoted || s.style == .doubleQuoted {
            if digits {
                error("expected an integer, found the string \"\(text)\"", fix: "write \(text) without quotes")
            } else {
                error("expected an integer in \(range.lowerBound)..\(range.upperBound), found the string \"\(text)\"")
            }
            return nil
        }
        guard digits, text.utf8.count <= 20, let v = UInt64(text) else {
            error("expected an integer in \(range.lowerBound)..\(range.upperBound), found '\(text)'")
            return nil
        }
        if text.utf8.count > 1 && text.utf8.first == 0x30 {
            error("'\(text)' has a leading zero, which YAML may read as octal", fix: "write \(v)")
            return nil
        }
        guard range.contains(v) else {
            error("\(v) is out of range", fix: "use a value in \(range.lowerBound)..\(range.upperBound)")
            return nil
        }
        return v
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
}

/// Shows a string with its invisible characters made visible, so a message
/// about a stray newline or tab is readable.
func quoted(_ s: String) -> String {
    var out = "'"
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "'": out += "\\'"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "'"
}

/// The allowed key within edit distance 2, for "did you mean" hints.
func closest(to word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.filter { $0.1 <= 2 }
    return scored.min { $0.1 < $1.1 }?.0
}

/// Parses a file's YAML (or JSON) documents; a syntax error becomes a
/// diagnostic with its line and column.
func documents(of file: InputFile, sink: DiagnosticSink) -> [Node] {
    do {
        // The basic resolver leaves every scalar a string: vrfc checks types
        // itself, and skipping tag regexes keeps large inputs fast.
        let parser = try Parser(yaml: file.text, resolver: .basic)
        var nodes: [Node] = []
        while let node = try parser.nextRoot() { nodes.append(node) }
        return nodes
    } catch let e as YamlError {
        sink.add(yamlDiagnostic(e, file: file.name))
        return []
    } catch {
        sink.add(Diagnostic(SourceLocation(file: file.name), "cannot parse: \(error)"))
        return []
    }
}

func yamlDiagnostic(_ e: YamlError, file: String) -> Diagnostic {
    switch e {
    case .scanner(let context, let problem, let mark, _),
         .parser(let context, let problem, let mark, _),
         .composer(let context, let problem, let mark, _):
        var message = "YAML syntax error: \(problem)"
        if let context { message += " (\(context.text) at line \(context.mark.line))" }
        return Diagnostic(SourceLocation(file: file, line: mark.line), message, fix: "column \(mark.column)")
    case .duplicatedKeysInMapping(let duplicates, let context):
        return Diagnostic(SourceLocation(file: file, line: context.mark.line),
                          "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping",
                          fix: "keep one of them")
    case .reader(let problem, _, _, _):
        return Diagnostic(SourceLocation(file: file), "cannot read: \(problem)")
    default:
        return Diagnostic(SourceLocation(file: file), "cannot parse: \(e)")
    }
}
