/// The lexical half of JSON (RFC 8259) that vrfc's strict readers share
/// (the op-list reader and the bundle reader of the privileged side): white
/// space, strings, numbers and the literals. Strings are unescaped (surrogate
/// pairs joined), checked to be UTF-8 and refused with a raw control
/// character or a lone surrogate; numbers are grammar-checked and kept as
/// written, so a reader's range check sees the literal. The readers own the
/// structure (keys, nesting, types) and word a failure in their own terms:
/// a failure here is its kind, its byte offset and its line.
public struct JSONScanner {
    public struct Failure: Error, Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// The text ends inside a string.
            case unterminatedString
            /// A raw control character (below 0x20) inside a string.
            case controlCharacter(UInt8)
            /// A backslash followed by a byte that starts no escape.
            case unknownEscape(UInt8)
            /// The text ends within the four hex digits of a `\u` escape.
            case shortUnicodeEscape
            /// A `\u` not followed by four hex digits.
            case badUnicodeEscape
            /// A high surrogate `\u` escape without a low one right after it.
            case loneHighSurrogate
            /// A low surrogate `\u` escape without a high one before it.
            case loneLowSurrogate
            /// A string whose bytes are not UTF-8 (the offset is its opening quote).
            case notUTF8
            /// A number with no digits where its integer part must be.
            case numberWithoutDigits
            /// A number whose integer part has a leading zero.
            case numberWithLeadingZero
            /// A number with no digits after its '.'.
            case numberWithoutFractionDigits
            /// A number with no digits in its exponent.
            case numberWithoutExponentDigits
        }
        public let kind: Kind
        public let offset: Int
        public let line: Int

        public init(_ kind: Kind, offset: Int, line: Int) {
            self.kind = kind
            self.offset = offset
            self.line = line
        }
    }

    public let bytes: [UInt8]
    /// The next byte to read.
    public var offset: Int
    /// The line of `offset` (1-based). Only white space holds line breaks:
    /// a string refuses a raw one, so lines are counted in `skipSpace`.
    public var line = 1

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// The byte at `offset`, nil at the end.
    @inlinable public var next: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    @inlinable public var atEnd: Bool { offset >= bytes.count }

    @inlinable public mutating func skipSpace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0D: offset += 1
            case 0x0A:
                offset += 1
                line += 1
            default: return
            }
        }
    }

    /// Reads `word` (a literal such as `null`) if the text goes on with it.
    public mutating func take(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard bytes.count - offset >= n else { return false }
        let matches = word.withUTF8Buffer { w in
            var k = 0
            while k < n, bytes[offset + k] == w[k] { k += 1 }
            return k == n
        }
        if matches { offset += n }
        return matches
    }

    func fail(_ kind: Failure.Kind, at offset: Int? = nil) -> Failure {
        Failure(kind, offset: offset ?? self.offset, line: line)
    }

    /// A number's literal, as written: `-`, digits without a leading zero,
    /// an optional fraction and exponent. Reads nothing past the number.
    public mutating func number() throws(Failure) -> String {
        String(decoding: bytes[try skipNumber()], as: UTF8.self)
    }

    /// Reads a number as `number()` does, and gives where its literal is
    /// instead of a copy (a reader that wants its value reads the digits there).
    public mutating func skipNumber() throws(Failure) -> Range<Int> {
        let start = offset
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let intStart = offset
        let n = digits()
        if n == 0 { throw fail(.numberWithoutDigits) }
        if n > 1 && bytes[intStart] == UInt8(ascii: "0") { throw fail(.numberWithLeadingZero) }
        if offset < bytes.count && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            if digits() == 0 { throw fail(.numberWithoutFractionDigits) }
        }
        if offset < bytes.count && (bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E")) {
            offset += 1
            if offset < bytes.count && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) { offset += 1 }
            if digits() == 0 { throw fail(.numberWithoutExponentDigits) }
        }
        return start..<offset
    }

    mutating func digits() -> Int {
        let start = offset
        while offset < bytes.count, bytes[offset] >= 0x30, bytes[offset] <= 0x39 { offset += 1 }
        return offset - start
    }

    /// A string, unescaped, with `offset` at its opening quote. The runs
    /// between escapes are copied whole, and a string without escapes (a
    /// key, a name) is taken from the bytes as they are, so a text of
    /// megabytes (a bundle's frr.conf) costs about one copy.
    public mutating func string() throws(Failure) -> String {
        let open = offset
        offset += 1
        var start = offset
        var high: UInt8 = 0  // the raw bytes or-ed: below 0x80, all ASCII
        var escaped = false
        var out: [UInt8] = []  // the string so far, once an escape is met
        while true {
            // The run up to a quote, a backslash or a control character:
            // the loop every byte of a large text goes through.
            offset = bytes.withUnsafeBufferPointer { b in
                var i = offset
                while i < b.count {
                    let c = b[i]
                    if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                    high |= c
                    i += 1
                }
                return i
            }
            let ascii = high < 0x80
            guard offset < bytes.count else { throw fail(.unterminatedString) }
            let b = bytes[offset]
            if b == UInt8(ascii: "\"") {
                let end = offset
                offset += 1
                if !escaped {
                    if ascii { return String(decoding: bytes[start..<end], as: UTF8.self) }
                    guard let s = String(validating: bytes[start..<end], as: UTF8.self) else { throw fail(.notUTF8, at: open) }
                    return s
                }
                out += bytes[start..<end]
                // What an escape writes is UTF-8 by construction; only raw bytes need checking.
                if ascii { return String(decoding: out, as: UTF8.self) }
                guard let s = String(validating: out, as: UTF8.self) else { throw fail(.notUTF8, at: open) }
                return s
            }
            if b < 0x20 { throw fail(.controlCharacter(b)) }
            escaped = true
            out += bytes[start..<offset]
            offset += 1
            guard offset < bytes.count else { throw fail(.unterminatedString) }
            let e = bytes[offset]
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                offset += 1
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - offset >= 2, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                        throw fail(.loneHighSurrogate)
                    }
                    offset += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail(.loneHighSurrogate, at: offset - 6) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail(.loneLowSurrogate, at: offset - 6)
                }
                Self.appendUTF8(scalar, to: &out)
                start = offset
                continue
            default: throw fail(.unknownEscape(e))
            }
            offset += 1
            start = offset
        }
    }

    /// Four hex digits (`offset` at the first); reads past them.
    mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw fail(.shortUnicodeEscape) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail(.badUnicodeEscape)
            }
            v = v << 4 | d
            offset += 1
        }
        return v
    }

    /// A scalar (never a surrogate: the caller joined or refused those) as UTF-8.
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case ..<0x80: out.append(UInt8(v))
        case ..<0x800: out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case ..<0x10000: out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default: out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }
}
