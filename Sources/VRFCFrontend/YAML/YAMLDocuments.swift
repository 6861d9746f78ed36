import Yams

/// The documents of one input file: read by the fast parser, or by Yams
/// (libyaml) when the file uses YAML the fast parser leaves alone.
enum YAMLDocuments {
    static func parse(_ text: String) -> Result<[YNode], YAMLError> {
        switch FastYAMLParser.parse(text) {
        case .success(let docs): return .success(docs)
        case .failure(.invalid(let e)): return .failure(e)
        case .failure(.unsupported): return parseWithYams(text)
        }
    }

    /// Each document in turn. `restart` is called before the documents are
    /// handed over again from the first (when the fast parser gives up
    /// half-way and Yams takes over), so the caller can drop what it has.
    static func forEach(_ text: String, restart: () -> Void, _ each: (YNode) -> Void) -> YAMLError? {
        switch FastYAMLParser.parse(text, each: each) {
        case .success: return nil
        case .failure(.invalid(let e)): return e
        case .failure(.unsupported):
            restart()
            switch parseWithYams(text) {
            case .success(let docs):
                docs.forEach(each)
                return nil
            case .failure(let e):
                return e
            }
        }
    }

    /// The reference path: full YAML 1.1 through libyaml.
    static func parseWithYams(_ text: String) -> Result<[YNode], YAMLError> {
        do {
            // The basic resolver leaves every scalar a string: vrfc checks
            // types itself.
            let parser = try Parser(yaml: text, resolver: .basic)
            var docs: [YNode] = []
            while let node = try parser.nextRoot() { docs.append(try convert(node)) }
            return .success(docs)
        } catch let e as YAMLError {
            return .failure(e)
        } catch let e as YamlError {
            return .failure(yamlError(e))
        } catch {
            return .failure(YAMLError(message: "cannot parse: \(error)", line: nil, fix: nil))
        }
    }

    static func convert(_ node: Node) throws -> YNode {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let s):
            return .scalar(YScalar(s.string, style(s.style), line: line))
        case .mapping(let m):
            var pairs: [YMapping.Pair] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw YAMLError(message: "mapping keys must be strings", line: k.mark?.line, fix: "write the key as a plain or quoted string")
                }
                pairs.append(YMapping.Pair(key: YScalar(ks.string, style(ks.style), line: ks.mark?.line ?? line), value: try convert(v)))
            }
            return .mapping(YMapping(pairs: pairs, line: line))
        case .sequence(let s):
            return .sequence(YSequence(items: try s.map(convert), line: line))
        case .alias:
            throw YAMLError(message: "YAML aliases are not supported", line: line, fix: "write the value out instead of *alias")
        }
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

    static func yamlError(_ e: YamlError) -> YAMLError {
        switch e {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return YAMLError(message: message, line: mark.line, fix: "see column \(mark.column)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return YAMLError(message: "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping",
                             line: context.mark.line, fix: "keep one of them")
        case .reader(let problem, _, _, _):
            return YAMLError(message: "cannot read: \(problem)", line: nil, fix: nil)
        default:
            return YAMLError(message: "cannot parse: \(e)", line: nil, fix: nil)
        }
    }
}
