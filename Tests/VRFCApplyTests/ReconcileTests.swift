import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCBundle
import VRFCDriver
import VRFCFRR
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// `vrfc-apply apply --frr-config` against real zebra and bgpd (their own
/// namespace and pathspace) and real links (a namespace of their own).
/// This kernel has no VRF device, so these runs take a bundle compiled by
/// the real `vrfc compile --emit bundle` with the `vr.` links left out of
/// its op list (`withoutVRFDevices`); `childCompile...` runs the whole path
/// through the unprivileged compile on a node without links.
@Suite(.serialized) struct ReconcileTests {
    /// Every kind of change, one after the other, for both strategies.
    /// After each: FRR holds what the IR asks for (`OracleExpectations`,
    /// derived from the IR, not from the text), the links match the op list
    /// and are up, stale ones are gone; after each `delta`, FRR's running
    /// config equals that of a fresh FRR that loaded the new file whole.
    @Test(arguments: ["delta", "frr-reload"])
    func everyKindOfChangeConverges(strategy: String) throws {
        try ReconcileNode.with("chg") { node in
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24 le 32"], exports: ["198.51.100.0/24"], community: "65000:1"),
                "red-b": cr("red-b", "red", 20, imports: ["2001:db8:1::/48"], exports: ["2001:db8:2::/48"]),
                "blue-a": cr(
                    "blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: ["198.51.100.64/26"], aggregates: ["198.51.100.0/24"]),
                "green-a": cr("green-a", "green", 10, imports: ["203.0.113.64/26"], exports: []),
            ]
            var r = try node.apply(reload: strategy == "delta" ? nil : strategy)
            try node.expectConverged(r, strategy: "frr-reload", step: "first apply")

            let steps: [(String, (ReconcileNode) -> Void)] = [
                (
                    "prefix added",
                    {
                        $0.crs["red-a"] = cr(
                            "red-a", "red", 10, imports: ["203.0.113.0/24 le 32", "192.0.2.0/28"], exports: ["198.51.100.0/24"],
                            community: "65000:1")
                    }
                ),
                (
                    "prefix removed",
                    {
                        $0.crs["red-a"] = cr(
                            "red-a", "red", 10, imports: ["192.0.2.0/28"], exports: ["198.51.100.0/24"], community: "65000:1")
                    }
                ),
                (
                    "community changed",
                    {
                        $0.crs["red-a"] = cr(
                            "red-a", "red", 10, imports: ["192.0.2.0/28"], exports: ["198.51.100.0/24"], community: "65000:2")
                    }
                ),
                (
                    "aggregate changed",
                    {
                        $0.crs["blue-a"] = cr(
                            "blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: ["198.51.100.64/26"],
                            aggregates: ["198.51.100.0/25", "2001:db8:9::/48"])
                    }
                ),
                ("route target changed", { $0.routeTargets["red"] = "65000:999" }),
                (
                    "VRF added",
                    { $0.crs["yellow-a"] = cr("yellow-a", "yellow", 10, imports: ["2001:db8:ee::/48"], exports: ["2001:db8:ff::/48"]) }
                ),
                ("CR removed", { $0.crs["red-b"] = nil }),
                ("VRF removed", { $0.crs["green-a"] = nil }),
            ]
            for (name, change) in steps {
                change(node)
                r = try node.apply(reload: strategy == "delta" ? nil : strategy)
                try node.expectConverged(r, strategy: strategy, step: name)
                if strategy == "delta" && name == "VRF removed" {
                    // Verified thing by thing; no kernel VRF device here, so
                    // `no vrf` goes in the delta's own commit.
                    #expect(
                        r.stdout.contains("what the delta removes, asked of each daemon")
                            && r.stdout.contains("in the delta's commit") && !r.stdout.contains("checking the whole running config"),
                        "\(name): \(r.stdout)")
                }
                if strategy == "delta" && ["prefix added", "community changed"].contains(name) {
                    // Prefix-lists and route-maps only: loaded per daemon, verified one by one.
                    #expect(
                        r.stdout.contains("shown one by one") && !r.stdout.contains("checking the whole running config"),
                        "\(name): \(r.stdout)")
                }
            }

            // No-op: nothing written, nothing reloaded.
            let before = try FileManager.default.attributesOfItem(atPath: node.conf)[.modificationDate] as? Date
            r = try node.apply(reload: strategy == "delta" ? nil : strategy)
            #expect(r.status == 0 && r.stdout.contains("frr.conf: unchanged; FRR runs it; not reloaded"), "no-op: \(r)")
            #expect(!r.stdout.contains("reload:"), "no-op must not reload: \(r)")
            let after = try FileManager.default.attributesOfItem(atPath: node.conf)[.modificationDate] as? Date
            #expect(before == after, "no-op rewrote frr.conf")
        }
    }

    /// A config that passes `vtysh --dryrun` but that FRR refuses at load
    /// (a prefix-list `ge` below the prefix length, through a template
    /// override): rolled back, the old config still running, the links as
    /// they were, exit 1 with the reason.
    @Test(arguments: ["delta", "frr-reload"])
    func aConfigFRRRejectsIsRolledBack(strategy: String) throws {
        try ReconcileNode.with("rej") { node in
            node.crs = ["red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"])]
            try node.expectConverged(
                try node.apply(reload: strategy == "delta" ? nil : strategy), strategy: "frr-reload", step: "first apply")
            let goodIR = try node.ir()
            let goodOps = try node.expectedOps()
            let goodConf = try String(contentsOfFile: node.conf, encoding: .utf8)

            let badDir = node.dir + "/bad-templates"
            try FileManager.default.createDirectory(atPath: badDir, withIntermediateDirectories: true)
            try """
            {{#prefixLists}}
            {{#items}}
            {{family}} prefix-list {{list}} seq {{seq}} {{action}} {{prefix}} ge 1
            {{/items}}
            {{/prefixLists}}

            """.write(toFile: badDir + "/prefix_lists.mustache", atomically: true, encoding: .utf8)
            node.crs["blue-a"] = cr("blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: ["198.51.100.64/26"])
            let r = try node.apply(reload: strategy == "delta" ? nil : strategy, templates: badDir)
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("rolled back"), "\(r)")
            #expect(try String(contentsOfFile: node.conf, encoding: .utf8) == goodConf, "frr.conf is not the last good one")
            #expect(try OracleExpectations.verify(goodIR, in: node.frr) == [], "the old config is not running")
            #expect(try node.linkProblems(goodOps) == [], "links do not match the config FRR runs")
            // And the node recovers with good input.
            node.crs["blue-a"] = nil
            try node.expectConverged(
                try node.apply(reload: strategy == "delta" ? nil : strategy), strategy: "any", step: "after the rollback", checkLogs: false)
        }
    }

    /// A policy-only delta goes to each daemon side by side (one `vtysh -d
    /// DAEMON -f` each). A line FRR refuses at its commit (passes `vtysh
    /// --dryrun`; here a prefix-list `ge` below the prefix length, which
    /// the test's templates give every item with `le`), amid lines FRR
    /// takes (a community changed): the daemons refuse the whole commit, the
    /// delta fails on their answer, the full reload of the new file fails
    /// too, and the rollback leaves FRR running exactly
    /// what a full load of the last good file gives, frr.conf that file,
    /// exit 1.
    @Test func aPolicyDeltaTheDaemonsRefuseIsRolledBack() throws {
        try ReconcileNode.with("pdr") { node in
            let templates = node.dir + "/le-templates"
            try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
            try """
            {{#prefixLists}}
            {{#items}}
            {{family}} prefix-list {{list}} seq {{seq}} {{action}} {{prefix}}{{#ge}} ge {{.}}{{/ge}}{{#le}} ge 1 le {{.}}{{/le}}
            {{/items}}
            {{/prefixLists}}

            """.write(toFile: templates + "/prefix_lists.mustache", atomically: true, encoding: .utf8)
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"], community: "65000:1")
            ]
            try node.expectConverged(try node.apply(reload: nil, templates: templates), strategy: "frr-reload", step: "first apply")
            let goodIR = try node.ir()
            let goodConf = try String(contentsOfFile: node.conf, encoding: .utf8)
            node.crs["red-a"] = cr(
                "red-a", "red", 10, imports: ["203.0.113.0/24", "192.0.2.0/28 le 32"], exports: ["198.51.100.0/24"],
                community: "65000:2")
            let r = try node.apply(reload: nil, templates: templates)
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.contains("reload: delta ("), "the change must go as a delta first: \(r)")
            // vtysh exits 0 when a daemon refuses the commit; its "%
            // Configuration failed." (with the daemon named) fails the delta.
            #expect(
                r.stdout.contains("delta failed (vtysh -f") && r.stdout.contains("vtysh -d ")
                    && r.stdout.contains("% Configuration failed") && r.stdout.contains("Invalid prefix range"), "\(r)")
            #expect(r.stderr.contains("rolled back"), "\(r)")
            #expect(try String(contentsOfFile: node.conf, encoding: .utf8) == goodConf, "frr.conf is not the last good one")
            #expect(try OracleExpectations.verify(goodIR, in: node.frr) == [], "the old config is not running")
            try node.expectSameAsFullLoad(step: "after the rollback")
            #expect(try node.perDaemonCopies() == [], "the per-daemon copies of the delta were left behind")
        }
    }

    /// One daemon slow: zebra is stopped (SIGSTOP) as the delta's
    /// per-daemon loads start and resumed 2 s later. bgpd commits
    /// meanwhile; the reconcile waits for zebra, verifies, and FRR runs
    /// what a full load of the new file gives.
    @Test func aPolicyDeltaWaitsForASlowDaemon() throws {
        try ReconcileNode.with("slow") { node in
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"], community: "65000:1")
            ]
            try node.expectConverged(try node.apply(reload: nil), strategy: "frr-reload", step: "first apply")
            let zebra = try #require(node.frr.pid(of: "zebra"), "no zebra pid")
            node.crs["red-a"] = cr(
                "red-a", "red", 10, imports: ["203.0.113.0/24", "192.0.2.0/28"], exports: ["198.51.100.0/24"], community: "65000:2")
            let copy = node.state + "/frr.delta.zebra"
            final class Flag: @unchecked Sendable {
                let lock = NSLock()
                var done = false
                var stopped = false
            }
            let flag = Flag()
            let watcher = Thread {
                // Polls for zebra's copy of the delta: it exists from just
                // before zebra's vtysh starts until the loads are done.
                while !flag.lock.withLock({ flag.done }) {
                    if access(copy, F_OK) == 0 {
                        kill(zebra, SIGSTOP)
                        flag.lock.withLock { flag.stopped = true }
                        usleep(2_000_000)
                        kill(zebra, SIGCONT)
                        return
                    }
                    usleep(200)
                }
            }
            watcher.start()
            let r: CommandResult
            do {
                defer { flag.lock.withLock { flag.done = true } }
                r = try node.apply(reload: nil)
            }
            while !watcher.isFinished { usleep(10_000) }
            kill(zebra, SIGCONT)
            #expect(flag.lock.withLock { flag.stopped }, "zebra was not stopped during the per-daemon load (no \(copy) seen)")
            try node.expectConverged(r, strategy: "delta", step: "zebra slow")
            #expect(r.stdout.contains("shown one by one"), "\(r)")
            #expect(try node.perDaemonCopies() == [], "the per-daemon copies of the delta were left behind")
        }
    }

    @Test func frrNotRunningChangesNothing() throws {
        try ReconcileNode.with("stop") { node in
            node.crs = ["red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"])]
            try node.expectConverged(try node.apply(reload: nil), strategy: "frr-reload", step: "first apply")
            let conf = try String(contentsOfFile: node.conf, encoding: .utf8)
            let links = identities(try node.ns.links())
            node.frr.killDaemons()
            node.crs["blue-a"] = cr("blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: [])
            let r = try node.apply(reload: nil)
            #expect(r.status == 1 && r.stderr.contains("FRR does not answer") && r.stderr.contains("nothing was changed"), "\(r)")
            #expect(try String(contentsOfFile: node.conf, encoding: .utf8) == conf)
            #expect(identities(try node.ns.links()) == links, "links changed although FRR is down")
        }
    }

    /// A VRF removed and added again, over and over, by delta: zebra stays
    /// up, the VRF's VNI is gone after each removal and back after each
    /// re-add. (zebra 8.4 died in this cycle when it ran without EVPN; with
    /// the fixtures' base, EVPN on, it must survive every cycle. No VRF
    /// devices on this kernel: the VRFs stay inactive, as in the benchmark
    /// that reproduced the crash.)
    @Test func aVRFRemovedAndAddedAgainManyTimes() throws {
        try ReconcileNode.with("cyc") { node in
            let green = cr("green-a", "green", 10, imports: ["203.0.113.64/26"], exports: ["198.51.100.64/26"])
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/26"], exports: ["198.51.100.0/26"]),
                "blue-a": cr("blue-a", "blue", 10, imports: ["203.0.113.128/26"], exports: []),
                "green-a": green,
            ]
            try node.expectConverged(try node.apply(reload: nil), strategy: "frr-reload", step: "first apply")
            let zebra = try #require(node.frr.pid(of: "zebra"))
            let vni = try #require(node.vni(of: "green"))
            for cycle in 1...Self.vrfCycles {
                node.crs["green-a"] = nil
                let gone = try node.apply(reload: "delta")
                #expect(
                    gone.status == 0 && gone.stdout.contains("in the delta's commit") && !gone.stdout.contains("falling back"),
                    "cycle \(cycle), removed: \(gone)")
                // FRR 8.4: the removed neighbor's peer hash entries are purged first.
                #expect(gone.stdout.contains("their addresses forgotten"), "cycle \(cycle), no peer hash purge: \(gone.stdout)")
                try #require(kill(zebra, 0) == 0, "zebra died removing the VRF in cycle \(cycle): \(node.frr.logs().suffix(3000))")
                #expect(try node.vnis()["vr.green"] == nil, "cycle \(cycle): zebra still maps a VNI to vr.green")
                node.crs["green-a"] = green
                let back = try node.apply(reload: "delta")
                #expect(
                    back.status == 0 && back.stdout.contains("reload: delta") && !back.stdout.contains("falling back"),
                    "cycle \(cycle), added: \(back)")
                try #require(kill(zebra, 0) == 0, "zebra died adding the VRF again in cycle \(cycle): \(node.frr.logs().suffix(3000))")
                let mapped = try node.vnis()
                try #require(mapped["vr.green"] == vni, "cycle \(cycle): vr.green's VNI is not back: \(mapped)")
            }
            try node.expectConverged(try node.apply(reload: nil), strategy: "any", step: "after the cycles")
        }
    }
    static let vrfCycles = 20

    /// zebra without EVPN (no advertise-all-vni in the base): a reconcile
    /// that would remove a VRF, and with it its VNI, is refused before
    /// anything changes (the sequence that crashed zebra), with the reason.
    @Test(arguments: ["delta", "frr-reload"])
    func removingAVRFWithoutEVPNIsRefused(strategy: String) throws {
        let fixture = try String(contentsOfFile: Fixture(name: "route-targets").base, encoding: .utf8)
        let lines = fixture.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.contains("  advertise-all-vni"), "the fixture's base turns EVPN on")
        let dir = NSTemporaryDirectory() + "vrfc-noevpn-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = dir + "/frr.conf"
        try lines.filter { $0 != "  advertise-all-vni" }.joined(separator: "\n").write(toFile: base, atomically: true, encoding: .utf8)
        chmod(dir, 0o755)
        chmod(base, 0o644)
        try ReconcileNode.with("noevpn", base: base) { node in
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/26"], exports: ["198.51.100.0/26"]),
                "green-a": cr("green-a", "green", 10, imports: ["203.0.113.64/26"], exports: []),
            ]
            try node.expectConverged(try node.apply(reload: nil), strategy: "frr-reload", step: "first apply")
            #expect(try node.frr.show("show evpn json", daemon: "zebra").trimmingCharacters(in: .whitespacesAndNewlines).count <= 2)
            let conf = try String(contentsOfFile: node.conf, encoding: .utf8)
            let links = identities(try node.ns.links())
            let vnis = try node.vnis()
            #expect(vnis["vr.green"] != nil, "\(vnis)")
            node.crs["green-a"] = nil
            let r = try node.apply(reload: strategy)
            #expect(
                r.status == 1 && r.stderr.contains("removing vr.green: zebra runs without EVPN") && r.stderr.contains("advertise-all-vni")
                    && r.stderr.contains("nothing was changed"), "\(r)")
            #expect(try String(contentsOfFile: node.conf, encoding: .utf8) == conf, "frr.conf changed")
            #expect(identities(try node.ns.links()) == links, "links changed")
            #expect(try node.vnis() == vnis, "FRR changed")
            #expect(node.frr.pid(of: "zebra").map { kill($0, 0) == 0 } == true, "zebra is gone")
        }
    }

    /// kill -9 after frr.conf was written, while FRR is being reloaded;
    /// the rerun does not trust a delta (the file is not what vrfc last
    /// verified), reloads the whole file and converges.
    @Test func killedBetweenWriteAndReloadTheRerunConverges() throws {
        try ReconcileNode.with("kill") { node in
            node.crs = ["red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"])]
            try node.expectConverged(try node.apply(reload: nil), strategy: "frr-reload", step: "first apply")
            let old = try String(contentsOfFile: node.conf, encoding: .utf8)
            node.crs["blue-a"] = cr("blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: ["198.51.100.64/26"])
            let args = try node.applyArguments(reload: "frr-reload", withNetns: true)
            let killed = try killWhen(args) { (try? String(contentsOfFile: node.conf, encoding: .utf8)).map { $0 != old } ?? false }
            #expect(killed, "vrfc-apply finished before frr.conf changed on disk")
            let r = try node.apply(reload: nil)
            #expect(r.stdout.contains("not the config vrfc last verified"), "the rerun must not trust a delta: \(r)")
            try node.expectConverged(r, strategy: "frr-reload", step: "rerun after kill -9")
        }
    }

    /// `--reload systemd` against a real dbus-daemon (a system-type bus of
    /// the test's own) and a stand-in for systemd's manager
    /// (Tests/systemd-standin/standin.c, sd-bus), whose frr.service reload
    /// runs frr-reload.py as the real unit's ExecReload does. A reload job
    /// that ends "failed" is a failed reload: rolled back.
    @Test func systemdReloadWaitsForTheJobAndFailsOnItsResult() throws {
        try ReconcileNode.with("sysd") { node in
            let failOnce = node.dir + "/fail-next-reload"
            let bus = try SystemBusStandIn(
                dir: node.dir, unit: "frr.service",
                command: [
                    "/bin/sh", "-c",
                    "if [ -e \(failOnce) ]; then rm \(failOnce); exit 1; fi; exec /usr/bin/python3 /usr/lib/frr/frr-reload.py --reload --stdout --pathspace \(node.frr.name) \(node.conf)",
                ])
            defer { bus.stop() }
            let env = ["DBUS_SYSTEM_BUS_ADDRESS": bus.address]
            node.crs = ["red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"])]
            try node.expectConverged(try node.apply(reload: "systemd", environment: env), strategy: "systemd", step: "first apply")
            node.crs["blue-a"] = cr("blue-a", "blue", 10, imports: ["203.0.113.128/25"], exports: ["198.51.100.64/26"])
            try node.expectConverged(try node.apply(reload: "systemd", environment: env), strategy: "systemd", step: "VRF added")
            #expect(bus.jobs() == 2, "two reload jobs")

            let goodIR = try node.ir()
            let goodConf = try String(contentsOfFile: node.conf, encoding: .utf8)
            try "".write(toFile: failOnce, atomically: true, encoding: .utf8)
            node.crs["green-a"] = cr("green-a", "green", 10, imports: ["203.0.113.64/26"], exports: [])
            let r = try node.apply(reload: "systemd", environment: env)
            #expect(r.status == 1 && r.stderr.contains("ended 'failed'") && r.stderr.contains("rolled back"), "\(r)")
            node.crs["green-a"] = nil
            #expect(try String(contentsOfFile: node.conf, encoding: .utf8) == goodConf)
            #expect(try OracleExpectations.verify(goodIR, in: node.frr) == [])
            #expect(try node.linkProblems(try node.expectedOps()) == [])

            // A unit systemd does not know is an error, not a success.
            let missing = try SystemBusStandIn(dir: node.dir + "/other", unit: "other.service", command: ["/bin/true"])
            defer { missing.stop() }
            node.crs["green-a"] = cr("green-a", "green", 10, imports: ["203.0.113.64/26"], exports: [])
            let m = try node.apply(reload: "systemd", environment: ["DBUS_SYSTEM_BUS_ADDRESS": missing.address])
            #expect(m.status == 1 && m.stderr.contains("NoSuchUnit"), "\(m)")
        }
    }

    /// The whole path through the unprivileged compile: a node with only
    /// policy VRFs (no links), its hinted frr.conf used in place on the
    /// first run and kept as the base afterwards, then a delta.
    @Test func childCompileUsesTheHintedFileOnceAndKeepsItAsBase() throws {
        try ReconcileNode.with("child", policyOnly: true) { node in
            let hinted = try String(contentsOfFile: node.conf, encoding: .utf8)
            node.crs = ["mgmt-a": cr("mgmt-a", "mgmt_vrf", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"])]
            var r = try node.applyThroughChild()
            #expect(r.status == 0 && r.stdout.contains("reload: frr-reload"), "\(r)")
            #expect(try OracleExpectations.verify(try node.ir(), in: node.frr) == [])
            #expect(try String(contentsOfFile: node.state + "/base.conf", encoding: .utf8) == hinted, "the hinted file is kept as the base")
            #expect(!(try String(contentsOfFile: node.conf, encoding: .utf8)).contains("#++{{."), "frr.conf is vrfc's output now")

            node.crs["mgmt-a"] = cr(
                "mgmt-a", "mgmt_vrf", 10, imports: ["203.0.113.0/24", "192.0.2.0/28"], exports: ["198.51.100.0/24"], community: "65000:7")
            r = try node.applyThroughChild()
            #expect(r.status == 0 && r.stdout.contains("reload: delta") && !r.stdout.contains("falling back"), "\(r)")
            #expect(try OracleExpectations.verify(try node.ir(), in: node.frr) == [])
            try node.expectSameAsFullLoad(step: "child delta")
        }
    }

    /// The compile runs as nobody: CRs only root can read are out of its reach.
    @Test func theCompileRunsWithoutPrivileges() throws {
        try ReconcileNode.with("priv", policyOnly: true) { node in
            node.crs = ["mgmt-a": cr("mgmt-a", "mgmt_vrf", 10, imports: ["203.0.113.0/24"], exports: [])]
            try node.writeInputs()
            chmod(node.crDir, 0o700)
            let r = try node.applyThroughChild(writing: false)
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("cannot list the directory") && r.stderr.contains("did not compile"), "\(r)")
            #expect(!FileManager.default.fileExists(atPath: node.state + "/frr.conf.good"))
        }
    }

    /// vrfc-apply links no YAML reader and no template engine; vrfc does
    /// (the same check finds them there, so it can see them).
    @Test func theApplierLinksNoYAMLAndNoTemplates() throws {
        let forbidden = ["4Yams", "yaml_parser_", "12VRFCFrontend", "7VRFCFRR", "11TemplateSet", "14FastYAMLParser", "8VRFCYAML"]
        func hits(_ binary: String) throws -> [String] {
            let symbols = try Shell.check(["nm", binary]).stdout
            return forbidden.filter { symbols.contains($0) }
        }
        #expect(try hits(try applierPath()) == [], "vrfc-apply must not link these")
        #expect(try hits(Repo.executable("vrfc")).count == forbidden.count, "vrfc should link all of them (the check must see them)")
    }

    /// For every fixture: no delta from a node to itself, and every line of
    /// the deltas to a node without its last VRF, without one CR's export
    /// entry, and back, passes the privileged side's line check.
    @Test func deltasOfEveryFixturePassTheLineCheck() throws {
        for fixture in Fixture.all {
            let ir = try fixture.ir()
            let base = try Compiler.baseConfig(fixture.base)
            var fewer = ir
            fewer.vrfs.removeLast()
            var lessPolicy = ir
            if let i = lessPolicy.vrfs.firstIndex(where: { !$0.exports.isEmpty }) { lessPolicy.vrfs[i].exports.removeFirst() }
            #expect(try FRRDeltaRenderer.delta(from: ir, to: ir, base: base).isEmpty, "\(fixture)")
            for (a, b) in [(ir, fewer), (fewer, ir), (ir, lessPolicy), (lessPolicy, ir)] {
                let d = try FRRDeltaRenderer.delta(from: a, to: b, base: base)
                let old = try Compiler.frr(a, base: base, templates: .shipped)
                let new = try Compiler.frr(b, base: base, templates: .shipped)
                #expect(d.isEmpty == (old == new), "\(fixture): a delta exactly when frr.conf changes")
                #expect(d.basisDigest == Digest.fnv1a64(old), "\(fixture): the basis is the old file")
                #expect(FRRCheck.delta(d.script, newConfig: new, running: old) == [], "\(fixture)\n\(d.script)")
                // Dry-running the delta then checks every line of the new file.
                #expect(
                    FRRCheck.uncovered(newConfig: FRRConfigTree(new), running: FRRConfigTree(old), script: d.script) == [],
                    "\(fixture)\n\(d.script)")
                // No `exit` out of a route-map entry: each would commit a transaction.
                var inRouteMap = false
                for line in d.script.split(separator: "\n") {
                    if !line.hasPrefix(" ") && line != "exit" && line != "exit-vrf" { inRouteMap = line.hasPrefix("route-map ") }
                    #expect(!(inRouteMap && line == "exit"), "\(fixture): exit after a route-map entry\n\(d.script)")
                }
            }
        }
    }

    @Test func aTamperedDeltaIsRefused() {
        let running =
            "route-map rm_a_export permit 11\n match ip address prefix-list pl_a_10_export\nip prefix-list pl_a_10_export seq 1 permit 198.51.100.0/24\n"
        let new =
            "route-map rm_a_export permit 11\n match ip address prefix-list pl_a_10_export\nip prefix-list pl_a_10_export seq 1 permit 198.51.100.0/25\n"
        let honest =
            "no ip prefix-list pl_a_10_export seq 1 permit 198.51.100.0/24\nip prefix-list pl_a_10_export seq 1 permit 198.51.100.0/25\n"
        #expect(FRRCheck.delta(honest, newConfig: new, running: running) == [])
        #expect(
            FRRCheck.delta(
                "route-map rm_a_export permit 11\n no match ip address prefix-list pl_a_10_export\n", newConfig: new, running: running)
                == [],
            "entering a block FRR runs to take something out")
        for bad in [
            "no router bgp 64510\n", "route-map rm_a_export permit 12\n", "interface eth0\n shutdown\n",
            "ip prefix-list x seq 1 permit 0.0.0.0/0\n", "no no ip prefix-list pl_a_10_export seq 1 permit 198.51.100.0/24\n",
        ] {
            #expect(!FRRCheck.delta(bad, newConfig: new, running: running).isEmpty, "accepted: \(bad)")
        }
    }
}

// MARK: - Scenario support

func cr(
    _ name: String, _ vrf: String, _ seq: Int, imports: [String], exports: [String],
    aggregates: [String] = [], community: String? = nil
) -> String {
    func items(_ list: [String]) -> String {
        list.isEmpty
            ? " []\n"
            : "\n"
                + list.map { item -> String in
                    let parts = item.split(separator: " ")
                    var s = "  - cidr: \(parts[0])\n    action: permit\n"
                    if parts.count == 3 { s += "    \(parts[1]): \(parts[2])\n" }
                    return s
                }.joined()
    }
    var y = """
        apiVersion: network.schiff.telekom.de/v1alpha1
        kind: VRFRouteConfiguration
        metadata:
          name: \(name)
        spec:
          vrf: \(vrf)
          seq: \(seq)

        """
    y += "  import:" + items(imports) + "  export:" + items(exports)
    if !aggregates.isEmpty { y += "  aggregate: [\(aggregates.joined(separator: ", "))]\n" }
    if let community { y += "  community: \"\(community)\"\n" }
    return y
}

/// One node: links in `ns`, FRR in `frr`, its frr.conf, state directory,
/// node config and CRs in a directory of their own.
final class ReconcileNode: @unchecked Sendable {
    let ns: Namespace
    let frr: FRRInstance
    let dir: String
    let policyOnly: Bool
    var crs: [String: String] = [:]
    var routeTargets = ["red": "65000:310", "blue": "192.0.2.1:301", "green": "65000:399", "yellow": "65000:400"]

    var conf: String { dir + "/frr.conf" }
    var state: String { dir + "/state" }
    var crDir: String { dir + "/crs" }
    var config: String { dir + "/config.yaml" }
    let base: String

    static func with(
        _ tag: String, policyOnly: Bool = false, base: String? = nil, _ body: (ReconcileNode) throws -> Void
    ) throws {
        try Namespace.with(tag) { ns in
            let frr = try FRRInstance(tag: tag)
            defer { frr.stop() }
            let node = try ReconcileNode(ns: ns, frr: frr, policyOnly: policyOnly, base: base ?? Fixture(name: "route-targets").base)
            defer { try? FileManager.default.removeItem(atPath: node.dir) }
            try body(node)
        }
    }

    init(ns: Namespace, frr: FRRInstance, policyOnly: Bool, base: String) throws {
        self.ns = ns
        self.frr = frr
        self.policyOnly = policyOnly
        self.base = base
        dir = NSTemporaryDirectory() + "vrfc-rec-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        try ns.addUnderlay()
        // The node boots FRR with its hinted base config (hints are comments);
        // hostname and router-id placeholders filled as the node's provisioning would.
        let hinted = try String(contentsOfFile: base, encoding: .utf8)
            .replacingOccurrences(of: "{{.Hostname}}", with: "node-a")
            .replacingOccurrences(of: "{{.UnderlayRouterID}}", with: "192.0.2.129")
        try hinted.write(toFile: conf, atomically: true, encoding: .utf8)
    }

    func writeInputs() throws {
        try? FileManager.default.removeItem(atPath: crDir)
        try FileManager.default.createDirectory(atPath: crDir, withIntermediateDirectories: true)
        for (name, text) in crs { try text.write(toFile: "\(crDir)/\(name).yaml", atomically: true, encoding: .utf8) }
        var c = "serverASN: 64510\n"
        if policyOnly {
            c += "skipVRFConfig: [mgmt_vrf]\n"
        } else {
            c +=
                "vrfConfig:\n"
                + routeTargets.sorted { $0.key < $1.key }.enumerated().map { i, kv in
                    "  \(kv.key): {vni: \(300 + i), rt: \"\(kv.value)\"}\n"
                }.joined()
        }
        try c.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func ir() throws -> NodeIR {
        try writeInputs()
        return try Compiler.ir(.init(config: config, objects: [crDir], options: Fixture.options))
    }

    func expectedOps() throws -> OpList { KernelBackend.ops(try ir()).withoutVRFDevices }

    /// zebra's VRF → L3 VNI map (`show vrf vni json`).
    func vnis() throws -> [String: Int] {
        let vrfs = try frr.showJSON("show vrf vni json", daemon: "zebra")["vrfs"] as? [[String: Any]] ?? []
        var map: [String: Int] = [:]
        for v in vrfs { if let name = v["vrf"] as? String, let vni = v["vni"] as? Int { map[name] = vni } }
        return map
    }

    /// The VNI the node config gives a VRF (bare name).
    func vni(of vrf: String) -> Int? {
        let names = routeTargets.keys.sorted()
        return names.firstIndex(of: vrf).map { 300 + $0 }
    }

    /// The bundle as `vrfc compile --emit bundle` prints it (with the IR FRR
    /// runs, when there is one), minus the VRF devices this kernel lacks.
    func bundle(templates: String? = nil) throws -> String {
        try writeInputs()
        var args = [
            Repo.executable("vrfc"), "compile", "--emit", "bundle", "--config", config, "--template", base,
            "--hostname", "node-a", "--router-id", "192.0.2.129",
        ]
        let kept = state + "/frr.conf.good.ir.json"
        if FileManager.default.fileExists(atPath: kept) { args += ["--running-ir", kept] }
        if let templates { args += ["--templates", templates] }
        let out = try Shell.check(args + [crDir]).stdout
        var b = try JSONDecoder().decode(CompileBundle.self, from: Data(out.utf8))
        b.ops = b.ops.withoutVRFDevices
        return try ns.file("bundle-\(UUID().uuidString.prefix(4)).json", JSONOutput.encode(b))
    }

    func applyArguments(reload: String?, templates: String? = nil, withNetns: Bool = false) throws -> [String] {
        var args = [
            "apply", "--bundle", try bundle(templates: templates), "--frr-config", conf, "--state-dir", state,
            "--frr-pathspace", frr.name,
        ]
        if withNetns { args += ["--netns", ns.name, "--bpf-pin-dir", ns.pinDirectory] }
        if let reload { args += ["--reload", reload] }
        return args
    }

    func apply(reload: String?, templates: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        if environment.isEmpty { return try ns.applier(try applyArguments(reload: reload, templates: templates)) }
        let args = [try applierPath()] + (try applyArguments(reload: reload, templates: templates, withNetns: true))
        return try Shell.run(args, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    /// The per-daemon copies of a delta left in the state directory.
    func perDaemonCopies() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.hasPrefix("frr.delta.") && $0 != "frr.delta.candidate" }
    }

    func applyThroughChild(writing: Bool = true) throws -> CommandResult {
        if writing { try writeInputs() }
        return try ns.applier([
            "apply", "--config", config, "--frr-config", conf, "--state-dir", state,
            "--frr-pathspace", frr.name, "--hostname", "node-a", "--router-id", "192.0.2.129", crDir,
        ])
    }

    /// Links vs the op list: every wanted link as wanted and up, and no
    /// other link of vrfc's left.
    func linkProblems(_ ops: OpList) throws -> [String] {
        let links = try ns.links()
        var problems = checkNetlinkLinks(ops, links)
        let wanted = Set(ops.links.map(\.name.value))
        for l in links where Ownership.hasOwnedPrefix(l.name) && !wanted.contains(l.name) {
            problems.append("\(l.name) is still there")
        }
        return problems
    }

    func expectConverged(_ r: CommandResult, strategy: String, step: String, checkLogs: Bool = true) throws {
        #expect(r.status == 0, "\(step): \(r)")
        if strategy != "any" {
            #expect(r.stdout.contains("reload: \(strategy) ("), "\(step): expected reload \(strategy): \(r.stdout)")
            #expect(r.stdout.contains("verified: FRR runs the new config"), "\(step): \(r.stdout)")
            #expect(!r.stdout.contains("falling back"), "\(step): the reload fell back: \(r.stdout)")
        } else {
            #expect(
                r.stdout.contains("verified: FRR runs the new config") || r.stdout.contains("frr.conf: unchanged; FRR runs it"),
                "\(step): \(r.stdout)")
        }
        #expect(try OracleExpectations.verify(try ir(), in: frr) == [], "\(step)")
        #expect(try linkProblems(try expectedOps()) == [], "\(step)")
        if checkLogs {
            // This kernel has no VRF device, so bgpd's VRF instances have no
            // VRF id and bgpd cannot match a removed L3VNI to its instance
            // (it logs so even when the VNI goes while the instance exists).
            let tolerated = { (line: String) in
                line.contains("does not exist") || line.contains("Cannot process L3VNI")
            }
            #expect(frr.logErrors().filter { !tolerated($0) } == [], "\(step): FRR logged errors")
        }
        if strategy == "delta" { try expectSameAsFullLoad(step: step) }
    }

    /// FRR after the delta runs what a fresh FRR runs after loading the new
    /// file whole (compared as sets of commands in their blocks: FRR prints
    /// some lists in creation order).
    func expectSameAsFullLoad(step: String) throws {
        let reference = try FRRInstance(tag: "ref")
        defer { reference.stop() }
        let load = try reference.load(conf)
        #expect(load.clean, "\(step): the reference FRR did not load frr.conf cleanly: \(load.problems)")
        let mine = FRRConfigTree(try frr.show("show running-config")).keys
        let theirs = FRRConfigTree(try reference.show("show running-config")).keys
        // Not config: the hostname, and zebra's echo of the kernel's forwarding
        // switches (frr-reload.py turns them on, as the file does not say "no").
        let notConfig = { (k: FRRConfigTree.Key) in
            k.text.hasPrefix("hostname ") || k.text.hasSuffix("ip forwarding") || k.text.hasSuffix("ipv6 forwarding")
        }
        let onlyMine = mine.subtracting(theirs).filter { !notConfig($0) }
        let onlyTheirs = theirs.subtracting(mine).filter { !notConfig($0) }
        #expect(
            onlyMine.isEmpty && onlyTheirs.isEmpty,
            "\(step): after the delta FRR runs \(onlyMine.map { ($0.path + [$0.text]).joined(separator: " > ") }) more and \(onlyTheirs.map { ($0.path + [$0.text]).joined(separator: " > ") }) less than a full load"
        )
    }
}

/// A real dbus-daemon with a system-type bus of its own, and the systemd
/// stand-in (Tests/systemd-standin/standin.c, compiled here with cc and
/// libsystemd) owning org.freedesktop.systemd1 on it.
final class SystemBusStandIn: @unchecked Sendable {
    let dir: String
    let address: String
    private var daemonPID: pid_t = 0
    private var standinPID: pid_t = 0

    init(dir: String, unit: String, command: [String]) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try Shell.which("dbus-daemon")
        let socket = dir + "/system_bus_socket"
        address = "unix:path=" + socket
        try """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>\(address)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_type="method_call"/>
            <allow receive_type="method_call"/>
            <allow send_type="method_return"/>
            <allow send_type="error"/>
            <allow send_type="signal"/>
            <allow receive_type="method_return"/>
            <allow receive_type="error"/>
            <allow receive_type="signal"/>
          </policy>
        </busconfig>

        """.write(toFile: dir + "/bus.conf", atomically: true, encoding: .utf8)
        let d = try Shell.check(["dbus-daemon", "--config-file=\(dir)/bus.conf", "--fork", "--print-pid"])
        guard let pid = pid_t(d.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SetupError("dbus-daemon printed no pid: \(d)")
        }
        daemonPID = pid
        let binary = dir + "/standin"
        do {
            try Shell.check(["cc", "-o", binary, Repo.path("Tests/systemd-standin/standin.c"), "-lsystemd"])
            standinPID = try spawnBackground([binary, address, unit] + command, output: dir + "/standin.out")
            for _ in 0..<100 where !(readText(dir + "/standin.out") ?? "").contains("ready") { usleep(50_000) }
            guard (readText(dir + "/standin.out") ?? "").contains("ready") else {
                throw SetupError("the systemd stand-in did not come up: \(readText(dir + "/standin.out") ?? "")")
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Reload jobs the stand-in has finished.
    func jobs() -> Int { (readText(dir + "/standin.out") ?? "").components(separatedBy: "job ").count - 1 }

    /// SIGKILL: the test process may hold SIGTERM blocked, and its children
    /// inherit that mask. The stand-in is our child (reaped); the daemon
    /// forked away from us.
    func stop() {
        for pid in [standinPID, daemonPID] where pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        standinPID = 0
        daemonPID = 0
    }
}

/// Starts a program in the background with stdout and stderr to a file.
func spawnBackground(_ args: [String], output: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let cArgs = args.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, args[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw SetupError("cannot start \(args[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// Starts vrfc-apply in a process group of its own and kills the whole
/// group with SIGKILL as soon as `condition` holds. True if it was killed
/// (rather than finishing first).
func killWhen(_ args: [String], _ condition: () throws -> Bool) throws -> Bool {
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attr, 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let full = [try applierPath()] + args
    let cArgs = full.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, full[0], &actions, &attr, cArgs, environ) == 0 else { throw SetupError("cannot start vrfc-apply") }
    var killed = false
    var status: Int32 = 0
    while true {
        if try condition() {
            kill(-pid, SIGKILL)
            killed = true
            break
        }
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        usleep(500)
    }
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return killed
}

/// The order of a VRF's removal (FRR refuses `no vrf NAME` while the
/// kernel device exists; the Debian-kernel guest shows it for real): the
/// VRF's block stays through the reload and goes once the links are gone.
@Suite struct VRFRemovalOrderTests {
    let previous =
        "frr defaults datacenter\n!\nvrf vr.blue\n vni 100\nexit-vrf\n!\nvrf vr.red\n vni 200\nexit-vrf\n!\nrouter bgp 64510 vrf vr.blue\nexit\n!\nline vty\nexit\n!\nend\n"
    let config = "frr defaults datacenter\n!\nvrf vr.red\n vni 200\nexit-vrf\n!\nline vty\nexit\n!\nend\n"

    /// bgpd 8.4's `show bgp neighbors json` (fields as it prints them):
    /// a removal waits for the `dv.` neighbors of active VRFs only.
    @Test func aRemovalWaitsForTheLinkNeighborsOfActiveVRFsToHaveAnAddress() throws {
        let json = """
            {"eth1":{"bgpNeighborAddr":"none","bgpState":"Idle"},
             "dv.blue":{"bgpNeighborAddr":"none","bgpState":"Idle","lastResetDueTo":"Waiting for Peer IPv6 LLA"},
             "dv.red":{"bgpNeighborAddr":"fe80::e4a1:d5ff:fe59:a489","bgpState":"Active"},
             "dv.green":{"bgpNeighborAddr":"none","bgpState":"Idle"}}
            """
        let answer = try #require(FRRVty.object(json: json))
        let active: Set<String> = ["vr.blue", "vr.red"]
        #expect(Reconcile.linkNeighborsWithoutAddress(answer, activeVRFs: active) == ["dv.blue"])
        #expect(Reconcile.linkNeighborsWithoutAddress(answer, activeVRFs: ["vr.red"]).isEmpty)
        #expect(Reconcile.linkNeighborsWithoutAddress(nil, activeVRFs: active).isEmpty)
        // Before the removed VRFs' neighbors go, every neighbor without an
        // address counts (one `clear bgp` each, plus one).
        #expect(Reconcile.withoutAddress(answer) == ["eth1", "dv.blue", "dv.green"])
        #expect(Reconcile.withoutAddress(nil).isEmpty)
        #expect(Reconcile.linkNeighbors(of: ["vrf vr.blue", "vrf vr.red", "vrf mgmt"]) == ["dv.blue", "dv.red"])
    }

    /// The purge of the removed neighbors' peer hash entries runs for every
    /// FRR before 10.3 and for a version that cannot be read; `show version`
    /// as FRR's releases and builds print it.
    @Test func thePeerHashPurgeIsGatedOnTheFRRVersion() {
        let v = Reconcile.frrVersion(showVersion:)
        #expect(v("FRRouting 8.4.4 (node1) on Linux(6.1.0-37-amd64).\nCopyright 1996-2005\n") == [8, 4, 4])
        #expect(v("\nFRRouting 10.3 (node1) on Linux(6.12.0).\n") == [10, 3])
        #expect(v("FRRouting 10.5-dev (n) on Linux(6.1).") == [10, 5])
        #expect(v("FRRouting 9.1_git (n) on Linux(6.1).") == [9, 1])
        #expect(v("FRRouting 10.2.1-1~deb13 (n)") == [10, 2, 1])
        #expect(v("FRRouting 10. (n)") == [10])
        for junk in ["", "% Unknown command: show version", "FRRouting (n) on Linux", "FRRouting x.1", "frrouting 10.3"] {
            #expect(v(junk) == nil, "\(junk)")
        }
        let purge = Reconcile.peerHashKeepsStaleEntries
        for old: [Int]? in [nil, [8, 4, 4], [8, 5], [9, 1], [10], [10, 2, 9]] { #expect(purge(old), "\(String(describing: old))") }
        for fixed in [[10, 3], [10, 3, 1], [10, 4], [11], [11, 0, 0]] { #expect(!purge(fixed), "\(fixed)") }
    }

    /// The same door vrfc-apply uses (bgpd's vty socket), against this
    /// machine's bgpd: the version read equals the one the binary prints,
    /// and Debian 12's FRR 8.4 gets the purge.
    @Test func theRunningBGPDsVersionIsReadAndOn84ThePurgeRuns() throws {
        let frr = try FRRInstance(tag: "ver")
        defer { frr.stop() }
        let answer = try FRRVty(daemon: "bgpd", pathspace: frr.name).run("show version")
        try #require(answer.status == 0, "bgpd answers show version with \(answer)")
        let read = try #require(Reconcile.frrVersion(showVersion: answer.output), "\(answer.output)")
        let printed = try Shell.run(["\(FRRInstance.daemonDir)/bgpd", "--version"]).stdout
        let word = try #require(printed.split(separator: "\n").first?.split(separator: " ").last, "\(printed)")
        #expect(read == word.split(separator: ".").compactMap { Int($0) }, "\(answer.output) vs \(printed)")
        try #require(read.first == 8, "the tests run Debian 12's FRR 8.4; this is \(read)")
        #expect(Reconcile.peerHashKeepsStaleEntries(read))
    }

    @Test func theDroppedVRFsBlockIsKeptEmptyUntilTheLinksAreGone() {
        #expect(Reconcile.removedVRFs(previous: previous, config: config) == ["vrf vr.blue"])
        #expect(Reconcile.removedVRFs(previous: nil, config: config) == [])
        #expect(Reconcile.removedVRFs(previous: config, config: config) == [])
        let staged = Reconcile.keeping(["vrf vr.blue"], in: config)
        #expect(
            staged == "frr defaults datacenter\n!\nvrf vr.red\n vni 200\nexit-vrf\n!\nline vty\nexit\n!\nvrf vr.blue\nexit-vrf\n!\nend\n")
        #expect(Reconcile.keeping([], in: config) == config)
        // Verification in between accepts the block, and only it.
        let running = "vrf vr.blue\nexit-vrf\n!\nvrf vr.red\n vni 200\nexit-vrf\n!\n"
        let frame: String? = "frr defaults datacenter\n!\nline vty\nexit\n"
        #expect(FRRCheck.verify(running: running, config: config, frame: frame, previous: previous, leaving: ["vrf vr.blue"]) == [])
        #expect(!FRRCheck.verify(running: running, config: config, frame: frame, previous: previous).isEmpty)
        #expect(
            !FRRCheck.verify(
                running: running + "vrf vr.blue\n vni 100\nexit-vrf\n", config: config, frame: frame, previous: previous,
                leaving: ["vrf vr.blue"]
            ).isEmpty, "its VNI must be gone")
    }

    /// What a VRF's removal takes away, each thing asked of its daemon;
    /// anything else in the delta leaves it to the whole running config.
    @Test func aRemovalDeltaIsVerifiedThingByThing() {
        let old = previous.replacingOccurrences(
            of: "router bgp 64510 vrf vr.blue\nexit\n",
            with:
                "router bgp 64510\n neighbor dv.blue interface remote-as internal\n address-family ipv4 unicast\n  redistribute connected\n  neighbor dv.blue activate\n  neighbor dv.blue route-map rm_blue_import in\n exit-address-family\nexit\n!\nrouter bgp 64510 vrf vr.blue\nexit\n!\nip prefix-list pl_blue_10_import seq 1 permit 203.0.113.0/24\nroute-map rm_blue_import permit 10\n match ip address prefix-list pl_blue_10_import\nexit\n"
        )
        let new = config.replacingOccurrences(
            of: "line vty\n",
            with: "router bgp 64510\n address-family ipv4 unicast\n  redistribute connected\n exit-address-family\nexit\n!\nline vty\n")
        let main = Reconcile.withoutVRFRemovals(
            FRRDeltaRenderer.script(old: FRRConfigTree(old), new: FRRConfigTree(new), basisDigest: "").script, ["vrf vr.blue"])
        let t = FRRCheck.removalTargets(main, leaving: ["vrf vr.blue"])
        #expect(
            t
                == FRRCheck.RemovalTargets(
                    policy: .init(prefixLists: ["ip prefix-list pl_blue_10_import"], routeMaps: ["rm_blue_import"]), vrfs: ["vr.blue"],
                    neighbors: ["router bgp 64510": ["dv.blue"]]), "\(main)")
        #expect(FRRCheck.removalTargets(main, leaving: []) == nil)
        // A neighbor setting without the neighbor going, another VRF's VNI, an addition: not a removal.
        #expect(FRRCheck.removalTargets(main + "router bgp 64510\n no neighbor eth1 activate\nexit\n", leaving: ["vrf vr.blue"]) == nil)
        #expect(FRRCheck.removalTargets(main + "vrf vr.red\n no vni 200\nexit-vrf\n", leaving: ["vrf vr.blue"]) == nil)
        #expect(FRRCheck.removalTargets(main + "router bgp 64510 vrf vr.red\nexit\n", leaving: ["vrf vr.blue"]) == nil)
        #expect(FRRCheck.removalTargets(main + "no vrf vr.red\n", leaving: ["vrf vr.blue"]) == nil)
    }

    /// FRR 8.4's answers the removal's checks read.
    @Test func theDaemonsAnswersAboutARemovedVRF() {
        #expect(
            FRRCheck.zebraVRFs("vrf vr.blue inactive (configured)\nvrf vr.red id 5 table 1000 (configured)\n") == [
                "vr.blue": false, "vr.red": true,
            ])
        #expect(
            FRRCheck.bgpInstances(
                FRRVty.object(
                    json: #"{"vrfs":{"default":{"type":"DFLT","l3vni":0},"vr.red":{"type":"VRF","l3vni":200}},"totalVrfs":2}"#))
                == ["default", "vr.red"])
        #expect(FRRCheck.bgpInstances(FRRVty.object(json: "% unknown")) == nil)
        #expect(FRRCheck.noSuchNeighbor(FRRVty.object(json: "{\n  \"bgpNoSuchNeighbor\":true\n}\n")))
        #expect(!FRRCheck.noSuchNeighbor(FRRVty.object(json: #"{"dv.blue":{"bgpState":"Idle"}}"#)))
        #expect(FRRCheck.vrfVNIs(FRRVty.object(json: #"{"vrfs":[{"vrf":"vr.red","vni":200,"state":"Up"}]}"#)) == ["vr.red": 200])
        #expect(FRRVty.object(json: "") == nil && FRRVty.object(json: "[1]") == nil)
        #expect(
            Reconcile.failedLines(
                "line 41: Warning[19]...: no vrf vr.blue\n% Only inactive VRFs can be deleted\nline 7: % Unknown command[4]: x\n") == [
                    41, 7,
                ])
    }

    @Test func theDeltaKeepsOneBatchButForTheVRFHeaders() {
        let delta = FRRDeltaRenderer.script(old: FRRConfigTree(previous), new: FRRConfigTree(config), basisDigest: "")
        #expect(delta.script.contains("\nno vrf vr.blue\n"))
        let main = Reconcile.withoutVRFRemovals(delta.script, ["vrf vr.blue"])
        #expect(main == delta.script.replacingOccurrences(of: "\nno vrf vr.blue\n", with: "\n"))
        #expect(main.contains(" no vni 100") && main.contains("no router bgp 64510 vrf vr.blue"))
        #expect(Reconcile.withoutVRFRemovals(delta.script, []) == delta.script)
    }
}

/// The delta's cheaper checks (what replaces the whole-file dry run and the
/// whole running config when FRR gets a delta), on texts; the FRR runs of
/// ReconcileTests exercise them against real daemons.
@Suite struct DeltaCheckTests {
    let running =
        "ip prefix-list pl_red seq 1 permit 203.0.113.0/24 le 32\nroute-map rm_red permit 10\n match ip address prefix-list pl_red\n set community 65000:1\nexit\n"
    let config =
        "ip prefix-list pl_red seq 1 permit 203.0.113.0/24 le 32\nip prefix-list pl_red seq 2 permit 192.0.2.0/28\nroute-map rm_red permit 10\n match ip address prefix-list pl_red\n set community 65000:2\nexit\n"

    var script: String {
        FRRDeltaRenderer.script(old: FRRConfigTree(running), new: FRRConfigTree(config), basisDigest: "").script
    }

    @Test func everyNewCommandIsKeptOrSent() {
        #expect(FRRCheck.uncovered(newConfig: FRRConfigTree(config), running: FRRConfigTree(running), script: script) == [])
        // A command in the new file that the delta does not send was never dry-run.
        let sneaky = config + "ip prefix-list pl_red seq 3 permit 198.51.100.0/24\n"
        #expect(
            FRRCheck.uncovered(newConfig: FRRConfigTree(sneaky), running: FRRConfigTree(running), script: script)
                == ["ip prefix-list pl_red seq 3 permit 198.51.100.0/24"])
        // The same command under another block is another command.
        let moved = config + "route-map rm_blue permit 10\n set community 65000:2\n"
        #expect(FRRCheck.uncovered(newConfig: FRRConfigTree(moved), running: FRRConfigTree(running), script: script).count == 2)
    }

    @Test func policyOnlyDeltasAreTargeted() {
        #expect(FRRCheck.policyTargets(script) == FRRCheck.PolicyTargets(prefixLists: ["ip prefix-list pl_red"], routeMaps: ["rm_red"]))
        #expect(
            FRRCheck.showCommands(FRRCheck.policyTargets(script)!) == ["show ip prefix-list pl_red json", "show route-map rm_red json"])
        #expect(FRRCheck.policyTargets("vrf vr.red\n vni 100\nexit-vrf\n") == nil)
        #expect(
            FRRCheck.policyTargets("route-map rm_red permit 10\n set community 65000:1\nrouter bgp 64510\n neighbor x remote-as 1\nexit\n")
                == nil)
        #expect(FRRCheck.policyTargets("route-map rm_red permit 10\n description x\n") == nil, "only match, set and call are shown")
        #expect(FRRCheck.policyTargets("") == nil)
    }

    /// The JSON FRR 8.4's daemons print for `show ... prefix-list NAME json`
    /// and `show route-map NAME json`, as running-config commands.
    @Test func theDaemonsJSONReadsAsConfigCommands() {
        let plist =
            #"{"BGP":{"pl_red":{"addressFamily":"IPv4","entries":[{"sequenceNumber":1,"type":"permit","prefix":"203.0.113.0/24","maximumPrefixLength":32},{"sequenceNumber":2,"type":"permit","prefix":"192.0.2.0/28"}]}}}"#
        let rmap =
            #"{"BGP":{"rm_red":{"invoked":0,"rules":[{"sequenceNumber":10,"type":"permit","matchClauses":["ip address prefix-list pl_red"],"setClauses":["community 65000:2"],"action":"Exit routemap"}]}}}"#
        let zebra =
            #"{"ZEBRA":{"rm_red":{"rules":[{"sequenceNumber":10,"type":"permit","matchClauses":["ip address prefix-list pl_red"],"setClauses":[]}]}}}"#
        let keys = FRRCheck.running(policyAnswers: [plist, rmap, zebra, #"{"BGP":{}}"#, "not json"].compactMap { FRRVty.object(json: $0) })
        let expected = FRRConfigTree(config).keys
        #expect(keys == expected)
        let targets = FRRCheck.policyTargets(script)!
        #expect(FRRCheck.verify(targets: targets, running: keys, config: FRRConfigTree(config), previous: FRRConfigTree(running)) == [])
        // The old community still running, the new prefix missing: both said.
        let stale = FRRCheck.running(
            policyAnswers: [
                plist.replacingOccurrences(of: #",{"sequenceNumber":2,"type":"permit","prefix":"192.0.2.0/28"}"#, with: ""),
                rmap.replacingOccurrences(of: "65000:2", with: "65000:1"),
            ].compactMap { FRRVty.object(json: $0) })
        let problems = FRRCheck.verify(targets: targets, running: stale, config: FRRConfigTree(config), previous: FRRConfigTree(running))
        #expect(problems.contains("FRR does not run 'ip prefix-list pl_red seq 2 permit 192.0.2.0/28'"), "\(problems)")
        #expect(
            problems.contains("FRR still runs 'route-map rm_red permit 10 > set community 65000:1', which the new config removed"),
            "\(problems)")
        #expect(problems.count == 3, "\(problems)")
    }
}

/// `FRRCheck.uncovered` walks the two files side by side; it must say what
/// the plain definition (every new command is a kept one or a delta one)
/// says, for any edit.
@Suite struct UncoveredWalkTests {
    static func reference(_ new: FRRConfigTree, _ old: FRRConfigTree, _ script: String) -> [String] {
        let known = old.keys.union(FRRConfigTree(script).keys)
        return Array(new.entries.filter { !known.contains($0.key) }.map { ($0.path + [$0.text]).joined(separator: " > ") }.prefix(3))
    }

    @Test func theWalkAgreesWithTheDefinition() throws {
        let old = try Fixture(name: "fifty-vrfs").frr()
        var lines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for _ in 0..<300 {
            var new = lines
            var sent: [String] = []
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<new.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: new.remove(at: i)
                case 1: new.insert(" set community 64510:\(i)", at: i)
                case 2:
                    new.insert("ip prefix-list pl_x seq \(i) permit 192.0.2.0/28", at: i)
                    if Bool.random(using: &rng) { sent.append("ip prefix-list pl_x seq \(i) permit 192.0.2.0/28") }
                default: new.swapAt(i, Int.random(in: 0..<new.count, using: &rng))
                }
            }
            let newTree = FRRConfigTree(new.joined(separator: "\n"))
            let oldTree = FRRConfigTree(old)
            let script = sent.joined(separator: "\n") + "\n"
            #expect(
                FRRCheck.uncovered(newConfig: newTree, running: oldTree, script: script) == Self.reference(newTree, oldTree, script))
            checked += 1
        }
        lines.removeAll()
        #expect(checked == 300)
    }
}
