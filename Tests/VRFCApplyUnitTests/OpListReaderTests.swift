import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCKernel
import VRFCTestSupport

/// The strict op-list reader accepts exactly what the compiler writes: every
/// golden op list reads back to the value JSONDecoder gives, and the JSON
/// forms a lenient reader would let through are refused with their line.
@Suite struct OpListReaderTests {
    /// What the reader says of `text`: its problems, or "(accepted)".
    func refused(_ text: String) -> String {
        do {
            _ = try OpListReader.decode(Array(text.utf8))
            return "(accepted)"
        } catch {
            return error.problems.joined(separator: "\n")
        }
    }

    @Test(arguments: Fixture.all)
    func everyGoldenOpListReadsLikeJSONDecoder(_ fixture: Fixture) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repo.path("golden/\(fixture.name).ops.json")))
        let strict = try OpListReader.decode(Array(data))
        #expect(strict == (try JSONDecoder().decode(OpList.self, from: data)))
    }

    @Test func jsonDetails() throws {
        let golden = String(decoding: try Data(contentsOf: URL(fileURLWithPath: Repo.path("golden/mgmt-vrf.ops.json"))), as: UTF8.self)
        // Escapes, surrogate pairs included, read like the raw text.
        let escaped = golden.replacingOccurrences(of: "\"vrfc-ops\"", with: "\"vrfc\\u002dops\"")
        #expect(try OpListReader.decode(Array(escaped.utf8)).format == "vrfc-ops")
        let rocket = golden.replacingOccurrences(of: "\"vrfc-ops\"", with: "\"\\ud83d\\ude80\"")
        #expect(try OpListReader.decode(Array(rocket.utf8)).format == "🚀")

        #expect(
            refused(golden.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 1.0")).contains(
                "version: 1.0 is not an integer"))
        #expect(refused(golden.replacingOccurrences(of: "\"vrfc-ops\"", with: "\"\\ud83d\"")).contains("low one"))
        #expect(refused(golden.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 01")).contains("leading zeros"))
        #expect(refused(golden + "x").contains("after the end of the document"))
        #expect(
            refused(golden.replacingOccurrences(of: "\"mtu\" : 9000", with: "\"mtu\" : null")).contains(
                "links[0].mtu: expected an integer, found null"))
        // A key with a newline and an escape sequence cannot forge a message line.
        let forged = refused("{\"a\\nline 1: error: forged\\u001b[31m\": 1}").split(separator: "\n")
        #expect(forged.contains { $0.hasPrefix("line 1: top level: unknown field 'a\\u{a}line 1: error: forged\\u{1b}[31m'") }, "\(forged)")
        #expect(!forged.contains { $0.hasPrefix("line 1: error") } && !forged.joined().contains("\u{1b}"), "\(forged)")
    }

    /// The tokens come from the scanner the bundle reader shares; its
    /// refusals are worded here, with their line.
    @Test func tokenRefusalsAreWordedWithTheirLine() throws {
        let cases: [(String, String)] = [
            ("{\n\"format\": \"abc", "line 2: not valid JSON: unexpected end of the document in a string"),
            ("{\n\n\"a\\q\": 1}", "line 3: not valid JSON: unknown escape \\q"),
            ("{\"a\\\u{1b}\": 1}", "line 1: not valid JSON: unknown escape \\(byte 0x1b)"),
            ("{\"a\\u12", "line 1: not valid JSON: unexpected end of the document in a \\u escape"),
            ("{\"a\\u12x4\": 1}", "line 1: not valid JSON: \\u must be followed by four hex digits"),
            ("{\"a\\ud800\\u0041\": 1}", "line 1: not valid JSON: a high surrogate \\u escape must be followed by a low one"),
            ("{\"a\\udc00\": 1}", "line 1: not valid JSON: a lone low surrogate \\u escape"),
            ("{\n\"a\": \"\u{1}\"}", "line 2: not valid JSON: control character 0x1 in a string; write it as an escape"),
            ("{\"a\": 1.}", "line 1: not valid JSON: a number needs digits after '.'"),
            ("{\"a\": -}", "line 1: not valid JSON: a number needs digits"),
            ("{\"a\": 1e}", "line 1: not valid JSON: a number needs digits in its exponent"),
            ("{\"a\": tru}", "line 1: not valid JSON: unexpected 't', expected a value"),
            (String(repeating: "[", count: 100_000), "line 1: not valid JSON: nested deeper than 32 levels; an op list nests four"),
        ]
        for (text, message) in cases {
            #expect(refused(text) == message, "\(text.prefix(40).debugDescription)")
        }
        let golden = String(decoding: try Data(contentsOf: URL(fileURLWithPath: Repo.path("golden/mgmt-vrf.ops.json"))), as: UTF8.self)
        let huge = "1" + String(repeating: "0", count: 30)
        #expect(
            refused(golden.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : \(huge)")).contains(
                "version: \(huge) is out of range"))
        // A number of any length is valid JSON; the message quoting it stays short.
        let endless = "9" + String(repeating: "0", count: 100_000)
        let endlessMessage = refused(golden.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : \(endless)"))
        #expect(
            endlessMessage.contains("version: \(endless.prefix(32))… (100001 characters) is out of range"),
            "\(endlessMessage.prefix(200))")
        #expect(endlessMessage.utf8.count < 400)
        var notUTF8 = Array(golden.utf8)
        let at = try #require(golden.utf8.firstIndex(of: UInt8(ascii: "-")))
        notUTF8[golden.utf8.distance(from: golden.utf8.startIndex, to: at)] = 0xFF
        do {
            _ = try OpListReader.decode(notUTF8)
            Issue.record("text that is not UTF-8 accepted")
        } catch {
            #expect(error.problems.first?.hasSuffix("not valid JSON: a string that is not UTF-8") == true, "\(error.problems)")
        }
    }
}
