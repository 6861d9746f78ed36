import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCKernel
import VRFCTestSupport

/// The single-pass op-list reader against the tree reader it replaced
/// (`ReferenceOpListReader`): over the golden op lists, mutated thousands of
/// ways (values of the wrong kind, out of range, not canonical; fields
/// missing, unknown, duplicated, null, reordered, written with escapes;
/// nesting too deep; bytes deleted, inserted, changed), both must accept
/// the same op list or refuse with the same problems, word for word and in
/// the same order.
@Suite struct OpListReaderDifferentialTests {
    /// What a reader says of `bytes`: the op list, or its problems.
    enum Outcome: Equatable {
        case accepted(OpList)
        case refused([String])
    }

    static func outcome(_ decode: ([UInt8]) throws(OpListError) -> OpList, _ bytes: [UInt8]) -> Outcome {
        do throws(OpListError) {
            return .accepted(try decode(bytes))
        } catch {
            return .refused(error.problems)
        }
    }

    /// Compares the two readers on `text`; the first difference is recorded.
    static func same(_ text: [UInt8], _ what: String) -> Bool {
        let new = outcome({ b throws(OpListError) in try OpListReader.decode(b) }, text)
        let old = outcome({ b throws(OpListError) in try ReferenceOpListReader.decode(b) }, text)
        if new != old {
            Issue.record("\(what): the readers differ on\n\(String(decoding: text.prefix(3000), as: UTF8.self))\nnew: \(new)\nold: \(old)")
            return false
        }
        return true
    }

    static func corpus() throws -> [(String, J)] {
        var out: [(String, J)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: Repo.path("golden")).sorted() where name.hasSuffix(".ops.json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: Repo.path("golden/\(name)")))
            var p = JParser(bytes: Array(data))
            let doc = p.document()
            out.append((name, try #require(doc)))
        }
        // Routes and rules of every optional shape (the goldens have few).
        out.append(("routes", J.routes))
        return out
    }

    @Test func unchangedTextsReadTheSame() throws {
        for (name, doc) in try Self.corpus() {
            for style in J.Style.allCases {
                let text = Array(doc.render(style).utf8)
                _ = Self.same(text, "\(name) \(style)")
                if case .refused(let problems) = Self.outcome({ b throws(OpListError) in try OpListReader.decode(b) }, text) {
                    Issue.record("\(name) \(style) refused: \(problems)")
                }
            }
        }
    }

    @Test func mutatedTextsReadTheSame() throws {
        var rng = SplitMix(seed: 0x5eed_0f_0b_1157)
        var accepted = 0
        var refused = 0
        var differing = 0
        for (name, doc) in try Self.corpus() {
            for round in 0..<400 {
                var d = doc
                for _ in 0...(rng.next(3)) { d = d.mutated(&rng) }
                let style = J.Style.allCases[rng.next(J.Style.allCases.count)]
                let text = Array(d.render(style, escapeSeed: rng.next(4) == 0 ? rng.next() : nil).utf8)
                if !Self.same(text, "\(name) round \(round)") {
                    differing += 1
                    if differing > 5 { return }
                }
                if case .accepted = Self.outcome({ b throws(OpListError) in try OpListReader.decode(b) }, text) {
                    accepted += 1
                } else {
                    refused += 1
                }
            }
        }
        // Both kinds of outcome were exercised, not only refusals.
        #expect(accepted > 100 && refused > 1000, "accepted \(accepted), refused \(refused)")
    }

    @Test func bytesChangedReadTheSame() throws {
        var rng = SplitMix(seed: 42)
        for (name, doc) in try Self.corpus() {
            let base = Array(doc.render(.pretty).utf8)
            for round in 0..<300 {
                var text = base
                for _ in 0...rng.next(2) {
                    let at = rng.next(text.count)
                    switch rng.next(3) {
                    case 0: text.remove(at: at)
                    case 1: text.insert(Array("{}[]\",:\\ \n0-.eEtfnu\u{1}\u{ff}x9".utf8)[rng.next(23)], at: at)
                    default: text[at] = UInt8(truncatingIfNeeded: rng.next(256))
                    }
                }
                _ = Self.same(text, "\(name) byte round \(round)")
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failure reruns the same.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

/// JSON with its members in order and duplicates allowed: what the test
/// mutates and writes out.
indirect enum J: Sendable {
    case object([(String, J)])
    case array([J])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    enum Style: CaseIterable { case compact, pretty, oneKeyPerLine }

    /// The text; with `escapeSeed`, some characters of strings and keys written as \u escapes.
    func render(_ style: Style, escapeSeed: UInt64? = nil) -> String {
        let w = Writer(escapes: escapeSeed.map(SplitMix.init(seed:)))
        write(w, style, 0)
        return w.out
    }

    final class Writer {
        var out = ""
        var escapes: SplitMix?
        init(escapes: SplitMix?) { self.escapes = escapes }

        func quote(_ s: String) {
            out += "\""
            for u in s.unicodeScalars {
                var escape = u.value < 0x20
                if !escape, escapes != nil { escape = escapes!.next(3) == 0 }
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where escape:
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    } else {
                        out += String(format: "\\u%04x", u.value)
                    }
                default: out.unicodeScalars.append(u)
                }
            }
            out += "\""
        }
    }

    func write(_ w: Writer, _ style: Style, _ level: Int) {
        let pad = style == .pretty ? String(repeating: "  ", count: level + 1) : ""
        let close = style == .pretty ? "\n" + String(repeating: "  ", count: level) : ""
        switch self {
        case .object(let members):
            if members.isEmpty {
                w.out += "{}"
                return
            }
            w.out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { w.out += "," }
                if style != .compact { w.out += "\n" + pad }
                w.quote(k)
                w.out += style == .compact ? ":" : " : "
                v.write(w, style, level + 1)
            }
            w.out += close + "}"
        case .array(let items):
            if items.isEmpty {
                w.out += "[]"
                return
            }
            w.out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { w.out += "," }
                if style == .pretty { w.out += "\n" + pad }
                v.write(w, style, level + 1)
            }
            w.out += close + "]"
        case .string(let s): w.quote(s)
        case .number(let n): w.out += n
        case .bool(let b): w.out += b ? "true" : "false"
        case .null: w.out += "null"
        }
    }

    /// Values a mutation puts in place of another.
    static let replacements: [J] = [
        .null, .bool(true), .bool(false), .number("0"), .number("1"), .number("-1"), .number("1.5"), .number("1e3"),
        .number("255"), .number("256"), .number("65535"), .number("65536"), .number("4294967295"), .number("4294967296"),
        .number("18446744073709551616"), .number("9223372036854775807"), .number("-9223372036854775809"),
        .number("1" + String(repeating: "0", count: 60)), .string(""), .string("x"), .string("a b\nc"),
        .string("abcdefghijklmnopq"), .string("vx.b0001"), .string("vrf"), .string("veth"), .string("none"), .string("ipv6"),
        .string("198.51.100.0/24"), .string("198.51.100.1/24"), .string("198.51.100.1"), .string("2001:DB8::/32"),
        .string("2001:db8::/129"), .string("2001:0db8::1"), .string("fe80::1"), .string("10.0.0.1"), .string("::ffff:1.2.3.4"),
        .string("🚀"), .string("\u{212A}"), .string("\u{1b}[31m"), .object([]), .array([]),
        .object([("x", .number("1"))]), .array([.number("1"), .string("a")]),
        .array([.object([("gateway", .string("192.0.2.1")), ("weight", .number("1"))])]),
        J.deep(40),
    ]

    /// Keys a mutation adds or renames to: the op list's own, unknown ones, ones that differ only by case or Unicode.
    static let keys = [
        "format", "version", "underlay", "tableRange", "links", "routerAttachments", "ownedTables", "routes", "rules",
        "tableNames", "first", "last", "name", "kind", "vrf", "mtu", "addrGenMode", "macFromUnderlay", "master", "vxlan",
        "bridgePort", "peer", "vni", "dstPort", "learning", "device", "hairpin", "neighSuppress", "table", "destination",
        "nexthops", "protocol", "gateway", "linkLocalOf", "weight", "priority", "family", "from", "to", "fwmark", "fwmask",
        "Name", "tabl", "extra", "\u{212A}ind", "vni\u{0}", "a\nline 1: forged",
    ]

    static func deep(_ n: Int) -> J { n == 0 ? .number("1") : .array([deep(n - 1)]) }

    /// The value with one random change somewhere in it.
    func mutated(_ rng: inout SplitMix) -> J {
        switch self {
        case .object(var members):
            // Go deeper, or change here.
            if !members.isEmpty && rng.next(3) != 0 {
                let i = rng.next(members.count)
                members[i].1 = members[i].1.mutated(&rng)
                return .object(members)
            }
            switch rng.next(7) {
            case 0 where !members.isEmpty: members.remove(at: rng.next(members.count))
            case 1 where !members.isEmpty: members.insert(members[rng.next(members.count)], at: rng.next(members.count + 1))
            case 2:
                members.insert(
                    (Self.keys[rng.next(Self.keys.count)], Self.replacements[rng.next(Self.replacements.count)]),
                    at: rng.next(members.count + 1))
            case 3 where !members.isEmpty: members[rng.next(members.count)].1 = .null
            case 4 where !members.isEmpty: members[rng.next(members.count)].0 = Self.keys[rng.next(Self.keys.count)]
            case 5: members.shuffle(using: &rng)
            default:
                if rng.next(2) == 0 { return Self.replacements[rng.next(Self.replacements.count)] }
                members.reverse()
            }
            return .object(members)
        case .array(var items):
            if !items.isEmpty && rng.next(3) != 0 {
                let i = rng.next(items.count)
                items[i] = items[i].mutated(&rng)
                return .array(items)
            }
            switch rng.next(4) {
            case 0 where !items.isEmpty: items.remove(at: rng.next(items.count))
            case 1 where !items.isEmpty: items.append(items[rng.next(items.count)])
            case 2: items = []
            default: return Self.replacements[rng.next(Self.replacements.count)]
            }
            return .array(items)
        default:
            return Self.replacements[rng.next(Self.replacements.count)]
        }
    }

    /// An op list with routes and rules of every optional shape.
    static let routes: J = .object([
        ("format", .string("vrfc-ops")), ("version", .number("1")), ("underlay", .string("dum.underlay")),
        ("tableRange", .object([("first", .number("1000")), ("last", .number("1999"))])),
        ("links", .array([])), ("routerAttachments", .array([.string("up0")])), ("ownedTables", .array([.number("100")])),
        (
            "routes",
            .array([
                .object([
                    ("table", .number("254")), ("destination", .string("198.51.100.0/32")), ("protocol", .number("118")),
                    (
                        "nexthops",
                        .array([.object([("gateway", .string("192.0.2.2")), ("device", .string("up0")), ("weight", .number("1"))])])
                    ),
                ]),
                .object([
                    ("table", .number("100")), ("destination", .string("::/0")), ("protocol", .number("118")),
                    (
                        "nexthops",
                        .array([
                            .object([("gateway", .string("2001:db8:1::fa")), ("device", .string("up0")), ("weight", .number("100"))]),
                            .object([("linkLocalOf", .string("192.0.2.7")), ("device", .string("up0")), ("weight", .number("50"))]),
                        ])
                    ),
                ]),
            ])
        ),
        (
            "rules",
            .array([
                .object([
                    ("priority", .number("20")), ("family", .string("ipv4")), ("from", .string("203.0.113.0/32")),
                    ("table", .number("100")), ("fwmark", .number("20")), ("fwmask", .number("255")),
                ]),
                .object([
                    ("priority", .number("21")), ("family", .string("ipv6")), ("to", .string("2001:db8:ff::/64")),
                    ("table", .number("100")),
                ]),
            ])
        ),
        ("tableNames", .array([.object([("table", .number("100")), ("name", .string("vrfc-return"))])])),
    ])
}

/// Reads the goldens into `J` (they are plain, well-formed JSON).
struct JParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func space() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }

    mutating func document() -> J? {
        space()
        return value()
    }

    mutating func value() -> J? {
        space()
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, J)] = []
            space()
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object([])
            }
            while true {
                space()
                guard case .string(let k)? = value() else { return nil }
                space()
                i += 1  // ':'
                guard let v = value() else { return nil }
                members.append((k, v))
                space()
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "}") { return .object(members) }
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [J] = []
            space()
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array([])
            }
            while true {
                guard let v = value() else { return nil }
                items.append(v)
                space()
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "]") { return .array(items) }
            }
        case UInt8(ascii: "\""):
            // The goldens have no escapes.
            let start = i + 1
            i = start
            while bytes[i] != UInt8(ascii: "\"") { i += 1 }
            i += 1
            return .string(String(decoding: bytes[start..<(i - 1)], as: UTF8.self))
        case UInt8(ascii: "t"):
            i += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            i += 5
            return .bool(false)
        case UInt8(ascii: "n"):
            i += 4
            return .null
        default:
            let start = i
            while i < bytes.count, "-+.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
            return .number(String(decoding: bytes[start..<i], as: UTF8.self))
        }
    }
}
