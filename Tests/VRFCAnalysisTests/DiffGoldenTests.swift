import Foundation
import Testing
import VRFCAnalysis
import VRFCDriver
import VRFCModel
import VRFCTestSupport

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// fixtures-diff/NAME: config.yaml (and old-config.yaml when the node config
/// changes too), old/ and new/ CRs; golden/diff/NAME.{txt,json,md,dot} are
/// what `vrfc diff` prints (scripts/regen-golden.sh writes them).
struct DiffCase: Sendable, CustomStringConvertible {
    let name: String
    var dir: String { Repo.path("fixtures-diff/\(name)") }
    var config: String { dir + "/config.yaml" }
    var oldConfig: String {
        FileManager.default.fileExists(atPath: dir + "/old-config.yaml") ? dir + "/old-config.yaml" : config
    }
    var description: String { name }
    static let all = ((try? FileManager.default.contentsOfDirectory(atPath: Repo.path("fixtures-diff"))) ?? [])
        .filter { !$0.hasPrefix(".") }.sorted().map(DiffCase.init)

    func cli(_ format: [String]) throws -> CommandResult {
        try Shell.run(
            [Repo.executable("vrfc"), "diff", "--config", config, "--old-config", oldConfig] + format + [dir + "/old", "--", dir + "/new"])
    }
}

struct DiffGoldenTests {
    @Test func thereAreDiffCases() {
        #expect(DiffCase.all.map(\.name).contains("reorder-noop"))
        #expect(DiffCase.all.map(\.name).contains("deny-above-permit"))
    }

    @Test(arguments: DiffCase.all)
    func diffMatchesGolden(_ c: DiffCase) throws {
        for (flags, ext) in [([String](), "txt"), (["--json"], "json"), (["--markdown"], "md"), (["--graph", "dot"], "dot")] {
            let r = try c.cli(flags)
            let golden = Repo.path("golden/diff/\(c.name).\(ext)")
            #expect(r.stdout == readText(golden), "\(c.name) \(flags): differs from \(golden); run scripts/regen-golden.sh and review")
            #expect(r.status == (c.name == "reorder-noop" ? 0 : 4), "\(c.name) \(flags): exit \(r.status), stderr \(r.stderr)")
        }
    }

    /// The no-op case really is one: CR items reordered, decisions the same.
    @Test func reorderingThatChangesNothingPrintsNothing() throws {
        let c = DiffCase(name: "reorder-noop")
        let old = try Compiler.ir(.init(config: c.config, objects: [c.dir + "/old"]))
        let new = try Compiler.ir(.init(config: c.config, objects: [c.dir + "/new"]))
        #expect(old.vrfs[0].imports[0].ipv4.map(\.index) != new.vrfs[0].imports[0].ipv4.map(\.index))
        #expect(IntentDiff(old: old, new: new).isEmpty)
    }

    @Test func aDenyAbovePermitShowsTheSpaceItTakes() throws {
        let c = DiffCase(name: "deny-above-permit")
        let r = try c.cli([])
        #expect(r.stdout.contains("- 203.0.113.64/26 le 32 (was CR web, item 1; now denied by CR web, item 1)"))
        // The deny below the permit is never reached: nothing about it.
        #expect(!r.stdout.contains("203.0.113.0/28"))
    }

    @Test func invalidSideExitsOneAndNamesIt() throws {
        let dir = try TempDir()
        let bad = try dir.write(
            "bad.yaml",
            "apiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\nmetadata: {name: x}\nspec: {vrf: vrf1, seq: 0}\n")
        let c = DiffCase(name: "deny-above-permit")
        let r = try Shell.run([Repo.executable("vrfc"), "diff", "--config", c.config, c.dir + "/old", "--", bad])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the new side does not compile") && r.stderr.contains("bad.yaml:4"))
        #expect(!r.stderr.contains("the old side does not compile"))
        // Both sides wrong: both reported.
        let both = try Shell.run([Repo.executable("vrfc"), "diff", "--config", c.config, bad, "--", bad])
        #expect(
            both.status == 1 && both.stderr.contains("the old side does not compile")
                && both.stderr.contains("the new side does not compile"))
    }

    @Test func usageErrorsExitTwo() throws {
        let c = DiffCase(name: "deny-above-permit")
        let late = try Shell.run([Repo.executable("vrfc"), "diff", "--config", c.config, c.dir + "/old", "--", c.dir + "/new", "--json"])
        #expect(late.status == 2 && late.stderr.contains("options go before the inputs"))
        let oneSide = try Shell.run([Repo.executable("vrfc"), "diff", "--config", c.config, c.dir + "/old"])
        #expect(oneSide.status == 2 && oneSide.stderr.contains("then '--'"))
        let help = try Shell.run([Repo.executable("vrfc"), "diff", "--help"])
        #expect(help.status == 0 && help.stdout.contains("OLD_INPUT... come before '--'"))
        let two = try Shell.run([
            Repo.executable("vrfc"), "diff", "--config", c.config, "--json", "--markdown", c.dir + "/old", "--", c.dir + "/new",
        ])
        #expect(two.status == 2)
    }
}

/// `vrfc graph`: DOT golden per fixture, one SVG rendered by Graphviz and
/// parsed as XML.
struct GraphTests {
    @Test(arguments: Fixture.all)
    func dotMatchesGolden(_ f: Fixture) throws {
        let r = try Shell.run([Repo.executable("vrfc"), "graph", "--config", f.config, f.crs])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == readText(f.golden("graph.dot")), "\(f.name): differs from golden; run scripts/regen-golden.sh and review")
    }

    @Test func svgIsWellFormed() throws {
        let f = Fixture(name: "mgmt-vrf")
        let r = try Shell.run([Repo.executable("vrfc"), "graph", "--config", f.config, "--format", "svg", f.crs])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try XMLDocument(data: Data(r.stdout.utf8))
        #expect(doc.rootElement()?.name == "svg")
        // Every VRF is drawn.
        for vrf in try f.ir().vrfs { #expect(r.stdout.contains(vrf.name.value)) }
    }
}

/// `vrfc explain`: the trace names CR, entry, item and line; batch mode
/// agrees with single mode.
struct ExplainCLITests {
    let f = Fixture(name: "dual-stack")

    func explain(_ args: [String], stdin: String? = nil) throws -> CommandResult {
        try Shell.run([Repo.executable("vrfc"), "explain", "--config", f.config] + args, stdin: stdin.map { Data($0.utf8) })
    }

    @Test func namesTheDecidingEntryAndLine() throws {
        let r = try explain([f.crs, "--vrf", "tenant-a", "--direction", "import", "2001:db8:a:ff::/64"])
        #expect(r.status == 0)
        #expect(
            r.stdout == """
                tenant-a import 2001:db8:a:ff::/64: permit
                  route-map rm6_tenant-a_import
                  entry 11 (permit, CR tenant-a-services, spec.seq 10): prefix-list line seq 2 permit 2001:db8:a::/48 le 64 (spec.import[1], item 2) matches -> permit

                """)
    }

    @Test func fabricTagAndImplicitDeny() throws {
        let tagged = try explain([f.crs, "--vrf", "tenant-a", "--direction", "export", "--tag", "20000", "198.51.100.0/25"])
        #expect(tagged.stdout.contains("entry 1 (deny, fabric tag rule): tag 20000 matches -> deny"))
        let none = try explain([f.crs, "--vrf", "tenant-a", "--direction", "export", "192.0.2.0/24"])
        #expect(none.stdout.hasPrefix("tenant-a export 192.0.2.0/24: deny"))
        #expect(none.stdout.contains("implicit deny at the end of rm_tenant-a_export"))
        let community = try explain([f.crs, "--vrf", "tenant-a", "--direction", "export", "198.51.100.0/25"])
        #expect(community.stdout.hasPrefix("tenant-a export 198.51.100.0/25: permit, community 65000:2001"))
    }

    @Test func batchAgreesWithSingle() throws {
        let prefixes = ["2001:db8:a:ff::/64", "203.0.113.5/32", "0.0.0.0/0", "::/0", "203.0.113.0/25", "198.51.100.0/24"]
        let r = try explain(
            [f.crs, "--vrf", "tenant-a", "--direction", "import", "--batch", "-"], stdin: prefixes.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(lines.count == prefixes.count)
        for (p, l) in zip(prefixes, lines) {
            let single = try explain([f.crs, "--vrf", "tenant-a", "--direction", "import", p])
            #expect(l[0] == p && single.stdout.hasPrefix("tenant-a import \(p): \(l[1])"))
        }
        #expect(lines[1] == ["203.0.113.5/32", "permit", "tenant-a-services", "item 1", "1", "-"])
    }

    @Test func badInputIsLocated() throws {
        let r = try explain([f.crs, "--vrf", "tenant-a", "--direction", "import", "--batch", "-"], stdin: "203.0.113.0/25\n10.0.0.1/8\n")
        #expect(r.status == 1 && r.stderr.contains("<stdin>:2: error: '10.0.0.1/8' is not a prefix: write the canonical form 10.0.0.0/8"))
        let usage = try explain([f.crs, "--vrf", "tenant-a", "--direction", "import", "10.0.0.1"])
        #expect(usage.status == 2 && usage.stderr.contains("for a host route write 10.0.0.1/32"))
        let vrf = try explain([f.crs, "--vrf", "nope", "--direction", "import", "10.0.0.0/8"])
        #expect(vrf.status == 1 && vrf.stderr.contains("the inputs name: tenant-a, tenant-b"))
    }
}
