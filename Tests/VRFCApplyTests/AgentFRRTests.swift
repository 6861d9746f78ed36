import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCModel
import VRFCTestSupport

/// `vrfc-apply agent --frr-config`: the agent runs the whole reconcile
/// (links down, frr.conf, reload, verify, links up) against real zebra and
/// bgpd and real links, and `--clean` takes vrfc's sections out of FRR and
/// its links off the node. As in ReconcileTests, this kernel has no VRF
/// device, so the first run takes a bundle without the `vr.` links; the
/// clean compiles the node config with no CR, which wants no link at all.
@Suite(.serialized) struct AgentFRRTests {
    @Test func oneshotReconcilesFRRAndCleanRemovesWhatVrfcAdded() throws {
        try ReconcileNode.with("agfrr") { node in
            node.crs = [
                "red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24 le 32"], exports: ["198.51.100.0/24"], community: "65000:1"),
                "blue-a": cr("blue-a", "blue", 10, imports: ["2001:db8:1::/48"], exports: ["198.51.100.64/26"]),
            ]
            let frrArgs = ["--frr-config", node.conf, "--state-dir", node.state, "--frr-pathspace", node.frr.name]
            let once = try node.ns.runAgent(["--oneshot", "--bundle", try node.bundle()] + frrArgs)
            #expect(once.status == 0, "\(once.agent.log)")
            let finished = once.agent.reconciles
            #expect(finished.count == 1 && finished.first?["result"] == "ok", "\(finished)")
            #expect(try OracleExpectations.verify(try node.ir(), in: node.frr) == [])
            #expect(try node.linkProblems(try node.expectedOps()) == [])
            let running = try node.frr.show("show running-config")
            #expect(running.contains("route-map rm_red_import permit 11") && running.contains("router bgp 64510 vrf vr.red"))

            // A second oneshot with the same inputs changes nothing.
            let again = try node.ns.runAgent(["--oneshot", "--bundle", try node.bundle()] + frrArgs)
            #expect(again.status == 0 && again.agent.reconciles.first?["result"] == "ok", "\(again.agent.log)")
            #expect(again.agent.log.contains { $0.contains("frr.conf: unchanged; FRR runs it; not reloaded") }, "\(again.agent.log)")

            // --clean: the node config with no CR over the hinted base config
            // (a bundle run keeps no base); FRR keeps the base config only.
            try node.writeInputs()
            let clean = try node.ns.runAgent(
                [
                    "--clean", "--config", node.config, "--template", node.base,
                    "--hostname", "node-a", "--router-id", "192.0.2.129",
                ] + frrArgs)
            #expect(clean.status == 0, "\(clean.agent.log)")
            #expect(try node.ns.links().filter { Ownership.hasOwnedPrefix($0.name) }.map(\.name) == [])
            let after = try node.frr.show("show running-config")
            for gone in ["vrf vr.", "router bgp 64510 vrf", "rm_red_", "rm6_blue_", "pl_red_", "neighbor dv."] {
                #expect(!after.contains(gone), "'\(gone)' is still in FRR's running config after --clean")
            }
            // What the base config holds itself stays.
            #expect(after.contains("router bgp 64510"), "\(after)")
        }
    }

    /// What FRR runs (the last good frr.conf, its IR and the base) is kept
    /// on disk, not in the agent: a new agent process, given only the state
    /// directory, sends the next change as a delta, and FRR then runs what a
    /// full load of the new file gives. Through the unprivileged compile, on
    /// a node with policy VRFs only (this kernel has no VRF devices).
    @Test func aRestartedAgentContinuesWithADelta() throws {
        try ReconcileNode.with("agrst", policyOnly: true) { node in
            node.crs = [
                "mgmt-a": cr("mgmt-a", "mgmt_vrf", 10, imports: ["203.0.113.0/24"], exports: ["198.51.100.0/24"], community: "65000:1")
            ]
            try node.writeInputs()
            let args = [
                "--oneshot", "--config", node.config, "--frr-config", node.conf, "--state-dir", node.state,
                "--frr-pathspace", node.frr.name, "--hostname", "node-a", "--router-id", "192.0.2.129", node.crDir,
            ]
            let first = try node.ns.runAgent(args)
            #expect(first.status == 0 && first.agent.reconciles.first?["result"] == "ok", "\(first.agent.log)")
            #expect(first.agent.log.contains { $0.contains("reload: frr-reload (") }, "the first run has nothing kept: \(first.agent.log)")
            #expect(FileManager.default.fileExists(atPath: node.state + "/frr.conf.good.ir.json"), "no IR kept on disk")

            // The agent is gone; the inputs change; a new agent starts.
            node.crs["mgmt-a"] = cr(
                "mgmt-a", "mgmt_vrf", 10, imports: ["203.0.113.0/24", "192.0.2.0/28"], exports: ["198.51.100.0/24"],
                community: "65000:2")
            try node.writeInputs()
            let second = try node.ns.runAgent(args)
            #expect(second.status == 0 && second.agent.reconciles.first?["result"] == "ok", "\(second.agent.log)")
            #expect(
                second.agent.log.contains { $0.contains("reload: delta (default: ") },
                "the restarted agent did not send a delta: \(second.agent.log)")
            #expect(!second.agent.log.contains { $0.contains("falling back") }, "\(second.agent.log)")
            #expect(try OracleExpectations.verify(try node.ir(), in: node.frr) == [])
            try node.expectSameAsFullLoad(step: "delta after an agent restart")
        }
    }
}
