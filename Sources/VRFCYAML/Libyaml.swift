import VRFCModel
import Yams

/// The reference reader: full YAML 1.1 through libyaml (via Yams), with
/// vrfc's limits. `YAMLReader` sends it every text the fast reader declines.
enum Libyaml {
    /// The reference path: full YAML 1.1 through libyaml, with vrfc's
    /// limits: no aliases, no tags, at most `YAMLLimits.maxDepth` levels.
    static func parse(_ text: String) -> Result<[YNode], YAMLError> {
        if let e = aliasError(text) { return .failure(e) }
        do {
            // The basic resolver leaves every scalar a string: vrfc checks
            // types itself.
            let parser = try Parser(yaml: text, resolver: .basic)
            var docs: [YNode] = []
            while let node = try parser.nextRoot() { docs.append(try convert(node, depth: 1)) }
            return .success(docs)
        } catch let e as YAMLError {
            return .failure(e)
        } catch let e as YamlError {
            return .failure(yamlError(e, text: text))
        } catch {
            return .failure(YAMLError(message: "cannot parse: \(error)", line: nil, fix: nil))
        }
    }

    /// Kubernetes tooling never writes aliases, and composing them is how a
    /// 1 KB document becomes billions of nodes (Yams even hashes whole
    /// aliased keys), so a text with one is refused before libyaml composes
    /// it. An alias can only stand where a node starts: the text with every
    /// `*` replaced by `X` (same length, no alias left, safe to compose)
    /// shows where nodes start, and a node starting at a `*` of the real
    /// text is an alias.
    static func aliasError(_ text: String) -> YAMLError? {
        guard text.utf8.contains(UInt8(ascii: "*")) else { return nil }
        // Positions of the `*`s as libyaml counts them: lines from 1 after
        // LF, CR, CRLF, NEL, LS or PS; columns in Unicode scalars from 1.
        var stars: Set<Position> = []
        var line = 1
        var column = 1
        var previous: Unicode.Scalar? = nil
        // A leading BOM is a character of column 1 to libyaml (as Yams calls it).
        for u in text.unicodeScalars {
            switch u {
            case "\n" where previous == "\r":
                break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
                column = 1
            default:
                if u == "*" { stars.insert(Position(line: line, column: column)) }
                column += 1
            }
            previous = u
        }
        let neutral = String(decoding: text.utf8.map { $0 == UInt8(ascii: "*") ? UInt8(ascii: "X") : $0 }, as: UTF8.self)
        do {
            let parser = try Parser(yaml: neutral, resolver: .basic)
            var first: Position? = nil
            while let root = try parser.nextRoot(), first == nil {
                // Iterative: libyaml allows 1,000 levels.
                var pending = [root]
                while let node = pending.popLast() {
                    switch node {
                    case .scalar(let s):
                        if let m = s.mark, case let p = Position(line: m.line, column: m.column), stars.contains(p),
                            first.map({ p < $0 }) ?? true
                        {
                            first = p
                        }
                    case .mapping(let m):
                        for (k, v) in m { pending += [k, v] }
                    case .sequence(let q):
                        pending += q.map { $0 }
                    case .alias:
                        break
                    }
                }
            }
            return first.map {
                YAMLError(
                    message: "YAML aliases (*name) are not supported", line: $0.line,
                    fix: "write the value out; Kubernetes tooling never writes aliases")
            }
        } catch let e as YamlError {
            return yamlError(e, text: neutral)
        } catch {
            return YAMLError(message: "cannot parse: \(error)", line: nil, fix: nil)
        }
    }

    struct Position: Hashable, Comparable {
        let line: Int, column: Int
        static func < (a: Position, b: Position) -> Bool { (a.line, a.column) < (b.line, b.column) }
    }

    static func convert(_ node: Node, depth: Int) throws -> YNode {
        let line = node.mark?.line ?? 0
        // `depth` counts the collections down to this node, this one included.
        if depth > YAMLLimits.maxDepth, node.scalar == nil { throw YAMLLimits.tooDeep(line: line) }
        // `!!str 10` would otherwise reach the schema as a plain 10.
        if let tag = explicitTag(node) {
            throw YAMLError(
                message: "YAML tags such as \(quoted(tag)) are not supported", line: line,
                fix: "write the value without a tag (quote a string that looks like a number)")
        }
        switch node {
        case .scalar(let s):
            return .scalar(YScalar(s.string, style(s.style), line: line))
        case .mapping(let m):
            var pairs: [YMapping.Pair] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw YAMLError(
                        message: "mapping keys must be strings", line: k.mark?.line, fix: "write the key as a plain or quoted string")
                }
                // Yams resolves a key's tag when it hashes keys for its duplicate
                // check, so an untagged key may show up as `!!str`.
                if let tag = explicitTag(k), tag != Tag.Name.str.rawValue {
                    throw YAMLError(
                        message: "YAML tags such as \(quoted(tag)) are not supported", line: ks.mark?.line ?? line,
                        fix: "write the key without a tag")
                }
                pairs.append(
                    YMapping.Pair(
                        key: YScalar(ks.string, style(ks.style), line: ks.mark?.line ?? line), value: try convert(v, depth: depth + 1)))
            }
            return .mapping(YMapping(pairs: pairs, line: line))
        case .sequence(let s):
            return .sequence(YSequence(items: try s.map { try convert($0, depth: depth + 1) }, line: line))
        case .alias:
            throw YAMLError(message: "YAML aliases are not supported", line: line, fix: "write the value out instead of *alias")
        }
    }

    /// The tag written on a node, if any: the stored tag, which Yams
    /// leaves empty unless one was written (until something resolves it).
    /// Yams gives quoted scalars `!!str` of its own, so that one counts
    /// only on a plain scalar.
    static func explicitTag(_ node: Node) -> String? {
        let name: String
        switch node {
        case .scalar(let s):
            name = s.tag.description
            if name == Tag.Name.str.rawValue && s.style != .plain && s.style != .any { return nil }
        case .mapping(let m): name = m.tag.description
        case .sequence(let q): name = q.tag.description
        case .alias: return nil
        }
        return name.isEmpty ? nil : name
    }

    static func style(_ s: Node.Scalar.Style) -> YScalar.Style {
        switch s {
        case .singleQuoted: .singleQuoted
        case .doubleQuoted: .doubleQuoted
        case .literal: .literal
        case .folded: .folded
        case .any, .plain: .plain
        }
    }

    static func yamlError(_ e: YamlError, text: String) -> YAMLError {
        switch e {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return YAMLError(message: message, line: mark.line, fix: "see column \(mark.column)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return YAMLError(
                message: "duplicate key \(duplicates.map { quoted($0) }.joined(separator: ", ")) in one mapping",
                line: context.mark.line, fix: "keep one of them")
        case .reader(let problem, let offset, let value, _):
            // Yams gives the offset in Characters; count the line breaks before it.
            let line = offset.map { o in 1 + text.prefix(o).reduce(0) { $0 + ($1.isNewline ? 1 : 0) } }
            let what = value >= 0 ? " (U+\(String(value, radix: 16, uppercase: true).leftPadded(4)))" : ""
            return YAMLError(
                message: "cannot read: \(problem)\(what)", line: line,
                fix: "remove it; inside a double-quoted string write it as an escape such as \\x01")
        default:
            return YAMLError(message: "cannot parse: \(e)", line: nil, fix: nil)
        }
    }
}
