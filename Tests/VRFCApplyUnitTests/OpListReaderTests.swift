import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCKernel
import VRFCTestSupport

/// The strict op-list reader accepts exactly what the compiler writes: every
/// golden op list reads back to the value JSONDecoder gives, and the JSON
/// forms a lenient reader would let through are refused with their line.
@Suite struct OpListReaderTests {
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

        func refused(_ text: String) -> String {
            do {
                _ = try OpListReader.decode(Array(text.utf8))
                return "(accepted)"
            } catch {
                return error.problems.joined(separator: "\n")
            }
        }
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
}
