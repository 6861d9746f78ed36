import Testing
import VRFCModel

/// The JSON lexer the strict readers share: what it accepts, and hostile
/// text refused with its kind and place, never a crash.
@Suite struct JSONScannerTests {
    func scan(_ bytes: [UInt8]) -> Result<String, JSONScanner.Failure> {
        var s = JSONScanner(bytes)
        return Result { () throws(JSONScanner.Failure) in try s.string() }
    }

    func scan(_ text: String) -> Result<String, JSONScanner.Failure> { scan(Array(text.utf8)) }

    func kind(_ text: String) -> JSONScanner.Failure.Kind? {
        if case .failure(let f) = scan(text) { return f.kind }
        return nil
    }

    @Test func stringsAreUnescaped() throws {
        #expect(try scan(#""""#).get() == "")
        #expect(try scan(#""plain""#).get() == "plain")
        #expect(try scan(#""\"\\\/\b\f\n\r\t""#).get() == "\"\\/\u{8}\u{C}\n\r\t")
        #expect(try scan(#""\u0041\u00e9\u20AC\ud83d\ude80""#).get() == "Aé€🚀")
        #expect(try scan("\"é raw, \\n then 🚀\"").get() == "é raw, \n then 🚀")
        // The scanner stops after the closing quote.
        var s = JSONScanner(Array(#""a\nb" , 1"#.utf8))
        #expect(try s.string() == "a\nb")
        #expect(s.offset == 6 && s.next == UInt8(ascii: " "))
        // A large text with an escape every few bytes (a bundle's frr.conf).
        let line = "router bgp 64512 vrf vr.b0001 \"q\"\n"
        let big = String(repeating: line, count: 50_000)
        let written =
            "\""
            + big.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
        #expect(try scan(written).get() == big)
    }

    @Test func hostileStringsAreRefusedWithTheirKindAndPlace() throws {
        func failure(_ bytes: [UInt8]) -> JSONScanner.Failure? {
            if case .failure(let f) = scan(bytes) { return f }
            return nil
        }
        #expect(failure(Array(#""abc"#.utf8)) == JSONScanner.Failure(.unterminatedString, offset: 4, line: 1))
        #expect(kind(#""abc\"#) == .unterminatedString)
        #expect(kind(#""\u12"#) == .shortUnicodeEscape)
        #expect(failure(Array(#""\u12g4""#.utf8)) == JSONScanner.Failure(.badUnicodeEscape, offset: 5, line: 1))
        #expect(kind(#""\x""#) == .unknownEscape(UInt8(ascii: "x")))
        #expect(kind(#""\ud800""#) == .loneHighSurrogate)
        #expect(kind(#""\ud800x""#) == .loneHighSurrogate)
        #expect(kind(#""\ud800\u0041""#) == .loneHighSurrogate)
        #expect(kind(#""\ud800\ud800""#) == .loneHighSurrogate)
        #expect(kind(#""\ud800\u00"#) == .shortUnicodeEscape)
        #expect(failure(Array(#""ab\udc00""#.utf8)) == JSONScanner.Failure(.loneLowSurrogate, offset: 3, line: 1))
        #expect(failure(Array("\"a\nb\"".utf8)) == JSONScanner.Failure(.controlCharacter(0x0A), offset: 2, line: 1))
        #expect(failure([0x22, 0x5C, 0x1B, 0x22]) == JSONScanner.Failure(.unknownEscape(0x1B), offset: 2, line: 1))
        // Bytes that are not UTF-8: a stray byte, an overlong form, an encoded
        // surrogate, a lead byte cut off by an escape; the offset is the quote.
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xC3, 0x5C, 0x6E], [0xE2, 0x82]] {
            var s = JSONScanner([0x20, 0x22] + bad + [0x22], offset: 1)
            #expect(throws: JSONScanner.Failure(.notUTF8, offset: 1, line: 1), "\(bad)") { try s.string() }
        }
        // Every prefix of a string full of escapes is refused, none read past its end.
        let full = Array(#""a\n\u00e9\ud83d\ude80\\z""#.utf8)
        #expect(try scan(full).get() == "a\né🚀\\z")
        for n in 1..<full.count {
            let k = failure(Array(full.prefix(n)))?.kind
            #expect(
                k == .unterminatedString || k == .shortUnicodeEscape || k == .loneHighSurrogate, "prefix \(n): \(String(describing: k))")
        }
    }

    @Test func numbersAreCheckedAndKeptAsWritten() {
        func number(_ text: String) -> Result<String, JSONScanner.Failure> {
            var s = JSONScanner(Array(text.utf8))
            return Result { () throws(JSONScanner.Failure) in try s.number() }
        }
        for good in ["0", "-0", "7", "12.5e-3", "1E+9", "-0.0"] {
            #expect((try? number(good).get()) == good)
        }
        #expect((try? number("42,").get()) == "42")
        // A number too large for any integer type is kept as written: the reader names its range.
        let huge = "1" + String(repeating: "0", count: 100_000)
        #expect((try? number(huge).get()) == huge)
        #expect((try? number("-" + huge + ".5e-99999").get()) == "-" + huge + ".5e-99999")
        let bad: [(String, JSONScanner.Failure.Kind)] = [
            ("-", .numberWithoutDigits), ("-a", .numberWithoutDigits), ("01", .numberWithLeadingZero),
            ("-00", .numberWithLeadingZero), ("1.", .numberWithoutFractionDigits), ("1.e5", .numberWithoutFractionDigits),
            ("1e", .numberWithoutExponentDigits), ("1e+", .numberWithoutExponentDigits), ("1E-x", .numberWithoutExponentDigits),
        ]
        for (text, kind) in bad {
            guard case .failure(let f) = number(text) else {
                Issue.record("\(text) accepted")
                continue
            }
            #expect(f.kind == kind, "\(text)")
        }
    }

    @Test func spaceCountsLinesAndLiteralsStopAtTheEnd() {
        var s = JSONScanner(Array(" \n\t\r\n  nul".utf8))
        s.skipSpace()
        #expect(s.line == 3 && s.offset == 7)
        #expect(!s.take("null") && s.offset == 7)
        var t = JSONScanner(Array("nullx".utf8))
        #expect(t.take("null") && t.next == UInt8(ascii: "x"))
        #expect(!t.take("x!") && !t.atEnd)
        var u = JSONScanner(Array("\n\n\"a\u{1}\"".utf8))
        u.skipSpace()
        #expect(throws: JSONScanner.Failure(.controlCharacter(1), offset: 4, line: 3)) { try u.string() }
    }
}
