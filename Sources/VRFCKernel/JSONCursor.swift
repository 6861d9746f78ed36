import VRFCModel

/// RFC 8259 JSON read in one pass, value by value, for the op-list reader:
/// the reader asks for what its schema expects next (an object's keys, a
/// list's items, a string, a number's literal) and reads the values it
/// wants straight into its own types, with no tree in between. Everything
/// else is passed over by `skipValue`, which checks it just as strictly.
/// Duplicate keys and nesting beyond `maxDepth` are refused wherever they
/// are; every failure carries its line. The tokens come from the shared
/// `JSONScanner`.
struct JSONCursor {
    struct Failure: Error {
        var line: Int
        var message: String
    }

    /// The keys an object of one kind may have. `names` is in the order the
    /// reader evaluates the fields (which orders their problems); `listed`
    /// is how a message names them; `required` in the order missing ones are named.
    final class Keys: Sendable {
        let names: [String]
        private let bytes: [[UInt8]]
        let required: [Int]
        let optional: UInt32
        private let declared: [String]

        /// `order`: the names again, in evaluation order, when it is not
        /// required then optional. (Built once per process: no Set and no
        /// `joined` here, whose first use costs a scan of the binary's conformances.)
        init(required: [String], optional: [String] = [], order: [String]? = nil) {
            declared = required + optional
            let names = order ?? declared
            precondition(names.count <= 16 && names.count == declared.count && declared.allSatisfy(names.contains))
            self.names = names
            bytes = names.map { Array($0.utf8) }
            self.required = required.map { names.firstIndex(of: $0)! }
            self.optional = optional.reduce(0) { $0 | 1 << UInt32(names.firstIndex(of: $1)!) }
        }

        static let none = Keys(required: [])

        /// The keys as a message names them: required, then optional.
        var listed: String { declared.joined(separator: ", ") }

        func isOptional(_ i: Int) -> Bool { optional & 1 << UInt32(i) != 0 }

        /// A key written without escapes, by its bytes.
        func index(_ raw: UnsafeBufferPointer<UInt8>) -> Int? {
            guard let first = raw.first else { return names.firstIndex(of: "") }
            for i in bytes.indices {
                let found = bytes[i].withUnsafeBufferPointer { b in
                    guard b.count == raw.count && b[0] == first else { return false }
                    var k = 1
                    while k < b.count && b[k] == raw[k] { k += 1 }
                    return k == b.count
                }
                if found { return i }
            }
            return nil
        }

        /// A key that had escapes (or bytes beyond ASCII), compared as a String is.
        func index(_ key: String) -> Int? { names.firstIndex(of: key) }
    }

    /// The keys met so far in one object, to refuse a second of any of
    /// them with the line of the first.
    struct Members {
        var seen: UInt32 = 0
        /// The line of each known key met (`Keys` has at most 16).
        private var lines:
            (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        /// Keys not in `Keys`: a list while short, a table once an object grows large.
        private var others: [(key: String, line: Int)] = []
        private var otherLines: [String: Int]? = nil

        func line(_ i: Int) -> Int { withUnsafeBytes(of: lines) { Int($0.load(fromByteOffset: i * 4, as: Int32.self)) } }

        mutating func meet(_ i: Int, line: Int) {
            seen |= 1 << UInt32(i)
            withUnsafeMutableBytes(of: &lines) { $0.storeBytes(of: Int32(truncatingIfNeeded: line), toByteOffset: i * 4, as: Int32.self) }
        }

        /// The first line of another key met before, or nil (and it is noted).
        mutating func meetOther(_ key: String, line: Int) -> Int? {
            if otherLines != nil {
                if let first = otherLines![key] { return first }
                otherLines![key] = line
                return nil
            }
            if let first = others.first(where: { $0.key == key }) { return first.line }
            others.append((key, line))
            if others.count > 16 { otherLines = Dictionary(others.map { ($0.key, $0.line) }, uniquingKeysWith: { a, _ in a }) }
            return nil
        }
    }

    enum Key {
        case known(Int)
        case other(String)
    }

    var s: JSONScanner
    let maxDepth: Int
    var depth = 0

    init(bytes: [UInt8], maxDepth: Int) {
        s = JSONScanner(bytes)
        self.maxDepth = maxDepth
    }

    var line: Int { s.line }
    var next: UInt8? { s.next }

    /// To the first value: past a UTF-8 byte order mark and white space.
    mutating func begin() {
        if s.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { s.offset = 3 }
        s.skipSpace()
    }

    /// After the document's value: nothing but white space may follow.
    mutating func end() throws(Failure) {
        s.skipSpace()
        if let b = s.next { throw fail("unexpected \(describe(b)) after the end of the document") }
    }

    func fail(_ message: String) -> Failure { Failure(line: s.line, message: message) }

    func describe(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    /// A token the scanner refused, in this reader's words.
    static func failure(_ f: JSONScanner.Failure) -> Failure {
        let message: String
        switch f.kind {
        case .unterminatedString: message = "unexpected end of the document in a string"
        case .controlCharacter(let c): message = "control character 0x\(String(c, radix: 16)) in a string; write it as an escape"
        case .unknownEscape(let e):
            message =
                "unknown escape \\" + (e >= 0x21 && e < 0x7F ? String(Character(UnicodeScalar(e))) : "(byte 0x\(String(e, radix: 16)))")
        case .shortUnicodeEscape: message = "unexpected end of the document in a \\u escape"
        case .badUnicodeEscape: message = "\\u must be followed by four hex digits"
        case .loneHighSurrogate: message = "a high surrogate \\u escape must be followed by a low one"
        case .loneLowSurrogate: message = "a lone low surrogate \\u escape"
        case .notUTF8: message = "a string that is not UTF-8"
        case .numberWithoutDigits: message = "a number needs digits"
        case .numberWithLeadingZero: message = "a number may not have leading zeros"
        case .numberWithoutFractionDigits: message = "a number needs digits after '.'"
        case .numberWithoutExponentDigits: message = "a number needs digits in its exponent"
        }
        return Failure(line: f.line, message: message)
    }

    // MARK: Values (the cursor at their first byte, white space skipped)

    /// What the value at the cursor is, in a message's words ("found a list");
    /// nil where no value starts.
    var kindName: String? {
        guard let b = s.next else { return nil }
        return switch b {
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "a list"
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: nil
        }
    }

    var atString: Bool { s.next == UInt8(ascii: "\"") }
    var atNumber: Bool {
        guard let b = s.next else { return false }
        return b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }
    var atObject: Bool { s.next == UInt8(ascii: "{") }
    var atArray: Bool { s.next == UInt8(ascii: "[") }
    var atNull: Bool { s.next == UInt8(ascii: "n") }
    var atBool: Bool { s.next == UInt8(ascii: "t") || s.next == UInt8(ascii: "f") }

    mutating func string() throws(Failure) -> String {
        do throws(JSONScanner.Failure) { return try s.string() } catch { throw Self.failure(error) }
    }

    /// A number's literal, checked; where it is in `bytes`.
    mutating func number() throws(Failure) -> Range<Int> {
        do throws(JSONScanner.Failure) { return try s.skipNumber() } catch { throw Self.failure(error) }
    }

    var bytes: [UInt8] { s.bytes }

    /// `true`, `false` or `null` (nil).
    mutating func literal() throws(Failure) -> Bool? {
        if s.take("true") { return true }
        if s.take("false") { return false }
        if s.take("null") { return nil }
        guard let b = s.next else { throw fail("unexpected end of the document") }
        throw fail("unexpected \(describe(b)), expected a value")
    }

    /// Any value, checked as strictly as one that is read, and passed over.
    mutating func skipValue() throws(Failure) {
        guard let b = s.next else { throw fail("unexpected end of the document") }
        switch b {
        case UInt8(ascii: "{"):
            guard try enterObject() else { return }
            var members = Members()
            repeat {
                _ = try key(.none, &members)
                try skipValue()
            } while try nextMember()
        case UInt8(ascii: "["):
            guard try enterArray() else { return }
            repeat { try skipValue() } while try nextElement()
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        default: _ = try literal()
        }
    }

    // MARK: Objects and lists

    mutating func nest() throws(Failure) {
        depth += 1
        if depth > maxDepth { throw fail("nested deeper than \(maxDepth) levels; an op list nests four") }
    }

    /// At '{': into the object; false for an empty one (then already left).
    mutating func enterObject() throws(Failure) -> Bool { try enter(closedBy: UInt8(ascii: "}")) }

    /// At '{' or '[': one level deeper, past the opening and any space;
    /// false when `close` follows at once (the cursor then past it too).
    private mutating func enter(closedBy close: UInt8) throws(Failure) -> Bool {
        try nest()
        s.offset += 1
        s.skipSpace()
        if s.next == close {
            s.offset += 1
            depth -= 1
            return false
        }
        return true
    }

    /// The next member's key (the cursor after '{' or ','), refused when the
    /// object had it already; the cursor is then at its value.
    mutating func key(_ keys: Keys, _ members: inout Members) throws(Failure) -> Key {
        s.skipSpace()
        guard let b = s.next, b == UInt8(ascii: "\"") else {
            throw fail(s.next.map { "unexpected \(describe($0)), expected a key in quotes" } ?? "unexpected end of the document")
        }
        let line = s.line
        var known: Int?
        var written: String?  // the key as a String: for another key, or a message
        // A key of plain ASCII without escapes (every key the compiler
        // writes) is matched on its bytes, with no String made.
        let start = s.offset + 1
        let end = s.bytes.withUnsafeBufferPointer { b in
            var i = start
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { break }
                i += 1
            }
            return i
        }
        if end < s.bytes.count && s.bytes[end] == UInt8(ascii: "\"") {
            known = s.bytes.withUnsafeBufferPointer { keys.index(UnsafeBufferPointer(rebasing: $0[start..<end])) }
            if known == nil { written = String(decoding: s.bytes[start..<end], as: UTF8.self) }
            s.offset = end + 1
        } else {
            let text = try string()
            known = keys.index(text)
            written = text
        }
        let result: Key
        if let i = known {
            if members.seen & 1 << UInt32(i) != 0 {
                throw duplicate(written ?? keys.names[i], line: line, first: members.line(i))
            }
            members.meet(i, line: line)
            result = .known(i)
        } else {
            let text = written ?? ""
            if let first = members.meetOther(text, line: line) { throw duplicate(text, line: line, first: first) }
            result = .other(text)
        }
        s.skipSpace()
        guard s.next == UInt8(ascii: ":") else {
            let text: String
            switch result {
            case .known(let i): text = written ?? keys.names[i]
            case .other(let k): text = k
            }
            throw fail("expected ':' after the key \(quoted(text))")
        }
        s.offset += 1
        s.skipSpace()
        return result
    }

    func duplicate(_ key: String, line: Int, first: Int) -> Failure {
        Failure(line: line, message: "duplicate key \(quoted(key)) (first at line \(first)); each key may appear once")
    }

    /// After a member's value: true at ',' (another member follows), false
    /// at '}' (the object is left).
    mutating func nextMember() throws(Failure) -> Bool {
        s.skipSpace()
        guard let b = s.next else { throw fail("unexpected end of the document, expected ',' or '}'") }
        if b == UInt8(ascii: ",") {
            s.offset += 1
            return true
        }
        if b == UInt8(ascii: "}") {
            s.offset += 1
            depth -= 1
            return false
        }
        throw fail("unexpected \(describe(b)), expected ',' or '}'")
    }

    /// At '[': into the list, the cursor at its first item; false for an
    /// empty one (then already left).
    mutating func enterArray() throws(Failure) -> Bool { try enter(closedBy: UInt8(ascii: "]")) }

    /// After an item: true at ',' (the cursor then at the next item), false
    /// at ']' (the list is left).
    mutating func nextElement() throws(Failure) -> Bool {
        s.skipSpace()
        guard let b = s.next else { throw fail("unexpected end of the document, expected ',' or ']'") }
        if b == UInt8(ascii: ",") {
            s.offset += 1
            s.skipSpace()
            return true
        }
        if b == UInt8(ascii: "]") {
            s.offset += 1
            depth -= 1
            return false
        }
        throw fail("unexpected \(describe(b)), expected ',' or ']'")
    }
}

/// A user-written string in a message: quoted, control characters escaped,
/// capped, so it can neither forge message lines nor flood the terminal.
func quoted(_ s: String) -> String {
    var out = "'"
    for (n, u) in s.unicodeScalars.enumerated() {
        if n == 64 {
            out += "…"
            break
        }
        switch u {
        case "'": out += "\\'"
        case "\\": out += "\\\\"
        case _ where u.value < 0x20 || u.value == 0x7F || (0x80..<0xA0).contains(u.value):
            out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "'"
}
