import Foundation
import Testing
import VRFCDriver
import VRFCFRR
import VRFCFrontend
import VRFCModel
import VRFCTestSupport

/// FRR is the oracle: golden files and generated configs must pass
/// `vtysh --dryrun`, load into running zebra+bgpd without a single error,
/// and FRR's own views must then hold exactly what the CRs asked for.
@Suite struct OracleTests {
    @Test(arguments: Fixture.all)
    func goldenPassesDryrun(_ fixture: Fixture) throws {
        let r = try Shell.run(["vtysh", "--dryrun", "-f", fixture.golden("conf")])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
    }

    @Test(arguments: Fixture.all)
    func goldenLoadsIntoRunningFRR(_ fixture: Fixture) throws {
        let frr = try FRRInstance(tag: fixture.name)
        defer { frr.stop() }
        let load = try frr.load(fixture.golden("conf"))
        #expect(load.clean, "vtysh exit \(load.status); problems: \(load.problems)")
        #expect(frr.logErrors().isEmpty, "daemon logs: \(frr.logErrors())")
        let problems = try OracleExpectations.verify(try fixture.ir(), in: frr)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The oracle itself must be able to fail: a config FRR refuses at load
    /// (SPEC: `ge` below the prefix length passes dryrun, not a running FRR).
    @Test func oracleDetectsWhatDryrunMisses() throws {
        let bad = NSTemporaryDirectory() + "vrfc-bad-\(UUID().uuidString).conf"
        try "ip prefix-list bad seq 5 permit 203.0.113.0/24 ge 8\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(try Shell.run(["vtysh", "--dryrun", "-f", bad]).status == 0)
        let frr = try FRRInstance(tag: "bad")
        defer { frr.stop() }
        #expect(!(try frr.load(bad)).clean)
    }

    /// Many random valid nodes: each compiles to identical bytes twice and
    /// loads into FRR cleanly with every entry present.
    @Test(arguments: 0..<12)
    func randomNodesLoadCleanly(_ n: Int) throws {
        let seed = 0x5EED_0000 + UInt64(n)
        var rng = SplitMix64(seed: seed)
        let node = RandomNode.generate(&rng)
        let dir = try TempDir()
        let config = try dir.write("config.yaml", node.configYAML())
        let crs = try dir.write("crs.\(node.fileExtension)", node.crsText())
        let base = try dir.write("frr.conf", node.baseConfig)
        let inputs = Compiler.Inputs(config: config, objects: [crs], options: Fixture.options)
        let ir = try Compiler.ir(inputs)
        let text = try Compiler.frr(ir, base: Compiler.baseConfig(base), templates: .shipped)
        #expect(try Compiler.frr(try Compiler.ir(inputs), base: Compiler.baseConfig(base), templates: .shipped) == text,
                "seed \(seed): not deterministic")
        let out = try dir.write("out.conf", text)

        let dry = try Shell.run(["vtysh", "--dryrun", "-f", out])
        #expect(dry.status == 0 && dry.stdout.isEmpty, "seed \(seed): \(dry)")
        let frr = try FRRInstance(tag: "rnd\(n)")
        defer { frr.stop() }
        let load = try frr.load(out)
        #expect(load.clean, "seed \(seed): \(load.problems)\n\(text)")
        let problems = try OracleExpectations.verify(ir, in: frr)
        #expect(problems.isEmpty, "seed \(seed): \(problems.joined(separator: "\n"))")
    }
}

