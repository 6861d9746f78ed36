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

    /// One route and one rule, in the shape the compiler writes.
    static let routeOps = """
        {"format": "vrfc-ops", "version": 1, "underlay": "dum.underlay", "tableRange": {"first": 1000, "last": 1999},
         "links": [], "routerAttachments": [], "ownedTables": [100],
         "routes": [{"table": 100, "destination": "0.0.0.0/0", "protocol": 118,
                     "nexthops": [{"gateway": "192.0.2.250", "device": "up0", "weight": 100}]}],
         "rules": [{"priority": 20, "family": "ipv4", "from": "203.0.113.0/32", "table": 100}]}
        """

    /// The reader reads the text once, with no tree: duplicate keys are
    /// still found at any depth (in values it otherwise passes over too),
    /// keys written with escapes are the same keys, and problems come in
    /// the schema's order, not the text's.
    @Test func singlePassKeepsEveryCheck() throws {
        let ops = Self.routeOps
        #expect(refused(ops) == "(accepted)")
        // A duplicate in a nexthop, in a vxlan object, and inside an unknown field's value.
        #expect(
            refused(ops.replacingOccurrences(of: "\"weight\": 100}", with: "\"weight\": 100,\n \"device\": \"up1\"}"))
                == "line 5: not valid JSON: duplicate key 'device' (first at line 4); each key may appear once")
        #expect(
            refused(ops.replacingOccurrences(of: "\"links\": []", with: "\"links\": [{\"vxlan\": {\"vni\": 1, \"vni\": 2}}]"))
                == "line 2: not valid JSON: duplicate key 'vni' (first at line 2); each key may appear once")
        #expect(
            refused(ops.replacingOccurrences(of: "\"ownedTables\"", with: "\"extra\": [{\"a\": {\"b\": 1,\n\"b\": 2}}], \"ownedTables\""))
                == "line 3: not valid JSON: duplicate key 'b' (first at line 2); each key may appear once")
        // The same key twice, once written with an escape.
        #expect(
            refused(ops.replacingOccurrences(of: "\"priority\": 20,", with: "\"priority\": 20, \"pr\\u0069ority\": 21,"))
                == "line 5: not valid JSON: duplicate key 'priority' (first at line 5); each key may appear once")
        let escaped = ops.replacingOccurrences(of: "\"gateway\"", with: "\"g\\u0061teway\"")
            .replacingOccurrences(of: "\"destination\"", with: "\"\\u0064estination\"")
        #expect(try OpListReader.decode(Array(escaped.utf8)) == (try OpListReader.decode(Array(ops.utf8))))
        // Fields in another order than the compiler's: the problems still in the schema's
        // (unknown fields, missing ones, then table, destination, protocol, nexthops).
        let reordered = """
            {"routes": [{"nexthops": [{"weight": "x"}], "protocol": 999, "destination": "10.0.0.1/8", "bogus": 1, "table": -1}],
             "format": "vrfc-ops", "version": 1, "underlay": "dum.underlay", "tableRange": {"last": 1999, "first": 1000},
             "links": [], "routerAttachments": []}
            """
        #expect(
            refused(reordered) == """
                line 1: routes[0]: unknown field 'bogus'; known fields: table, destination, nexthops, protocol
                line 1: routes[0].table: -1 is out of range (0...4294967295)
                line 1: routes[0].destination: '10.0.0.1/8' is not canonical; the prefix is written '10.0.0.0/8'
                line 1: routes[0].protocol: 999 is out of range (0...255)
                line 1: routes[0].nexthops[0].weight: expected an integer, found a string
                """)
        // A field read only once the one before it is good: `last` after a bad `first`.
        #expect(
            refused(ops.replacingOccurrences(of: "{\"first\": 1000, \"last\": 1999}", with: "{\"last\": \"x\", \"first\": true}"))
                == "line 1: tableRange.first: expected an integer, found a boolean")
        // Wrong kinds are named and passed over, still checked: a bad literal inside is a JSON error.
        #expect(
            refused(ops.replacingOccurrences(of: "\"links\": []", with: "\"links\": {\"a\": [tru]}"))
                == "line 2: not valid JSON: unexpected 't', expected a value")
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
