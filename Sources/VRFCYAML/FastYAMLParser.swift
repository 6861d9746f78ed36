import VRFCModel

/// A fast reader for the YAML that people and Kubernetes tooling write:
/// block and flow mappings and sequences, plain and quoted scalars, literal
/// and folded block scalars, comments and multiple documents (JSON is the
/// flow subset). It works on UTF-8 bytes without building intermediate
/// events, which keeps a 12 MB node well under a second.
///
/// Anything outside that subset (anchors, aliases, tags, directives,
/// multi-line plain or quoted scalars, complex keys, odd indentation) makes it
/// give up with `Unsupported`, and the caller re-reads the file with Yams
/// (libyaml): the fast path may decline, but never reads a document
/// differently than a YAML 1.1 parser would. Tests check the two agree.
///
/// It refuses outright (with the line) what libyaml refuses too: control
/// characters anywhere in the text, malformed escapes, duplicate keys, and
/// nesting deeper than `YAMLLimits.maxDepth`, which also bounds its recursion.
struct FastYAMLParser {
    struct Unsupported: Error {
        let reason: String
        let line: Int
    }

    enum Failure: Error {
        case unsupported(Unsupported)
        /// A definite error that libyaml would report too.
        case invalid(YAMLError)
    }

    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var line = 1
    private var lineStart = 0
    /// Collections open around the current position.
    private var depth = 0

    private init(_ buffer: UnsafeBufferPointer<UInt8>) { b = buffer }

    /// Parses every document of `text`.
    static func parse(_ text: String) -> Result<[YNode], Failure> {
        var docs: [YNode] = []
        return parse(text) { docs.append($0) }.map { docs }
    }

    /// Hands each document to `each` as soon as it is read, so a large
    /// multi-document file never exists as one tree. On failure some
    /// documents may already have been handed over.
    static func parse(_ text: String, firstLine: Int = 1, each: (YNode) -> Void) -> Result<Void, Failure> {
        var text = text
        return text.withUTF8 { buffer in
            var p = FastYAMLParser(buffer)
            p.line = firstLine
            do {
                try p.screen()
                try p.stream(each)
                return .success(())
            } catch let e as Unsupported {
                return .failure(.unsupported(e))
            } catch let e as YAMLError {
                return .failure(.invalid(e))
            } catch {
                return .failure(.unsupported(Unsupported(reason: "\(error)", line: p.line)))
            }
        }
    }

    // MARK: bytes

    private static let nl: UInt8 = 0x0A, cr: UInt8 = 0x0D, sp: UInt8 = 0x20, tab: UInt8 = 0x09
    private static let hash = UInt8(ascii: "#"), colon = UInt8(ascii: ":"), dash = UInt8(ascii: "-")
    private static let comma = UInt8(ascii: ","), dq = UInt8(ascii: "\""), sq = UInt8(ascii: "'")

    @inline(__always) private func peek(_ k: Int = 0) -> UInt8 { i + k < b.count ? b[i + k] : 0 }
    @inline(__always) private var atEOF: Bool { i >= b.count }
    @inline(__always) private var column: Int { i - lineStart }
    @inline(__always) private static func isBlank(_ c: UInt8) -> Bool { c == sp || c == tab }
    /// Space, tab, line break or end of input: what must follow `-`, `:`, `---`.
    @inline(__always) private func isWS(_ k: Int) -> Bool {
        let c = peek(k)
        return c == Self.sp || c == Self.tab || c == Self.nl || c == Self.cr || c == 0
    }

    private func unsupported(_ reason: String) -> Unsupported { Unsupported(reason: reason, line: line) }

    /// One pass over the bytes before parsing. libyaml's reader refuses
    /// control characters (C0 but tab and line breaks, DEL, C1, U+FFFE/FFFF)
    /// anywhere in a stream, so this refuses them too, with their line. NEL,
    /// LS, PS and a CR without LF are line breaks to libyaml and a BOM inside
    /// the text is odd: the fast reader leaves those files to libyaml.
    private func screen() throws {
        var k = 0
        var line = self.line
        let n = b.count
        func refuse(_ value: UInt32) -> YAMLError {
            YAMLError(
                message: "control character U+\(String(value, radix: 16, uppercase: true).leftPadded(4)) is not allowed in YAML text",
                line: line,
                fix: "remove it; inside a double-quoted string write it as an escape such as \\x\(String(value, radix: 16).leftPadded(2))")
        }
        while k < n {
            let c = b[k]
            if c >= 0x20 && c < 0x7F {
                k += 1
                continue
            }
            switch c {
            case Self.nl:
                line += 1
                k += 1
            case Self.tab:
                k += 1
            case Self.cr:
                guard k + 1 < n, b[k + 1] == Self.nl else {
                    throw Unsupported(reason: "a CR without LF (a line break to libyaml)", line: line)
                }
                k += 1
            case 0..<0x20, 0x7F:
                throw refuse(UInt32(c))
            case 0xC2 where k + 1 < n:
                let d = b[k + 1]
                if d == 0x85 { throw Unsupported(reason: "NEL (a line break to libyaml)", line: line) }
                if d < 0xA0 { throw refuse(UInt32(d)) }
                k += 2
            case 0xE2 where k + 2 < n && b[k + 1] == 0x80 && (b[k + 2] == 0xA8 || b[k + 2] == 0xA9):
                throw Unsupported(reason: "LS or PS (a line break to libyaml)", line: line)
            case 0xEF where k + 2 < n && b[k + 1] == 0xBF && (b[k + 2] == 0xBE || b[k + 2] == 0xBF):
                throw refuse(b[k + 2] == 0xBE ? 0xFFFE : 0xFFFF)
            case 0xEF where k > 0 && k + 2 < n && b[k + 1] == 0xBB && b[k + 2] == 0xBF:
                throw Unsupported(reason: "a byte order mark inside the text", line: line)
            default:
                k += 1
            }
        }
    }

    /// Opens a collection; past `YAMLLimits.maxDepth` the document is
    /// refused, which keeps recursion bounded whatever the input.
    private mutating func enter() throws {
        depth += 1
        if depth > YAMLLimits.maxDepth { throw YAMLLimits.tooDeep(line: line) }
    }

    /// Spaces between tokens in block context. libyaml accepts a tab there
    /// only in some positions; rather than mirror its rules, decline tabs.
    private mutating func skipSpaces() throws {
        while i < b.count, Self.isBlank(b[i]) {
            if b[i] == Self.tab { throw unsupported("tab in block context") }
            i += 1
        }
    }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    }

    // MARK: lines

    /// Consumes the rest of a line that holds nothing more than blanks and a comment.
    private mutating func finishLine() throws {
        try skipSpaces()
        if peek() == Self.hash {
            // A comment needs a blank before it; `a#b` is part of a value.
            guard i == lineStart || Self.isBlank(b[i - 1]) else { throw unsupported("'#' right after a value") }
            while i < b.count, b[i] != Self.nl { i += 1 }
        }
        if peek() == Self.cr { i += 1 }
        if peek() == Self.nl {
            i += 1
            line += 1
            lineStart = i
        } else if !atEOF {
            throw unsupported("more content after a value on one line")
        }
    }

    /// Moves to the first character of the next line with content; false at end of input.
    private mutating func skipBlankLines() throws -> Bool {
        if atEOF { return false }
        while true {
            var j = i
            while j < b.count, b[j] == Self.sp { j += 1 }
            let c = j < b.count ? b[j] : 0
            if c == 0 && j >= b.count {
                i = j
                return false
            }
            // libyaml takes a tab at the start of a block line as a token
            // (an error), or as indentation of a plain scalar's next line
            // (an error below its indentation): leave such files to it.
            if c == Self.tab { throw unsupported("tab at the start of a line") }
            if c == Self.nl || c == Self.cr || c == Self.hash {
                // Blank or comment-only.
                i = j
                try finishLine()
                if atEOF { return false }
                continue
            }
            i = j
            return true
        }
    }

    private func isMarker(_ c: UInt8) -> Bool {
        column == 0 && peek() == c && peek(1) == c && peek(2) == c && isWS(3)
    }

    // MARK: documents

    private mutating func stream(_ emit: (YNode) -> Void) throws {
        // libyaml (given UTF-8 explicitly, as Yams does) skips a leading
        // BOM as a character of column 0: what follows is at column 1.
        if peek() == 0xEF && peek(1) == 0xBB && peek(2) == 0xBF {
            i = 3
            lineStart = 2
        }
        guard try skipBlankLines() else { return }
        if peek() == UInt8(ascii: "%") { throw unsupported("YAML directive") }
        // libyaml wants a document before a first `...`.
        if isMarker(UInt8(ascii: ".")) { throw unsupported("'...' before any document") }
        while true {
            var explicit = false
            if isMarker(Self.dash) {
                explicit = true
                i += 3
                try finishLine()
                if try atEOF || !skipBlankLines() {
                    emit(.scalar(YScalar("", .plain, line: line)))
                    return
                }
            }
            if isMarker(UInt8(ascii: ".")) {
                i += 3
                try finishLine()
                if explicit { emit(.scalar(YScalar("", .plain, line: line))) }
                if try atEOF || !skipBlankLines() { return }
                try afterDocumentEnd()
                continue
            }
            if isMarker(Self.dash) {
                if explicit { emit(.scalar(YScalar("", .plain, line: line))) }
                continue
            }
            let (node, more) = try blockNode(column: column, parent: -1)
            emit(node)
            guard more else { return }
            if isMarker(UInt8(ascii: ".")) {
                i += 3
                try finishLine()
                if try atEOF || !skipBlankLines() { return }
                try afterDocumentEnd()
            } else if !isMarker(Self.dash) {
                throw unsupported("content after the document's root node")
            }
        }
    }

    /// After `...` libyaml expects `---` (or more `...`), never a bare document.
    private func afterDocumentEnd() throws {
        guard isMarker(Self.dash) || isMarker(UInt8(ascii: ".")) else { throw unsupported("content after '...' without '---'") }
    }

    // MARK: block context
    //
    // Each block function starts at a content character and returns with the
    // position at the first content character of the next line, and whether
    // there is one (false: end of input).

    private mutating func blockNode(column col: Int, parent: Int) throws -> (YNode, Bool) {
        let c = peek()
        if c == Self.dash && isWS(1) { return try blockSequence(column: col) }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
            let node = try flowNode()
            try finishLine()
            return (node, try skipBlankLines())
        }
        if try lineHoldsKey() { return try blockMapping(column: col) }
        let node = try inlineValue(parent: parent)
        return (node, try afterInlineValue())
    }

    /// Whether the current line starts with `key:` (plain or quoted key).
    private func lineHoldsKey() throws -> Bool {
        var j = i
        let c = peek()
        if c == Self.dq || c == Self.sq {
            j += 1
            while j < b.count, b[j] != c, b[j] != Self.nl {
                if c == Self.dq && b[j] == UInt8(ascii: "\\") { j += 1 }
                j += 1
            }
            guard j < b.count, b[j] == c else { return false }
            j += 1
            while j < b.count, Self.isBlank(b[j]) { j += 1 }
            return j < b.count && b[j] == Self.colon && (j + 1 >= b.count || [Self.sp, Self.tab, Self.nl, Self.cr].contains(b[j + 1]))
        }
        while j < b.count, b[j] != Self.nl {
            if b[j] == Self.colon {
                let n = j + 1 < b.count ? b[j + 1] : 0
                if n == Self.sp || n == Self.tab || n == Self.nl || n == Self.cr || n == 0 { return true }
            }
            if b[j] == Self.hash && j > i && Self.isBlank(b[j - 1]) { return false }
            j += 1
        }
        return false
    }

    private mutating func blockMapping(column col: Int) throws -> (YNode, Bool) {
        try enter()
        defer { depth -= 1 }
        let startLine = line
        var pairs: [YMapping.Pair] = []
        var keys = KeySet()
        while true {
            guard try lineHoldsKey() else { throw unsupported("a mapping line without 'key:'") }
            let key = try blockKey()
            try keys.insert(key, pairs)
            i += 1  // the ':'
            let (value, more) = try valueAfterIndicator(parent: col, inMapping: true)
            pairs.append(YMapping.Pair(key: key, value: value))
            guard more, !isMarker(Self.dash), !isMarker(UInt8(ascii: ".")) else {
                return (.mapping(YMapping(pairs: pairs, line: startLine)), more)
            }
            if column < col { return (.mapping(YMapping(pairs: pairs, line: startLine)), true) }
            if column > col { throw unsupported("unexpected indentation") }
            if peek() == Self.dash && isWS(1) { throw unsupported("sequence entry inside a mapping") }
        }
    }

    /// libyaml's simple keys are single-line and reach their ':' within 1024
    /// characters (counted here in bytes, never fewer).
    private static let simpleKeyLimit = 1024

    /// A mapping key, leaving the position on its ':'.
    private mutating func blockKey() throws -> YScalar {
        let keyLine = line
        let c = peek()
        if c == Self.dq || c == Self.sq {
            let start = i
            let s = try quoted()
            try skipSpaces()
            guard peek() == Self.colon else { throw unsupported("quoted key without ':'") }
            guard i - start <= Self.simpleKeyLimit else { throw unsupported("not a simple key") }
            return s
        }
        if Self.isIndicator(c) { throw unsupported("key starting with an indicator") }
        let start = i
        if c == Self.colon { throw unsupported("key starting with ':'") }
        while i < b.count, b[i] != Self.nl {
            if b[i] == Self.colon && isWS(1) { break }
            if b[i] == Self.tab { throw unsupported("tab in a key") }
            i += 1
        }
        guard peek() == Self.colon, i - start <= Self.simpleKeyLimit else { throw unsupported("not a simple key") }
        var end = i
        while end > start, Self.isBlank(b[end - 1]) { end -= 1 }
        return YScalar(text(start, end), .plain, line: keyLine)
    }

    /// The value after `key:` or `- `: on the same line, or as a block on the following lines.
    private mutating func valueAfterIndicator(parent: Int, inMapping: Bool) throws -> (YNode, Bool) {
        let indicatorLine = line
        try skipSpaces()
        let c = peek()
        if c == Self.nl || c == Self.cr || c == 0 || c == Self.hash {
            try finishLine()
            let null = YNode.scalar(YScalar("", .plain, line: indicatorLine))
            guard !atEOF, try skipBlankLines() else { return (null, false) }
            if isMarker(Self.dash) || isMarker(UInt8(ascii: ".")) { return (null, true) }
            if column > parent { return try blockNode(column: column, parent: parent) }
            // YAML lets a mapping's sequence value sit at the key's own indentation.
            if inMapping && column == parent && peek() == Self.dash && isWS(1) { return try blockSequence(column: column) }
            return (null, true)
        }
        if !inMapping {
            // Compact forms inside a sequence entry: `- - x` and `- key: v`.
            if c == Self.dash && isWS(1) { return try blockSequence(column: column) }
            if c != UInt8(ascii: "[") && c != UInt8(ascii: "{"), try lineHoldsKey() { return try blockMapping(column: column) }
        }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
            let node = try flowNode()
            try finishLine()
            return (node, try skipBlankLines())
        }
        if c == UInt8(ascii: "|") || c == UInt8(ascii: ">") { return try blockScalar(parent: parent) }
        let node = try inlineValue(parent: parent)
        return (node, try afterInlineValue())
    }

    /// A scalar on the current line (quoted or plain).
    private mutating func inlineValue(parent: Int) throws -> YNode {
        let c = peek()
        if c == Self.dq || c == Self.sq { return .scalar(try quoted()) }
        if Self.isIndicator(c) || c == Self.colon || (c == Self.dash && isWS(1)) { throw unsupported("value starting with an indicator") }
        let start = i
        let startLine = line
        while i < b.count {
            let x = b[i]
            if x == Self.nl || x == Self.cr { break }
            if x == Self.tab { throw unsupported("tab in a plain value") }
            if x == Self.hash && i > start && Self.isBlank(b[i - 1]) { break }
            if x == Self.colon && isWS(1) { throw unsupported("': ' inside a plain value") }
            i += 1
        }
        var end = i
        while end > start, Self.isBlank(b[end - 1]) { end -= 1 }
        return .scalar(YScalar(text(start, end), .plain, line: startLine))
    }

    private mutating func afterInlineValue() throws -> Bool {
        try finishLine()
        return try !atEOF && skipBlankLines()
    }

    private mutating func blockSequence(column col: Int) throws -> (YNode, Bool) {
        try enter()
        defer { depth -= 1 }
        let startLine = line
        var items: [YNode] = []
        while true {
            i += 1  // the '-'
            let (item, more) = try valueAfterIndicator(parent: col, inMapping: false)
            items.append(item)
            guard more, !isMarker(Self.dash), !isMarker(UInt8(ascii: ".")) else {
                return (.sequence(YSequence(items: items, line: startLine)), more)
            }
            if column > col { throw unsupported("unexpected indentation") }
            if column < col || !(peek() == Self.dash && isWS(1)) {
                return (.sequence(YSequence(items: items, line: startLine)), true)
            }
        }
    }

    /// `|` or `>` with optional chomping and indentation indicators.
    private mutating func blockScalar(parent: Int) throws -> (YNode, Bool) {
        let startLine = line
        let folded = peek() == UInt8(ascii: ">")
        i += 1
        var chomp: UInt8 = 0  // 0 clip, '-' strip, '+' keep
        var explicitIndent: Int? = nil
        for _ in 0..<2 {
            let c = peek()
            if chomp == 0 && (c == Self.dash || c == UInt8(ascii: "+")) {
                chomp = c
                i += 1
            } else if explicitIndent == nil && c >= 0x31 && c <= 0x39 {
                explicitIndent = Int(c - 0x30)
                i += 1
            }
        }
        guard isWS(0) || peek() == Self.hash else { throw unsupported("block scalar header") }
        try finishLine()
        // Collect raw lines until one with content is indented at most `parent`.
        var contentIndent = explicitIndent.map { parent + $0 }
        var lines: [(start: Int, end: Int, indent: Int)] = []
        var maxLeadingBlank = 0
        while !atEOF {
            var j = i
            while j < b.count, b[j] == Self.sp { j += 1 }
            let indent = j - i
            var end = j
            while end < b.count, b[end] != Self.nl { end += 1 }
            let lineEnd = end
            if end > j, b[end - 1] == Self.cr { end -= 1 }
            let blank = j >= end
            // A document marker at column 0 ends the scalar for libyaml.
            if j == i, end - j >= 3, b[j] == b[j + 1], b[j] == b[j + 2], b[j] == Self.dash || b[j] == UInt8(ascii: "."),
                end - j == 3 || Self.isBlank(b[j + 3])
            {
                break
            }
            if !blank {
                if j < b.count, b[j] == Self.tab, indent <= (contentIndent ?? parent) {
                    throw unsupported("tab in block scalar indentation")
                }
                if contentIndent == nil {
                    guard indent > parent else { break }
                    if maxLeadingBlank > indent { throw unsupported("leading blank lines indented deeper than the block scalar") }
                    contentIndent = indent
                }
                if indent < contentIndent! { break }
            } else if contentIndent == nil {
                maxLeadingBlank = max(maxLeadingBlank, indent)
            } else if indent > contentIndent! {
                // A blank line with extra spaces keeps them in a literal scalar.
            }
            lines.append((i, end, indent))
            i = lineEnd < b.count ? lineEnd + 1 : lineEnd
            if lineEnd < b.count { line += 1 }
            lineStart = i
        }
        let ci = contentIndent ?? 0
        var parts: [String] = lines.map { l in
            let s = l.start + min(ci, l.end - l.start)
            return s < l.end ? text(s, l.end) : ""
        }
        // Trailing blank lines matter only to chomping.
        var trailing = 0
        while let last = parts.last, last.isEmpty {
            parts.removeLast()
            trailing += 1
        }
        var body: String
        if folded {
            if parts.contains(where: { $0.first == " " || $0.first == "\t" }) {
                throw unsupported("more-indented lines in a folded scalar")
            }
            body = ""
            var pendingBreaks = 0
            var first = true
            for p in parts {
                if p.isEmpty {
                    pendingBreaks += 1
                    continue
                }
                if !first {
                    body += pendingBreaks == 0 ? " " : String(repeating: "\n", count: pendingBreaks)
                } else if pendingBreaks > 0 {
                    body += String(repeating: "\n", count: pendingBreaks)
                }
                body += p
                pendingBreaks = 0
                first = false
            }
        } else {
            body = parts.joined(separator: "\n")
        }
        if !parts.isEmpty {
            switch chomp {
            case Self.dash: break
            case UInt8(ascii: "+"): body += String(repeating: "\n", count: 1 + trailing)
            default: body += "\n"
            }
        } else if chomp == UInt8(ascii: "+") {
            body = String(repeating: "\n", count: trailing)
        }
        let node = YNode.scalar(YScalar(body, folded ? .folded : .literal, line: startLine))
        if atEOF { return (node, false) }
        return (node, try skipBlankLines())
    }

    // MARK: scalars

    /// Characters that start something other than a plain scalar.
    @inline(__always) private static func isIndicator(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "@"),
            UInt8(ascii: "`"), UInt8(ascii: "?"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "#"),
            UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"):
            true
        default:
            false
        }
    }

    /// A single-line quoted scalar.
    private mutating func quoted() throws -> YScalar {
        let q = peek()
        let startLine = line
        i += 1
        var out: [UInt8] = []
        var start = i
        while true {
            guard i < b.count else { throw unsupported("unterminated quoted scalar") }
            let c = b[i]
            if c == Self.nl || c == Self.cr { throw unsupported("quoted scalar over several lines") }
            if c == q {
                if q == Self.sq && peek(1) == Self.sq {
                    out += b[start..<(i + 1)]
                    i += 2
                    start = i
                    continue
                }
                out += b[start..<i]
                i += 1
                break
            }
            if q == Self.dq && c == UInt8(ascii: "\\") {
                out += b[start..<i]
                i += 1
                try escape(into: &out)
                start = i
                continue
            }
            i += 1
        }
        return YScalar(String(decoding: out, as: UTF8.self), q == Self.dq ? .doubleQuoted : .singleQuoted, line: startLine)
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        let c = peek()
        i += 1
        func hex(_ n: Int) throws -> UInt32 {
            // Digits only: UInt32(_:radix:) would also take a sign ("\u+061").
            guard i + n <= b.count else { throw unsupported("bad escape") }
            var v: UInt32 = 0
            for k in i..<(i + n) {
                let d = b[k]
                switch d {
                case 0x30...0x39: v = v << 4 | UInt32(d - 0x30)
                case 0x41...0x46: v = v << 4 | UInt32(d - 0x37)
                case 0x61...0x66: v = v << 4 | UInt32(d - 0x57)
                default: throw unsupported("bad escape")
                }
            }
            i += n
            return v
        }
        func append(_ scalar: UInt32) throws {
            // Yams drops a U+FEFF at the start of a value: leave it to libyaml.
            guard let u = Unicode.Scalar(scalar), scalar != 0xFEFF else { throw unsupported("bad escape") }
            out += Array(String(Character(u)).utf8)
        }
        switch c {
        case UInt8(ascii: "0"): out.append(0)
        case UInt8(ascii: "a"): out.append(7)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "t"), Self.tab: out.append(9)
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "v"): out.append(11)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "e"): out.append(27)
        case Self.sp: out.append(Self.sp)
        case Self.dq: out.append(Self.dq)
        case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "N"): try append(0x85)
        case UInt8(ascii: "_"): try append(0xA0)
        case UInt8(ascii: "L"): try append(0x2028)
        case UInt8(ascii: "P"): try append(0x2029)
        case UInt8(ascii: "x"): try append(hex(2))
        case UInt8(ascii: "u"):
            let v = try hex(4)
            switch v {
            case 0xD800...0xDBFF:
                // JSON writes a character beyond U+FFFF as two escapes, its
                // UTF-16 surrogate pair; read it as the character.
                guard peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else { throw loneSurrogate(v) }
                i += 2
                let low = try hex(4)
                guard (0xDC00...0xDFFF).contains(low) else { throw loneSurrogate(v) }
                try append(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
            case 0xDC00...0xDFFF:
                throw loneSurrogate(v)
            default:
                try append(v)
            }
        case UInt8(ascii: "U"): try append(hex(8))
        default: throw unsupported("unknown escape")
        }
    }

    private func loneSurrogate(_ v: UInt32) -> YAMLError {
        YAMLError(
            message: "\\u\(String(v, radix: 16)) is half of a UTF-16 surrogate pair without its other half",
            line: line, fix: "write the character itself, or both escapes of its pair (e.g. \\ud83d\\ude80)")
    }

    // MARK: flow context (JSON is all flow)

    private mutating func skipFlowSpace() throws {
        while i < b.count {
            let c = b[i]
            if c == Self.sp || c == Self.tab || c == Self.cr {
                i += 1
            } else if c == Self.nl {
                i += 1
                line += 1
                lineStart = i
                // libyaml ends the document here, flow collection or not.
                if isMarker(Self.dash) || isMarker(UInt8(ascii: ".")) { throw unsupported("document marker inside a flow collection") }
            } else if c == Self.hash {
                guard i > 0, [Self.sp, Self.tab, Self.nl].contains(b[i - 1]) else { throw unsupported("'#' in flow content") }
                while i < b.count, b[i] != Self.nl { i += 1 }
            } else {
                return
            }
        }
    }

    private mutating func flowNode() throws -> YNode {
        try skipFlowSpace()
        let startLine = line
        switch peek() {
        case UInt8(ascii: "{"):
            try enter()
            defer { depth -= 1 }
            i += 1
            var pairs: [YMapping.Pair] = []
            var keys = KeySet()
            while true {
                try skipFlowSpace()
                if peek() == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                let key: YScalar
                let keyStart = i
                switch try flowScalar(isKey: true) {
                case .scalar(let s): key = s
                default: throw unsupported("complex key")
                }
                try keys.insert(key, pairs)
                // An implicit key and its ':' share a line.
                while i < b.count, Self.isBlank(b[i]) { i += 1 }
                guard peek() == Self.colon else { throw unsupported("flow key without ':' on its line") }
                guard i - keyStart <= Self.simpleKeyLimit else { throw unsupported("not a simple key") }
                i += 1
                try skipFlowSpace()
                let value: YNode
                if peek() == Self.comma || peek() == UInt8(ascii: "}") {
                    value = .scalar(YScalar("", .plain, line: line))
                } else {
                    value = try flowNode()
                }
                pairs.append(YMapping.Pair(key: key, value: value))
                try skipFlowSpace()
                if peek() == Self.comma {
                    i += 1
                    continue
                }
                if peek() == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                throw unsupported("expected ',' or '}'")
            }
            return .mapping(YMapping(pairs: pairs, line: startLine))
        case UInt8(ascii: "["):
            try enter()
            defer { depth -= 1 }
            i += 1
            var items: [YNode] = []
            while true {
                try skipFlowSpace()
                if peek() == UInt8(ascii: "]") {
                    i += 1
                    break
                }
                items.append(try flowNode())
                try skipFlowSpace()
                if peek() == Self.comma {
                    i += 1
                    continue
                }
                if peek() == UInt8(ascii: "]") {
                    i += 1
                    break
                }
                throw unsupported("expected ',' or ']'")
            }
            return .sequence(YSequence(items: items, line: startLine))
        default:
            return try flowScalar(isKey: false)
        }
    }

    private mutating func flowScalar(isKey: Bool) throws -> YNode {
        let c = peek()
        if c == Self.dq || c == Self.sq { return .scalar(try quoted()) }
        if Self.isIndicator(c) || c == 0 || c == Self.colon || (c == Self.dash && isWS(1)) {
            throw unsupported("flow value starting with an indicator")
        }
        let start = i
        let startLine = line
        while i < b.count {
            let x = b[i]
            if x == Self.comma || x == UInt8(ascii: "]") || x == UInt8(ascii: "}") || x == UInt8(ascii: "[") || x == UInt8(ascii: "{") {
                break
            }
            if x == Self.nl || x == Self.cr { break }
            if x == Self.colon {
                if isWS(1) || [Self.comma, UInt8(ascii: "]"), UInt8(ascii: "}")].contains(peek(1)) { break }
                // libyaml versions differ on ':' inside flow plain scalars.
                throw unsupported("':' inside a flow plain scalar")
            }
            if x == Self.hash && i > start && Self.isBlank(b[i - 1]) { break }
            i += 1
        }
        var end = i
        while end > start, Self.isBlank(b[end - 1]) { end -= 1 }
        if !isKey && peek() == Self.colon { throw unsupported("single-pair mapping in a flow sequence") }
        return .scalar(YScalar(text(start, end), .plain, line: startLine))
    }
}

/// Duplicate-key detection: a linear scan for the small mappings objects
/// are made of, a hash set once a mapping grows (a node's VNI map).
private struct KeySet {
    var set: Set<String>? = nil

    mutating func insert(_ key: YScalar, _ pairs: [YMapping.Pair]) throws {
        let duplicate: Bool
        if pairs.count < 16 {
            duplicate = pairs.contains { $0.key.text == key.text }
        } else {
            if set == nil { set = Set(pairs.map(\.key.text)) }
            duplicate = !set!.insert(key.text).inserted
        }
        if duplicate {
            throw YAMLError(message: "duplicate key \(quoted(key.text)) in one mapping", line: key.line, fix: "keep one of them")
        }
    }
}
