// A Mustache-syntax template engine that knows nothing of what it renders:
// the context (its views and the names they answer to) is the caller's, given
// as the `Key` type, and so is any parallelism (rendering one top-level piece,
// or a range of a list section's elements, at a time).

import VRFCModel  // `quoted` for names in messages

/// The names a context answers to. Templates are compiled to these keys once,
/// so rendering compares small values instead of strings; a name the context
/// does not know (`init?(name:)` is nil) renders as nothing, as Mustache says.
public protocol TemplateKey: Hashable, Sendable {
    init?(name: String)
}

/// A value a template can show or iterate.
public enum TemplateValue<Key: TemplateKey>: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list(any TemplateList<Key>)
    case object(any TemplateObject<Key>)
    /// Element `index` of a list of objects, whose fields the list answers.
    /// Lists hand these out instead of an object per element, so iterating
    /// hundreds of thousands of elements allocates nothing.
    case element(any TemplateList<Key>, Int)
}

/// Something with named fields (`{{name}}`, `{{#name}}`).
public protocol TemplateObject<Key>: AnyObject, Sendable {
    associatedtype Key: TemplateKey
    func value(for key: Key) -> TemplateValue<Key>?
}

/// A sequence a section iterates.
public protocol TemplateList<Key>: AnyObject, Sendable {
    associatedtype Key: TemplateKey
    var count: Int { get }
    func element(_ index: Int) -> TemplateValue<Key>
    /// A field of element `index`, for lists whose elements are `.element`s.
    func value(for key: Key, at index: Int) -> TemplateValue<Key>?
}

extension TemplateList {
    public func value(for key: Key, at index: Int) -> TemplateValue<Key>? { nil }
}

/// What one render may cost. Nested sections multiply: eight sections over a
/// 100-element list nested in each other are 10^16 steps.
public struct TemplateBudget: Sendable {
    public var steps: Int
    public var bytes: Int
    public static let standard = TemplateBudget(steps: 100_000_000, bytes: 256 << 20)

    public init(steps: Int, bytes: Int) {
        self.steps = steps
        self.bytes = bytes
    }
}

public struct TemplateError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }

    /// The render that ran out of `budget` at `line`.
    public static func overBudget(line: Int, _ budget: TemplateBudget) -> TemplateError {
        TemplateError(
            line: max(line, 1),
            message: "rendering takes more than \(budget.steps) steps or \(budget.bytes >> 20) MiB (sections nested over long lists?)")
    }
}

/// A logic-less template in Mustache syntax: `{{name}}`, `{{a.b}}`, `{{.}}`,
/// sections `{{#x}}…{{/x}}`, inverted sections `{{^x}}…{{/x}}` and comments
/// `{{! … }}`, with Mustache's rule that a line holding only a section,
/// inverted-section, closing or comment tag disappears from the output.
///
/// Unlike HTML Mustache, values are inserted as they are (the output is not
/// HTML; escaping is the context's business). Partials, lambdas and
/// delimiter changes are not supported and are refused when parsing, so a
/// template never silently renders less than its author wrote.
public struct Template<Key: TemplateKey>: Sendable {
    indirect enum Node: Sendable {
        case text([UInt8])
        case variable(path: [Key?], line: Int)
        case section(path: [Key?], inverted: Bool, body: [Node], line: Int)

        /// The tag's line; text has none of its own (0: the enclosing section's is used).
        var line: Int {
            switch self {
            case .text: 0
            case .variable(_, let l), .section(_, _, _, let l): l
            }
        }
    }

    let nodes: [Node]

    /// Sections nested deeper are refused at load (real templates nest a
    /// few deep); this also bounds the loader's recursion.
    public static var maxSectionDepth: Int { 32 }

    public init(parsing source: String) throws(TemplateError) {
        var parser = Parser(source)
        nodes = try parser.parse()
    }

    public func render(_ root: TemplateValue<Key>, budget: TemplateBudget = .standard) throws(TemplateError) -> String {
        var out: [UInt8] = []
        try render(root, into: &out, budget: budget)
        return String(decoding: out, as: UTF8.self)
    }

    public func render(_ root: TemplateValue<Key>, into out: inout [UInt8], budget: TemplateBudget = .standard) throws(TemplateError) {
        var left = budget
        for part in 0..<partCount {
            if let line = render(part: part, root, into: &out, budget: &left) { throw .overBudget(line: line, budget) }
        }
    }

    // A caller may render the template piece by piece: its top-level pieces
    // in order, and a section over a long list as ranges of its elements.
    // Each element renders on its own, so the pieces and ranges joined in
    // order are the bytes of one pass.

    /// The number of top-level pieces (text, variables, sections).
    public var partCount: Int { nodes.count }

    /// The length of the list that top-level piece `part` iterates, when it
    /// is a (not inverted) section over a list; nil otherwise.
    public func listLength(ofPart part: Int, _ root: TemplateValue<Key>) -> Int? {
        guard case .section(let path, false, _, _) = nodes[part], case .list(let list)? = Self.lookup(path, [root]) else { return nil }
        return list.count
    }

    /// Renders top-level piece `part` into `out` (of a section over a list,
    /// with `elements`, only those elements), spending from `budget` what it
    /// costs. Returns the line at which the budget ran out, nil when it did not.
    public func render(
        part: Int, _ root: TemplateValue<Key>, elements: Range<Int>? = nil,
        into out: inout [UInt8], budget: inout TemplateBudget
    ) -> Int? {
        var stack = [root]
        var meter = Meter(budget: budget, start: out.count)
        let node = nodes[part]
        if let elements, case .section(let path, false, let body, _) = node, case .list(let list)? = Self.lookup(path, stack) {
            for i in elements where meter.exceededAt == nil {
                stack.append(list.element(i))
                Self.render(body, &stack, &out, &meter, line: node.line)
                stack.removeLast()
            }
        } else {
            Self.render([node], &stack, &out, &meter, line: node.line)
        }
        budget = TemplateBudget(steps: meter.stepsLeft, bytes: meter.limit - (out.count - meter.start))
        return meter.exceededAt
    }

    /// Steps and bytes spent so far, and where the budget ran out.
    struct Meter {
        var stepsLeft: Int
        let limit: Int
        let start: Int
        var exceededAt: Int? = nil

        init(budget: TemplateBudget, start: Int) {
            stepsLeft = budget.steps
            limit = budget.bytes
            self.start = start
        }
    }

    /// `line` is that of the innermost section, for the message when the
    /// budget runs out.
    static func render(_ nodes: [Node], _ stack: inout [TemplateValue<Key>], _ out: inout [UInt8], _ meter: inout Meter, line: Int) {
        for node in nodes {
            meter.stepsLeft -= 1
            if meter.stepsLeft < 0 || out.count - meter.start > meter.limit { meter.exceededAt = meter.exceededAt ?? line }
            if meter.exceededAt != nil { return }
            switch node {
            case .text(let bytes):
                out.append(contentsOf: bytes)
            case .variable(let path, _):
                guard let v = lookup(path, stack) else { continue }
                switch v {
                case .string(let s): out.append(contentsOf: s.utf8)
                case .int(let i): appendDecimal(i, &out)
                case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
                case .list, .object, .element: continue
                }
            case .section(let path, let inverted, let body, _):
                let v = lookup(path, stack)
                if inverted {
                    if isFalsey(v) { render(body, &stack, &out, &meter, line: node.line) }
                    continue
                }
                guard let v, !isFalsey(v) else { continue }
                switch v {
                case .list(let list):
                    for i in 0..<list.count where meter.exceededAt == nil {
                        stack.append(list.element(i))
                        render(body, &stack, &out, &meter, line: node.line)
                        stack.removeLast()
                    }
                case .bool:
                    render(body, &stack, &out, &meter, line: node.line)
                default:
                    stack.append(v)
                    render(body, &stack, &out, &meter, line: node.line)
                    stack.removeLast()
                }
            }
        }
    }

    static func appendDecimal(_ value: Int, _ out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }

    static func isFalsey(_ v: TemplateValue<Key>?) -> Bool {
        switch v {
        case nil: true
        case .bool(let b)?: !b
        case .list(let l)?: l.count == 0
        default: false
        }
    }

    /// Mustache name resolution: the first name is looked up from the top of
    /// the context stack down, the rest on the value found.
    static func lookup(_ path: [Key?], _ stack: [TemplateValue<Key>]) -> TemplateValue<Key>? {
        if path.isEmpty { return stack.last }
        var found: TemplateValue<Key>? = nil
        var k = stack.count - 1
        while k >= 0 {
            if let v = field(path[0], of: stack[k]) {
                found = v
                break
            }
            k -= 1
        }
        for key in path.dropFirst() {
            guard let f = found else { return nil }
            found = field(key, of: f)
        }
        return found
    }

    @inline(__always)
    static func field(_ key: Key?, of value: TemplateValue<Key>) -> TemplateValue<Key>? {
        guard let key else { return nil }
        return switch value {
        case .object(let o): o.value(for: key)
        case .element(let list, let i): list.value(for: key, at: i)
        default: nil
        }
    }

    struct Parser {
        let src: [UInt8]
        var i = 0
        var line = 1

        init(_ source: String) { src = Array(source.utf8) }

        enum Token {
            case text(String)
            case variable([Key?], Int)
            case open([Key?], inverted: Bool, Int)
            case close([String], Int)
        }

        mutating func parse() throws(TemplateError) -> [Node] {
            var tokens: [Token] = []
            // Section names as written, to match `{{/name}}` against them.
            var openNames: [[String]] = []
            var depth = 0
            var textStart = 0
            while i < src.count {
                guard src[i] == UInt8(ascii: "{"), i + 1 < src.count, src[i + 1] == UInt8(ascii: "{") else {
                    if src[i] == UInt8(ascii: "\n") { line += 1 }
                    i += 1
                    continue
                }
                let tagStart = i
                let tagLine = line
                let triple = i + 2 < src.count && src[i + 2] == UInt8(ascii: "{")
                var j = i + (triple ? 3 : 2)
                let closer: [UInt8] = triple ? Array("}}}".utf8) : Array("}}".utf8)
                var tagEnd = -1
                while j + closer.count <= src.count {
                    if Array(src[j..<(j + closer.count)]) == closer {
                        tagEnd = j + closer.count
                        break
                    }
                    j += 1
                }
                guard tagEnd > 0 else { throw TemplateError(line: tagLine, message: "unclosed tag") }
                var inner = String(decoding: src[(tagStart + (triple ? 3 : 2))..<(tagEnd - closer.count)], as: UTF8.self)
                let sigil = triple ? Character("&") : inner.first ?? " "
                if !triple, "#^/!&>=<{".contains(sigil) { inner.removeFirst() }
                let name = inner.trimmed(" \t\n")
                line += src[tagStart..<tagEnd].filter { $0 == UInt8(ascii: "\n") }.count

                let standaloneKind = "#^/!".contains(sigil)
                var preceding = String(decoding: src[textStart..<tagStart], as: UTF8.self)
                var next = tagEnd
                if standaloneKind, let after = standaloneEnd(tagStart: tagStart, tagEnd: tagEnd) {
                    // Drop the indentation before the tag and the line break after it.
                    while let last = preceding.last, last == " " || last == "\t" { preceding.removeLast() }
                    next = after
                    if after > tagEnd, src[after - 1] == UInt8(ascii: "\n") { line += 1 }
                }
                if !preceding.isEmpty { tokens.append(.text(preceding)) }
                let names = name == "." ? [] : name.split(separator: ".").map(String.init)
                let path = names.map { Key(name: $0) }
                if sigil == "#" || sigil == "^" {
                    depth += 1
                    if depth > Template.maxSectionDepth {
                        throw TemplateError(line: tagLine, message: "sections nest deeper than \(Template.maxSectionDepth) levels")
                    }
                } else if sigil == "/" {
                    depth -= 1
                }
                switch sigil {
                case "!": break
                case "#":
                    tokens.append(.open(path, inverted: false, tagLine))
                    openNames.append(names)
                case "^":
                    tokens.append(.open(path, inverted: true, tagLine))
                    openNames.append(names)
                case "/": tokens.append(.close(names, tagLine))
                case ">": throw TemplateError(line: tagLine, message: "partials ({{>\(name)}}) are not supported")
                case "=": throw TemplateError(line: tagLine, message: "delimiter changes are not supported")
                case "<": throw TemplateError(line: tagLine, message: "template inheritance is not supported")
                default:
                    guard !name.isEmpty, names.allSatisfy({ !$0.isEmpty }) || name == "." else {
                        throw TemplateError(line: tagLine, message: "empty or malformed name \(quoted(name))")
                    }
                    tokens.append(.variable(path, tagLine))
                }
                i = next
                textStart = next
            }
            if textStart < src.count { tokens.append(.text(String(decoding: src[textStart...], as: UTF8.self))) }
            var index = 0
            var openIndex = 0
            let nodes = try Self.build(tokens, &index, &openIndex, openNames, closing: nil)
            return nodes
        }

        /// If the tag stands alone on its line (only blanks around it), the
        /// index just past its line break; nil otherwise.
        func standaloneEnd(tagStart: Int, tagEnd: Int) -> Int? {
            var k = tagStart - 1
            while k >= 0, src[k] == UInt8(ascii: " ") || src[k] == UInt8(ascii: "\t") { k -= 1 }
            guard k < 0 || src[k] == UInt8(ascii: "\n") else { return nil }
            var m = tagEnd
            while m < src.count, src[m] == UInt8(ascii: " ") || src[m] == UInt8(ascii: "\t") || src[m] == UInt8(ascii: "\r") { m += 1 }
            if m == src.count { return m }
            return src[m] == UInt8(ascii: "\n") ? m + 1 : nil
        }

        static func build(
            _ tokens: [Token], _ index: inout Int, _ openIndex: inout Int, _ openNames: [[String]],
            closing: ([String], Int)?
        ) throws(TemplateError) -> [Node] {
            var nodes: [Node] = []
            while index < tokens.count {
                let t = tokens[index]
                index += 1
                switch t {
                case .text(let s): nodes.append(.text(Array(s.utf8)))
                case .variable(let p, let l): nodes.append(.variable(path: p, line: l))
                case .open(let p, let inverted, let l):
                    let names = openNames[openIndex]
                    openIndex += 1
                    let body = try build(tokens, &index, &openIndex, openNames, closing: (names, l))
                    nodes.append(.section(path: p, inverted: inverted, body: body, line: l))
                case .close(let p, let l):
                    guard let (open, _) = closing else {
                        throw TemplateError(line: l, message: "{{/\(p.joined(separator: "."))}} closes no section")
                    }
                    guard open == p else {
                        throw TemplateError(line: l, message: "{{/\(p.joined(separator: "."))}} closes {{#\(open.joined(separator: "."))}}")
                    }
                    return nodes
                }
            }
            if let (open, l) = closing {
                throw TemplateError(line: l, message: "{{#\(open.joined(separator: "."))}} is never closed")
            }
            return nodes
        }
    }
}

extension String {
    fileprivate func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
