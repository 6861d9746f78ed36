import VRFCKernel
import VRFCModel

/// Reads a bundle (`vrfc compile --emit bundle`) on the privileged side,
/// strictly and fast: a bundle is a few megabytes of text fields (the
/// frr.conf, the IR vrfc-apply keeps without decoding) and an op list.
/// The text fields are unescaped in one pass; the op list goes through
/// `OpListReader`, the strict reader of `--ops` files. Unknown and
/// duplicate keys, a value of the wrong type, text that is not UTF-8 and
/// missing fields are refused, each named by its key.
public enum BundleReader {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> CompileBundle {
        var s = Scanner(bytes: bytes)
        var format: String?
        var irJSON: String?
        var ops: OpList?
        var frrConf: String?
        var frame: String?
        var delta: FRRDelta?
        var seen = Set<String>()
        try s.object { (key: String, s: inout Scanner) throws(Failure) in
            guard seen.insert(key).inserted else { throw Failure(message: "duplicate key '\(key)'") }
            switch key {
            case "format": format = try s.string(key)
            case "irJSON": irJSON = try s.string(key)
            case "frrConf": frrConf = try s.null() ? nil : s.string(key)
            case "frame": frame = try s.null() ? nil : s.string(key)
            case "ops":
                let raw = try s.rawValue(key)
                do throws(OpListError) {
                    ops = try OpListReader.decode(raw)
                } catch {
                    throw Failure(message: "at .ops: \(error.problems.prefix(3).joined(separator: "; "))")
                }
            case "delta":
                if try s.null() { break }
                var basis: String?
                var script: String?
                var removals: Int?
                var additions: Int?
                var inner = Set<String>()
                try s.object { (k: String, s: inout Scanner) throws(Failure) in
                    guard inner.insert(k).inserted else { throw Failure(message: "duplicate key 'delta.\(k)'") }
                    switch k {
                    case "basisDigest": basis = try s.string("delta.basisDigest")
                    case "script": script = try s.string("delta.script")
                    case "removals": removals = try s.count("delta.removals")
                    case "additions": additions = try s.count("delta.additions")
                    default: throw Failure(message: "unknown key 'delta.\(Scanner.printable(k))'")
                    }
                }
                guard let basis, let script, let removals, let additions else {
                    throw Failure(message: "at .delta: missing basisDigest, script, removals or additions")
                }
                delta = FRRDelta(basisDigest: basis, script: script, removals: removals, additions: additions)
            default: throw Failure(message: "unknown key '\(Scanner.printable(key))'")
            }
        }
        guard let format else { throw Failure(message: "missing 'format'") }
        guard let irJSON else { throw Failure(message: "missing 'irJSON'") }
        guard let ops else { throw Failure(message: "missing 'ops'") }
        var b = CompileBundle(irJSON: irJSON, ops: ops, frrConf: frrConf, frame: frame, delta: delta)
        b.format = format
        return b
    }

    /// The bundle's grammar over the shared `JSONScanner`, its failures
    /// named by key and byte offset.
    struct Scanner {
        var s: JSONScanner

        init(bytes: [UInt8]) { s = JSONScanner(bytes) }

        static func printable(_ s: String) -> String {
            String(s.unicodeScalars.prefix(40).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        }

        func fail(_ what: String, at offset: Int? = nil) -> Failure {
            Failure(message: "\(what) at byte \(offset ?? s.offset)")
        }

        mutating func space() { s.skipSpace() }

        mutating func expect(_ c: UInt8) throws(Failure) {
            space()
            guard s.next == c else { throw fail("expected '\(Character(UnicodeScalar(c)))'") }
            s.offset += 1
        }

        /// The whole document is one object; `member` reads each value.
        mutating func object(_ member: (String, inout Scanner) throws(Failure) -> Void) throws(Failure) {
            let top = s.offset == 0
            try expect(UInt8(ascii: "{"))
            space()
            if s.next == UInt8(ascii: "}") {
                s.offset += 1
            } else {
                while true {
                    space()
                    let key = try string("a key")
                    try expect(UInt8(ascii: ":"))
                    space()
                    try member(key, &self)
                    space()
                    guard let b = s.next else { throw fail("unexpected end") }
                    if b == UInt8(ascii: ",") {
                        s.offset += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"))
                    break
                }
            }
            if top {
                space()
                guard s.atEnd else { throw fail("unexpected text after the bundle") }
            }
        }

        mutating func null() -> Bool { s.take("null") }

        /// A non-negative integer that fits an Int.
        mutating func count(_ key: String) throws(Failure) -> Int {
            let start = s.offset
            let text: String
            do throws(JSONScanner.Failure) { text = try s.number() } catch { throw fail("at .\(key): expected a count", at: start) }
            guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw fail("at .\(key): expected a count", at: start) }
            guard let n = Int(text) else { throw fail("at .\(key): number out of range", at: start) }
            return n
        }

        /// A JSON string, unescaped; UTF-8 checked.
        mutating func string(_ key: String) throws(Failure) -> String {
            guard s.next == UInt8(ascii: "\"") else { throw fail("at .\(key): expected a string") }
            do throws(JSONScanner.Failure) {
                return try s.string()
            } catch {
                let what: String
                switch error.kind {
                case .unterminatedString: what = "unterminated string"
                case .controlCharacter: what = "a control character in a string"
                case .unknownEscape: what = "an unknown escape"
                case .shortUnicodeEscape: what = "a short \\u escape"
                case .badUnicodeEscape: what = "a bad \\u escape"
                case .loneHighSurrogate, .loneLowSurrogate: what = "a lone surrogate"
                case .notUTF8: what = "text that is not UTF-8"
                case .numberWithoutDigits, .numberWithLeadingZero, .numberWithoutFractionDigits, .numberWithoutExponentDigits:
                    what = "expected a string"  // a string never fails as a number
                }
                throw fail("at .\(key): \(what)", at: error.offset)
            }
        }

        /// The bytes of one JSON object, for a reader of its own; strings
        /// inside are skipped whole, nesting must balance.
        mutating func rawValue(_ key: String) throws(Failure) -> [UInt8] {
            let start = s.offset
            let end = s.bytes.withUnsafeBufferPointer { b in
                Result { () throws(JSONSplitter.Failure) in try JSONSplitter.end(ofValueAt: start, in: b) }
            }
            switch end {
            case .failure(.unbalanced(let at)): throw fail("at .\(key): unbalanced", at: at)
            case .failure: throw fail("at .\(key): expected an object", at: start)
            case .success(let end):
                guard s.bytes[start] == UInt8(ascii: "{") else { throw fail("at .\(key): expected an object", at: start) }
                s.offset = end
                return Array(s.bytes[start..<end])
            }
        }
    }
}
