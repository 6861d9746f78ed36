import Foundation
import Testing
import VRFCDriver
import VRFCFRR
import VRFCKernel
import VRFCModel
import VRFCTestSupport

/// Every fixture compiles to exactly its golden files. A deliberate output
/// change is made with scripts/regen-golden.sh and reviewed as a diff.
@Suite struct GoldenTests {
    @Test func thereAreEnoughScenarios() {
        #expect(Fixture.all.count >= 8, "at least eight realistic scenarios")
    }

    @Test(arguments: Fixture.all)
    func frrMatchesGolden(_ fixture: Fixture) throws {
        let golden = try #require(readText(fixture.golden("conf")), "missing golden/\(fixture.name).conf; run scripts/regen-golden.sh")
        let output = try fixture.frr()
        #expect(
            UnifiedDiff.diff(old: golden, new: output, oldName: "golden", newName: "output") == nil,
            "\(UnifiedDiff.diff(old: golden, new: output, oldName: "golden", newName: "output") ?? "")")
    }

    @Test(arguments: Fixture.all)
    func irMatchesGolden(_ fixture: Fixture) throws {
        let golden = try #require(readText(fixture.golden("ir.json")))
        #expect(JSONOutput.encode(try fixture.ir()) == golden)
    }

    @Test(arguments: Fixture.all)
    func opsMatchGolden(_ fixture: Fixture) throws {
        let golden = try #require(readText(fixture.golden("ops.json")))
        #expect(JSONOutput.encode(KernelBackend.ops(try fixture.ir())) == golden)
    }

    /// Templates get finished names (`{{vrfDevice}}`, `{{exportMapV4}}`):
    /// none of the shipped ones glues a name together around a tag.
    @Test func noShippedTemplateBuildsAName() throws {
        let glued = try Regex("[A-Za-z0-9_.]\\{\\{|\\}\\}[A-Za-z0-9_]")
        for hint in Hint.allCases {
            let source = TemplateSet.shippedSource(hint)
            #expect(source.firstMatch(of: glued) == nil, "\(hint.templateName).mustache")
        }
    }

    /// A user's template written before the finished names, spelling
    /// `vr.{{name}}` and `rm_{{name}}_export` itself, still renders the same.
    @Test func overridesThatSpellNamesThemselvesStillWork() throws {
        let dir = try TempDir()
        let spelled = [
            ("{{vrfDevice}}", "vr.{{name}}"), ("{{vrfSide}}", "vd.{{name}}"), ("{{defaultSide}}", "dv.{{name}}"),
            ("{{importMapV4}}", "rm_{{name}}_import"), ("{{exportMapV4}}", "rm_{{name}}_export"),
            ("{{importMapV6}}", "rm6_{{name}}_import"), ("{{exportMapV6}}", "rm6_{{name}}_export"),
        ]
        var changed = 0
        for hint in Hint.allCases {
            let shipped = TemplateSet.shippedSource(hint)
            let old = spelled.reduce(shipped) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            if old != shipped { changed += 1 }
            try dir.write(hint.templateName + ".mustache", old)
        }
        #expect(changed >= 5, "the shipped templates use the finished names")
        let templates = try TemplateSet(overrides: dir.path)
        for fixture in Fixture.all {
            let output = try Compiler.frr(fixture.ir(), base: Compiler.baseConfig(fixture.base), templates: templates)
            #expect(output == readText(fixture.golden("conf")), "\(fixture.name)")
        }
    }

    @Test(arguments: Fixture.all)
    func compilingTwiceGivesIdenticalBytes(_ fixture: Fixture) throws {
        #expect(try fixture.frr() == fixture.frr())
        #expect(JSONOutput.encode(try fixture.ir()) == JSONOutput.encode(try fixture.ir()))
    }

    /// The IR's JSON form is a faithful serialisation: decoding it (which
    /// re-validates every name) gives the same value back.
    @Test(arguments: Fixture.all)
    func irRoundTripsThroughJSON(_ fixture: Fixture) throws {
        let ir = try fixture.ir()
        let decoded = try JSONDecoder().decode(NodeIR.self, from: Data(JSONOutput.encode(ir).utf8))
        #expect(decoded == ir)
    }

    /// Route-map entries are emitted back to back, without `exit`
    /// (FRR commits at every exit after an entry: quadratic load time).
    @Test(arguments: Fixture.all)
    func routeMapEntriesHaveNoExitBetweenThem(_ fixture: Fixture) throws {
        let lines = try fixture.frr().split(separator: "\n")
        let base = try #require(readText(fixture.base))
        let baseExits = base.split(separator: "\n").filter { $0 == "exit" }.count
        // Generated text adds one `exit` per BGP instance and one after all route-maps.
        let ir = try fixture.ir()
        let expected = baseExits + ir.fullVRFs.count + (ir.vrfs.isEmpty ? 0 : 1)
        #expect(lines.filter { $0 == "exit" }.count == expected)
    }

    @Test func exportCommunityIsReallySet() throws {
        let out = try Fixture(name: "mgmt-vrf").frr()
        #expect(
            out.contains("route-map rm_vrf1_export permit 11\n match ip address prefix-list pl_vrf1_10_export\n set community 65000:100\n"))
        #expect(!out.contains("{{"), "no template placeholder may survive into the output")
    }
}
