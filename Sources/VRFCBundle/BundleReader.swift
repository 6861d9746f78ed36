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

    struct Scanner {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func printable(_ s: String) -> String {
            String(s.unicodeScalars.prefix(40).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        }

        func fail(_ what: String) -> Failure {
            Failure(message: "\(what) at byte \(i)")
        }

        mutating func space() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws(Failure) {
            space()
            guard i < bytes.count, bytes[i] == c else { throw fail("expected '\(Character(UnicodeScalar(c)))'") }
            i += 1
        }

        /// The whole document is one object; `member` reads each value.
        mutating func object(_ member: (String, inout Scanner) throws(Failure) -> Void) throws(Failure) {
            let top = i == 0
            try expect(UInt8(ascii: "{"))
            space()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    space()
                    let key = try string("a key")
                    try expect(UInt8(ascii: ":"))
                    space()
                    try member(key, &self)
                    space()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"))
                    break
                }
            }
            if top {
                space()
                guard i == bytes.count else { throw fail("unexpected text after the bundle") }
            }
        }

        mutating func null() -> Bool {
            if bytes.count - i >= 4, bytes[i] == UInt8(ascii: "n"), bytes[i + 1] == UInt8(ascii: "u"), bytes[i + 2] == UInt8(ascii: "l"),
                bytes[i + 3] == UInt8(ascii: "l")
            {
                i += 4
                return true
            }
            return false
        }

        /// A non-negative integer that fits an Int.
        mutating func count(_ key: String) throws(Failure) -> Int {
            var n = 0
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(bytes[i] - 0x30))
                guard !o1, !o2 else { throw fail("at .\(key): number out of range") }
                n = a
                i += 1
            }
            guard i > start, !(i - start > 1 && bytes[start] == 0x30) else { throw fail("at .\(key): expected a count") }
            return n
        }

        /// A JSON string, unescaped; UTF-8 checked.
        mutating func string(_ key: String) throws(Failure) -> String {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("at .\(key): expected a string") }
            i += 1
            var out: [UInt8] = []
            var start = i
            while true {
                guard i < bytes.count else { throw fail("at .\(key): unterminated string") }
                let b = bytes[i]
                if b == UInt8(ascii: "\"") { break }
                if b < 0x20 { throw fail("at .\(key): a control character in a string") }
                if b != UInt8(ascii: "\\") {
                    i += 1
                    continue
                }
                out += bytes[start..<i]
                i += 1
                guard i < bytes.count else { throw fail("at .\(key): unterminated string") }
                switch bytes[i] {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(key)
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard bytes.count - i >= 7, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") else {
                            throw fail("at .\(key): a lone surrogate")
                        }
                        i += 2
                        let low = try hex4(key)
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail("at .\(key): a lone surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("at .\(key): a lone surrogate") }
                    out += Array(String(Character(u)).utf8)
                default: throw fail("at .\(key): an unknown escape")
                }
                i += 1
                start = i
            }
            out += bytes[start..<i]
            i += 1
            guard let text = String(validating: out, as: UTF8.self) else { throw fail("at .\(key): text that is not UTF-8") }
            return text
        }

        /// Four hex digits after `\u` (i at the `u`); leaves i at the last.
        mutating func hex4(_ key: String) throws(Failure) -> UInt32 {
            guard bytes.count - i > 4 else { throw fail("at .\(key): a short \\u escape") }
            var v: UInt32 = 0
            for k in 1...4 {
                let c = bytes[i + k]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                default: throw fail("at .\(key): a bad \\u escape")
                }
                v = v << 4 | d
            }
            i += 4
            return v
        }

        /// The bytes of one JSON object, for a reader of its own; strings
        /// inside are skipped whole, nesting must balance.
        mutating func rawValue(_ key: String) throws(Failure) -> [UInt8] {
            let start = i
            let end = bytes.withUnsafeBufferPointer { b in
                Result { () throws(JSONSplitter.Failure) in try JSONSplitter.end(ofValueAt: start, in: b) }
            }
            switch end {
            case .failure(.unbalanced(let at)): throw Failure(message: "at .\(key): unbalanced at byte \(at)")
            case .failure: throw Failure(message: "at .\(key): expected an object at byte \(start)")
            case .success(let end):
                guard bytes[start] == UInt8(ascii: "{") else { throw Failure(message: "at .\(key): expected an object at byte \(start)") }
                i = end
                return Array(bytes[start..<end])
            }
        }
    }
}
