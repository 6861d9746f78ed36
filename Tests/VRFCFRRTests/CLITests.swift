import Foundation
import Testing
import VRFCTestSupport

/// The `vrfc compile` contract that users' CI depends on: flags, exit codes
/// (0 ok, 1 invalid input or --check mismatch, 2 usage), atomic -o.
@Suite struct CLITests {
    let vrfc = Repo.executable("vrfc")
    let fixture = Fixture(name: "mgmt-vrf")
    var common: [String] {
        [vrfc, "compile", "--config", fixture.config, "--template", fixture.base, "--hostname", "node-a", "--router-id", "192.0.2.129"]
    }

    @Test func compilesToStdout() throws {
        let r = try Shell.run(common + [fixture.crs])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == readText(fixture.golden("conf")))
        #expect(r.stderr.isEmpty)
    }

    @Test func emitsIRAndOps() throws {
        let ir = try Shell.run(common + ["--emit", "ir", fixture.crs])
        #expect(ir.status == 0 && ir.stdout == readText(fixture.golden("ir.json")))
        let ops = try Shell.run(common + ["--emit", "ops", fixture.crs])
        #expect(ops.status == 0 && ops.stdout == readText(fixture.golden("ops.json")))
    }

    @Test func writesOutputFile() throws {
        let dir = try TempDir()
        let out = dir.path + "/frr.conf"
        let r = try Shell.run(common + ["-o", out, fixture.crs])
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
        #expect(readText(out) == readText(fixture.golden("conf")))
    }

    @Test func invalidInputExitsOneAndWritesNothing() throws {
        let dir = try TempDir()
        let out = dir.path + "/frr.conf"
        try "previous good config\n".write(toFile: out, atomically: true, encoding: .utf8)
        let bad = try dir.write(
            "bad.yaml",
            """
            apiVersion: network.schiff.telekom.de/v1alpha1
            kind: VRFRouteConfiguration
            metadata: {name: bad}
            spec: {vrf: vrf1, seq: 10, import: [{cidr: 10.0.0.1/8, action: permit}]}
            """)
        let r = try Shell.run(common + ["-o", out, bad])
        #expect(r.status == 1, "\(r)")
        #expect(
            r.stderr.contains(
                "\(bad):4: error: VRFRouteConfiguration \"bad\": spec.import[0].cidr: '10.0.0.1/8' has host bits set; write the network '10.0.0.0/8'"
            ), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was written"))
        #expect(readText(out) == "previous good config\n", "the previous file is untouched")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["bad.yaml", "frr.conf"],
            "no temporary file left behind")
    }

    @Test func usageErrorsExitTwo() throws {
        for args in [
            ["compile"], ["compile", "--config", fixture.config, fixture.crs],  // no --template for frr
            common + ["--router-id", "192.0.2.300", fixture.crs], common + ["--emit", "yaml", fixture.crs],
            common + ["--hostname", "bad name", fixture.crs], ["frobnicate"], common + ["--bogus", fixture.crs],
        ] {
            let r = try Shell.run([vrfc] + args.dropFirst(args.first == vrfc ? 1 : 0))
            #expect(r.status == 2, "\(args): \(r)")
            #expect(!r.stderr.isEmpty)
        }
    }

    @Test func checkPassesOnGoldenAndPrintsADiffOtherwise() throws {
        let ok = try Shell.run(common + ["--check", fixture.golden("conf"), fixture.crs])
        #expect(ok.status == 0 && ok.stdout.isEmpty, "\(ok)")

        let dir = try TempDir()
        let stale = try dir.write(
            "stale.conf", readText(fixture.golden("conf"))!.replacingOccurrences(of: " set community 65000:100\n", with: ""))
        let r = try Shell.run(common + ["--check", stale, fixture.crs])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("--- \(stale)\n+++ vrfc compile output\n@@ "), "\(r.stdout)")
        #expect(r.stdout.contains("\n+ set community 65000:100\n"))
        #expect(r.stderr.contains("differs"))
    }

    @Test func readsStdin() throws {
        let text = try #require(readText(fixture.crs + "/vrf1.yaml"))
        let r = try Shell.run(common + ["--emit", "ir", "-"], stdin: Data(text.utf8))
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("\"vrf1-web\""))
    }

    @Test func directoriesAreReadRecursivelyInNameOrderSkippingHiddenAndOtherFiles() throws {
        let dir = try TempDir()
        func cr(_ name: String, _ seq: Int) -> String {
            "apiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\nmetadata: {name: \(name)}\nspec: {vrf: vrf1, seq: \(seq)}\n"
        }
        try dir.write("b/second.yaml", cr("second", 20))
        try dir.write("a.yml", cr("first", 10))
        try dir.write(
            "c.json",
            #"{"apiVersion": "network.schiff.telekom.de/v1alpha1", "kind": "VRFRouteConfiguration", "metadata": {"name": "third"}, "spec": {"vrf": "vrf1", "seq": 30}}"#
        )
        try dir.write("..2026_11_21/stale.yaml", "this: [is not read")
        try dir.write("notes.txt", "not yaml")
        let r = try Shell.run(common + ["--emit", "ir", dir.path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("first") && r.stdout.contains("second") && r.stdout.contains("third"))
    }

    @Test func helpExplainsEveryFlagWithExamples() throws {
        let r = try Shell.run([vrfc, "compile", "--help"])
        #expect(r.status == 0)
        for flag in ["--config", "--template", "--router-id", "--hostname", "--templates", "--output", "--emit", "--check", "Examples:"] {
            #expect(r.stdout.contains(flag), "help lacks \(flag)")
        }
    }

    @Test func templatesCommandDumpsTheShippedTemplates() throws {
        let dir = try TempDir()
        let r = try Shell.run([vrfc, "templates", "--dump", dir.path])
        #expect(r.status == 0, "\(r)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(
            files == [
                "bgp.mustache", "neighbors.mustache", "neighbors_v4.mustache", "neighbors_v6.mustache",
                "prefix_lists.mustache", "route_maps.mustache", "vrfs.mustache",
            ])
        #expect(readText(dir.path + "/bgp.mustache") == readText(Repo.path("templates/bgp.mustache")))
    }
}
