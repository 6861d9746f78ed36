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
    /// (`ge` below the prefix length passes dryrun, not a running FRR).
    @Test func oracleDetectsWhatDryrunMisses() throws {
        let bad = NSTemporaryDirectory() + "vrfc-bad-\(UUID().uuidString).conf"
        try "ip prefix-list bad seq 5 permit 203.0.113.0/24 ge 8\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(try Shell.run(["vtysh", "--dryrun", "-f", bad]).status == 0)
        let frr = try FRRInstance(tag: "bad")
        defer { frr.stop() }
        #expect(!(try frr.load(bad)).clean)
    }

    /// A base config that `call`s vrfc's route-maps gets exactly the CRs'
    /// decisions, also for a direction without entries: FRR skips a `call`
    /// of an undefined map, so the calling entry would permit everything.
    /// Probes are `network` routes of the default instance, each through a
    /// route-map that calls one of vrfc's maps; FRR's BGP table is the verdict.
    @Test func calledRouteMapsDenyWhatTheCRsDoNotPermit() throws {
        let fixture = Fixture(name: "empty-lists")  // quiet: nothing; oneway: v4 only; mgmt_vrf (skip): nothing
        // (prefix, called map, permitted?)
        let probes: [(String, String, Bool)] = [
            ("203.0.113.0/25", "rm_quiet_import", false),  // empty direction
            ("203.0.113.128/25", "rm_mgmt_vrf_export", false),  // empty, and the base's own deny 65535
            ("198.51.100.0/25", "rm_mgmt_vrf_import", false),
            ("203.0.113.0/24", "rm_oneway_import", true),  // the CR's permit
            ("198.51.100.0/24", "rm_oneway_export", true),
            ("198.51.100.0/26", "rm_oneway_export", false),  // not in the CR's list
            ("2001:db8:1::/48", "rm6_oneway_import", false),  // v4-only CRs: empty v6 maps
            ("2001:db8:2::/48", "rm6_oneway_export", false),
            ("2001:db8:3::/48", "rm6_quiet_import", false),
            ("2001:db8:4::/48", "rm6_mgmt_vrf_export", false),
            ("2001:db8:ffff::/48", "", true),  // control: no call
        ]
        var base = try #require(readText(fixture.base))
        var networks4 = ""
        var networks6 = ""
        var maps = ""
        for (i, (prefix, map, _)) in probes.enumerated() {
            let line = "  network \(prefix) route-map probe_\(i)\n"
            if prefix.contains(":") { networks6 += line } else { networks4 += line }
            maps += "route-map probe_\(i) permit 10\n" + (map.isEmpty ? "" : " call \(map)\n") + "exit\n!\n"
        }
        for (hint, extra) in [
            (" #++{{.Neighbors}}\n", " no bgp network import-check\n"),
            ("  #++{{.NeighborsV4}}\n", networks4), ("  #++{{.NeighborsV6}}\n", networks6),
            // The README's pattern: the base defines the management map's last entry itself.
            ("#++{{.RouteMaps}}\n", maps + "route-map rm_mgmt_vrf_export deny 65535\nexit\n!\n"),
        ] {
            try #require(base.contains(hint))
            base = base.replacingOccurrences(of: hint, with: extra + hint)
        }
        let dir = try TempDir()
        let baseFile = try dir.write("frr.conf", base)
        let out = try dir.write("out.conf", try Compiler.frr(try fixture.ir(), base: Compiler.baseConfig(baseFile), templates: .shipped))

        let frr = try FRRInstance(tag: "call")
        defer { frr.stop() }
        let load = try frr.load(out)
        #expect(load.clean, "vtysh exit \(load.status); problems: \(load.problems)")
        let running = try frr.show("show running-config")
        #expect(
            running.components(separatedBy: "route-map rm_mgmt_vrf_export deny 65535\n").count == 2,
            "the base's entry and vrfc's identical one are one entry:\n\(running)")

        // bgpd applies route-map changes after its delay timer (5 s): wait
        // until both permitted controls are in, then read the verdicts.
        func table() throws -> Set<String> {
            let v4 = try frr.showJSON("show bgp ipv4 unicast json")["routes"] as? [String: Any] ?? [:]
            let v6 = try frr.showJSON("show bgp ipv6 unicast json")["routes"] as? [String: Any] ?? [:]
            return Set(v4.keys).union(v6.keys)
        }
        var routes = try table()
        for _ in 0..<60 where !routes.isSuperset(of: ["203.0.113.0/24", "2001:db8:ffff::/48"]) {
            usleep(500_000)
            routes = try table()
        }
        try #require(routes.isSuperset(of: ["203.0.113.0/24", "2001:db8:ffff::/48"]), "no verdict within 30 s: \(routes)")
        usleep(1_000_000)
        routes = try table()
        for (prefix, map, permitted) in probes {
            #expect(
                routes.contains(prefix) == permitted,
                "\(prefix) through `call \(map)`: expected \(permitted ? "permitted" : "denied"), FRR's table: \(routes.sorted())")
        }
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
        #expect(
            try Compiler.frr(try Compiler.ir(inputs), base: Compiler.baseConfig(base), templates: .shipped) == text,
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
