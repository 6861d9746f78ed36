import Foundation
import Testing
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCTestSupport

@testable import VRFCBundle

/// The hand-written bundle and IR JSON against `JSONEncoder` (the `Codable`
/// types are the format's definition), and the kept IR read beside a new
/// one against reading it whole.
@Suite struct BundleJSONTests {
    /// Every fixture's IR, and variants a reconcile meets: a VRF fewer, an
    /// export entry fewer, a community changed.
    func irs() throws -> [(String, NodeIR)] {
        var out: [(String, NodeIR)] = []
        for fixture in Fixture.all {
            let ir = try fixture.ir()
            out.append(("\(fixture)", ir))
            var fewer = ir
            if !fewer.vrfs.isEmpty { fewer.vrfs.removeLast() }
            out.append(("\(fixture) without its last VRF", fewer))
            var lessPolicy = ir
            if let i = lessPolicy.vrfs.firstIndex(where: { !$0.exports.isEmpty }) {
                lessPolicy.vrfs[i].exports.removeFirst()
                out.append(("\(fixture) with an export fewer", lessPolicy))
            }
            var community = ir
            if let i = community.vrfs.firstIndex(where: { $0.exports.contains { $0.community != nil } }),
                let j = community.vrfs[i].exports.firstIndex(where: { $0.community != nil })
            {
                community.vrfs[i].exports[j].community = try CommunityList(validating: "64510:999")
                out.append(("\(fixture) with a community changed", community))
            }
        }
        return out
    }

    @Test func theIRIsWhatJSONEncoderWrites() throws {
        let cases = try irs()
        #expect(cases.count > 20)
        for (name, ir) in cases {
            let text = BundleJSON.ir(ir)
            #expect(text == BundleJSON.reference(ir), "\(name)")
            #expect(try JSONDecoder().decode(NodeIR.self, from: Data(text.utf8)) == ir, "\(name)")
            for vrf in ir.vrfs { #expect(BundleJSON.vrf(vrf) == BundleJSON.reference(vrf), "\(name): \(vrf.name)") }
        }
    }

    @Test func theBundleIsWhatJSONEncoderWrites() throws {
        let kernel = KernelBackend.Options(
            underlay: try InterfaceName(validating: "dum.underlay"), tableRange: TableRange(parsing: "1000-1999")!)
        for fixture in Fixture.all {
            let ir = try fixture.ir()
            let base = try Compiler.baseConfig(fixture.base)
            var fewer = ir
            if !fewer.vrfs.isEmpty { fewer.vrfs.removeLast() }
            for running in [nil, fewer] {
                let bundle = try Compiler.bundle(ir, base: base, templates: .shipped, running: running, kernel: kernel)
                #expect(bundle.encoded() == BundleJSON.reference(bundle) + "\n", "\(fixture)")
            }
            let linksOnly = try Compiler.bundle(ir, base: nil, templates: .shipped, running: nil, kernel: kernel)
            #expect(linksOnly.encoded() == BundleJSON.reference(linksOnly) + "\n", "\(fixture), links only")
        }
    }

    @Test func stringsAreEscapedAsJSONEncoderDoes() {
        var text = String(decoding: (0..<0x80).map { UInt8($0) }, as: UTF8.self)
        text += "/ \\ \" é ☃ 😀 \u{2028}"
        var out: [UInt8] = []
        BundleJSON.string(text, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == BundleJSON.reference([text]).dropFirst().dropLast())
    }

    /// The kept IR as vrfc-apply keeps it (compact) and as `--emit ir`
    /// prints it (indented: read whole), beside every new IR of the cases.
    @Test func aKeptIRReadBesideANewOneIsTheKeptIR() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfc-bundlejson-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = try irs()
        for (keptName, kept) in cases.filter({ !$0.0.contains(" with") && !$0.0.contains(" without") }) {
            for (form, text) in [("compact", BundleJSON.ir(kept)), ("indented", JSONOutput.encode(kept))] {
                let path = dir.appendingPathComponent("kept.json").path
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                for (newName, new) in cases where newName.hasPrefix(keptName) {
                    #expect(try Compiler.readIR(path, reusing: new) == kept, "\(keptName) (\(form)) beside \(newName)")
                }
            }
        }
        #expect(BundleJSON.splitVRFs(#"{"asn":1,"vrfs":[{"a":"x,\"]}"},{"b":[1,2]}]}"#)?.vrfs == [#"{"a":"x,\"]}"}"#, #"{"b":[1,2]}"#])
        #expect(BundleJSON.splitVRFs(#"{"asn":1,"vrfs":[]}"#)?.vrfs == [])
        #expect(BundleJSON.splitVRFs(#"{"asn":1,"vrfs":[{]}"#) == nil)
        #expect(BundleJSON.splitVRFs("[]") == nil)
    }

    /// A kept IR that is not vrfc's fails as reading it whole fails.
    @Test func aDamagedKeptIRIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfc-bundlejson-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ir = try Fixture(name: "dual-stack").ir()
        let good = BundleJSON.ir(ir)
        let path = dir.appendingPathComponent("kept.json").path
        for bad in [
            good.replacingOccurrences(of: #""kind":"full""#, with: #""kind":"bogus""#),
            good.replacingOccurrences(of: #""asn":"#, with: #""asn":-"#),
            String(good.dropLast(3)),
        ] {
            try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: Diagnostics.self) { try Compiler.readIR(path, reusing: ir) }
            #expect(throws: Diagnostics.self) { try Compiler.readIR(path) }
        }
    }

    func same(_ a: CompileBundle, _ b: CompileBundle) -> Bool {
        a.format == b.format && a.irJSON == b.irJSON && a.ops == b.ops && a.frrConf == b.frrConf && a.frame == b.frame
            && a.delta == b.delta
    }

    /// vrfc-apply's reader gives back what the compile wrote, and what
    /// another JSON writer (the benchmark's Python) makes of it.
    @Test func theReaderReadsWhatTheCompileWrites() throws {
        let kernel = KernelBackend.Options(
            underlay: try InterfaceName(validating: "dum.underlay"), tableRange: TableRange(parsing: "1000-1999")!)
        for fixture in Fixture.all {
            let ir = try fixture.ir()
            let base = try Compiler.baseConfig(fixture.base)
            var fewer = ir
            if !fewer.vrfs.isEmpty { fewer.vrfs.removeLast() }
            for bundle in [
                try Compiler.bundle(ir, base: base, templates: .shipped, running: fewer, kernel: kernel),
                try Compiler.bundle(ir, base: nil, templates: .shipped, running: nil, kernel: kernel),
            ] {
                let text = bundle.encoded()
                #expect(same(try BundleReader.decode(Array(text.utf8)), bundle), "\(fixture)")
                // Indented, every non-ASCII character and slash escaped, nulls written out.
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                var other = object
                if other["delta"] == nil { other["delta"] = NSNull() }
                let data = try JSONSerialization.data(withJSONObject: other, options: [.prettyPrinted])
                #expect(same(try BundleReader.decode(Array(data)), bundle), "\(fixture), rewritten")
            }
        }
        let ops = KernelBackend.ops(try Fixture(name: "dual-stack").ir(), options: kernel)
        let escaped = #"{"format":"vrfc-bundle/1","irJSON":"\u00e9\ud83d\ude00\/\n","ops":"# + BundleJSON.reference(ops) + "}"
        #expect(try BundleReader.decode(Array(escaped.utf8)).irJSON == "é😀/\n")
    }

    @Test func theReaderRefusesWhatIsNotABundle() throws {
        let ir = try Fixture(name: "dual-stack").ir()
        let kernel = KernelBackend.Options(
            underlay: try InterfaceName(validating: "dum.underlay"), tableRange: TableRange(parsing: "1000-1999")!)
        let good = try Compiler.bundle(
            ir, base: Compiler.baseConfig(Fixture(name: "dual-stack").base), templates: .shipped, running: ir, kernel: kernel
        ).encoded()
        let bad: [(String, String)] = [
            ("truncated", String(good.dropLast(5))),
            ("unknown key", good.replacingOccurrences(of: #"{"delta""#, with: #"{"extra":1,"delta""#)),
            ("duplicate key", good.replacingOccurrences(of: #""format":"vrfc-bundle/1""#, with: #""format":"vrfc-bundle/1","format":"x""#)),
            ("a number for a text", good.replacingOccurrences(of: #""format":"vrfc-bundle/1""#, with: #""format":1"#)),
            ("a negative count", good.replacingOccurrences(of: #""removals":"#, with: #""removals":-"#)),
            ("a bad op list", good.replacingOccurrences(of: #""underlay":"dum.underlay""#, with: #""underlay":"dum underlay""#)),
            ("no op list", good.replacingOccurrences(of: #","ops":"#, with: #","opx":"#)),
            ("a raw line break", good.replacingOccurrences(of: #"\n"#, with: "\n")),
            ("a lone surrogate", good.replacingOccurrences(of: #""format":"vrfc-bundle/1""#, with: #""format":"\ud800x""#)),
            ("trailing text", good + "{}"),
            ("a list", "[]"),
        ]
        for (what, text) in bad {
            #expect(throws: BundleReader.Failure.self, "\(what)") { try BundleReader.decode(Array(text.utf8)) }
        }
        #expect(throws: BundleReader.Failure.self, "not UTF-8") {
            try BundleReader.decode(Array(good.utf8.prefix(40)) + [0xFF] + Array(good.utf8.dropFirst(40)))
        }
    }

    /// The bundle reader's tokens come from the scanner the op-list reader
    /// shares; its refusals are worded here, named by key and byte.
    @Test func theReaderNamesWhatItRefusesByKeyAndByte() {
        func refused(_ bytes: [UInt8]) -> String {
            do {
                _ = try BundleReader.decode(bytes)
                return "(accepted)"
            } catch {
                return error.message
            }
        }
        func refused(_ text: String) -> String { refused(Array(text.utf8)) }
        let cases: [(String, String)] = [
            (#"{"format":"abc"#, "at .format: unterminated string at byte 14"),
            (#"{"format":"a\q"}"#, "at .format: an unknown escape at byte 13"),
            (#"{"format":"\u12"#, "at .format: a short \\u escape at byte 13"),
            (#"{"format":"\u12x4"}"#, "at .format: a bad \\u escape at byte 15"),
            (#"{"format":"\ud800x"}"#, "at .format: a lone surrogate at byte 17"),
            (#"{"format":"\udc00"}"#, "at .format: a lone surrogate at byte 11"),
            ("{\"format\":\"a\u{1}\"}", "at .format: a control character in a string at byte 12"),
            (#"{"format":1}"#, "at .format: expected a string at byte 10"),
            (#"{"delta":{"removals":-1}}"#, "at .delta.removals: expected a count at byte 21"),
            (#"{"delta":{"removals":01}}"#, "at .delta.removals: expected a count at byte 21"),
            (#"{"delta":{"removals":99999999999999999999}}"#, "at .delta.removals: number out of range at byte 21"),
            (#"{"ops":[]}"#, "at .ops: expected an object at byte 7"),
            (#"{"ops":}"#, "at .ops: unbalanced at byte 7"),
            (#"{"ops":{"a":"}"#, "at .ops: expected an object at byte 7"),
            (#"{"format":"x"}{}"#, "unexpected text after the bundle at byte 14"),
        ]
        for (text, message) in cases {
            #expect(refused(text) == message, "\(text)")
        }
        #expect(
            refused(Array(#"{"format":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) == "at .format: text that is not UTF-8 at byte 10")
    }
}
