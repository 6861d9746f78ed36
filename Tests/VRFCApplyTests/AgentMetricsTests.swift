import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCDriver
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// `vrfc-apply agent --metrics-listen`: the agent's own metrics (reconciles,
/// FRR reloads, the last error) next to the router's counters and the links
/// it owns, scraped over real HTTP from the unprivileged exporter the agent
/// starts and parsed by prometheus_client; every value is checked against
/// what the agent logged or the kernel holds.
@Suite(.serialized) struct AgentMetricsTests {
    func scrape(_ port: Int) throws -> MetricsScrape {
        try MetricsScrape.get("http://127.0.0.1:\(port)/metrics")
    }

    /// Links vrfc owns in the namespace (name and marker), from netlink.
    func owned(_ ns: Namespace) throws -> [Link] {
        try ns.links().filter { Ownership.isMarked($0.alias) && Ownership.hasOwnedPrefix($0.name) }
    }

    /// The owned-links gauges agree with the kernel, kind by kind.
    func expectLinks(_ scraped: MetricsScrape, _ ns: Namespace, count: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        throws
    {
        let links = try owned(ns)
        #expect(links.count == count, "\(links.map(\.name))", sourceLocation: sourceLocation)
        #expect(scraped.success("links") == 1, sourceLocation: sourceLocation)
        for kind in ["vrf", "bridge", "vxlan", "veth"] {
            let have = links.filter { $0.kind == kind }
            #expect(scraped.value("vrfc_links_owned", ["kind": kind]) == Double(have.count), "\(kind)", sourceLocation: sourceLocation)
            #expect(
                scraped.value("vrfc_links_owned_up", ["kind": kind]) == Double(have.filter(\.isUp).count), "\(kind) up",
                sourceLocation: sourceLocation)
        }
    }

    /// The exporter the agent started (its log names it) runs unprivileged.
    func expectUnprivilegedExporter(_ agent: AgentProcess, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let record = try #require(agent.records.first { $0["msg"] == "serving metrics" }, sourceLocation: sourceLocation)
        let pid = try #require(record["exporter_pid"].flatMap(Int32.init), sourceLocation: sourceLocation)
        let status = try #require(ProcessStatus(pid: pid), sourceLocation: sourceLocation)
        #expect(
            status.uids.allSatisfy { $0 != 0 } && status.uids.count == 4, "\(status.fields["Uid"] ?? "")", sourceLocation: sourceLocation)
        #expect(status.capabilities("Eff") == 0 && status.capabilities("Prm") == 0 && status.noNewPrivs, sourceLocation: sourceLocation)
        #expect(ProcessStatus.children(of: agent.pid).contains(pid), sourceLocation: sourceLocation)
    }

    @Test func theAgentServesItsReconcilesLinksAndLastError() throws {
        let all = try compiledOps("route-targets").withoutVRFDevices
        let vrfs = Array(Set(all.links.map(\.vrf.value))).sorted()
        let port = Int.random(in: 20_000..<60_000)
        try Namespace.with("ag-metr") { ns in
            try ns.addUnderlay()
            let file = try ns.file("ops.json", JSONOutput.encode(AgentTests.stacks(all, [vrfs[0]])))
            try ns.withAgent(["--ops", file, "--debounce", "0", "--interval", "0", "--metrics-listen", "127.0.0.1:\(port)"]) { agent in
                let start = try agent.waitForReconcile("start")
                #expect(start["result"] == "ok", "\(agent.log)")
                let first = try scrape(port)
                #expect(first.value("vrfc_reconciles_total", ["result": "ok"]) == 1, "\(first.families)")
                #expect(first.value("vrfc_last_reconcile_result", ["result": "ok"]) == 1)
                #expect(first.value("vrfc_last_reconcile_result", ["result": "failed"]) == 0)
                #expect(first.value("vrfc_last_reconcile_changes") == Double(AgentTests.changes(start)))
                #expect((first.value("vrfc_last_reconcile_duration_seconds") ?? -1) >= 0)
                #expect(abs((first.value("vrfc_last_reconcile_timestamp_seconds") ?? 0) - Date().timeIntervalSince1970) < 120)
                #expect(first.success("router") == 1, "\(agent.log)")
                // One VRF's stack without its VRF device: bridge, VXLAN and the veth pair.
                try expectLinks(first, ns, count: 4)
                // Links only: no FRR reload, no error yet.
                #expect(first.samples("vrfc_last_reload_strategy").isEmpty && first.samples("vrfc_last_error_info").isEmpty)
                try expectUnprivilegedExporter(agent)

                try replaceFile(file, JSONOutput.encode(AgentTests.stacks(all, [vrfs[0], vrfs[1]])))
                let change = try agent.waitForReconcile("change")
                #expect(change["result"] == "ok", "\(agent.log)")
                let second = try scrape(port)
                #expect(second.value("vrfc_reconciles_total", ["result": "ok"]) == 2)
                #expect(second.value("vrfc_last_reconcile_changes") == Double(AgentTests.changes(change)))
                try expectLinks(second, ns, count: 8)

                // A link deleted behind the agent's back: the scrape sees it at once.
                let victim = try #require(try owned(ns).first { $0.kind == "veth" }).name
                try ns.ip("link", "del", victim)
                try expectLinks(try scrape(port), ns, count: 6)

                // A tampered op list: refused; the last error is the one the agent logged.
                try replaceFile(file, #"{"format": "vrfc-ops/1", "links": [{"name": "eth0"}]}"#)
                let refused = try agent.waitForReconcile("change", count: 2)
                #expect(refused["result"] != "ok", "\(agent.log)")
                // The error's first line (the only error of this agent).
                let logged = try #require(
                    agent.records.first { $0["msg"] == "reconcile error" || $0["msg"] == "invalid input" }?["error"], "\(agent.log)")
                let third = try scrape(port)
                let info = third.samples("vrfc_last_error_info")
                #expect(info.count == 1 && info.first?.value == 1, "\(info.map(\.labels))")
                #expect(info.first?.labels["result"] == refused["result"] && info.first?.labels["trigger"] == "change")
                let label = info.first?.labels["error"] ?? ""
                #expect(
                    label == logged || (label.hasSuffix("…") && logged.hasPrefix(String(label.dropLast()))),
                    "label \(label.debugDescription), logged \(logged.debugDescription)")
                #expect(third.value("vrfc_last_reconcile_result", ["result": refused["result"] ?? ""]) == 1)
                #expect(abs((third.value("vrfc_last_error_timestamp_seconds") ?? 0) - Date().timeIntervalSince1970) < 120)
            }
        }
    }

    /// The full reconcile against real zebra and bgpd: the first run reloads
    /// FRR whole (frr-reload.py: no kept config), a change afterwards sends
    /// the delta; the scrape reports each strategy, its count and a
    /// duration within the reconcile's, as the agent logged them.
    @Test func theAgentServesItsReloads() throws {
        try ReconcileNode.with("agmrel") { node in
            node.crs = ["red-a": cr("red-a", "red", 10, imports: ["203.0.113.0/24 le 32"], exports: ["198.51.100.0/24"])]
            let watched = try node.ns.file("watched-bundle.json", try String(contentsOfFile: try node.bundle(), encoding: .utf8))
            let port = Int.random(in: 20_000..<60_000)
            try node.ns.withAgent([
                "--bundle", watched, "--frr-config", node.conf, "--state-dir", node.state, "--frr-pathspace", node.frr.name,
                "--debounce", "0", "--interval", "0", "--metrics-listen", "127.0.0.1:\(port)",
            ]) { agent in
                func reloadStep(after n: Int) -> String? {
                    agent.records.filter { $0["msg"] == "reconcile" && ($0["step"] ?? "").hasPrefix("reload: ") }.dropFirst(n).first?[
                        "step"]
                }
                let start = try agent.waitForReconcile("start", timeout: 300)
                #expect(start["result"] == "ok", "\(agent.log)")
                #expect(reloadStep(after: 0)?.hasPrefix("reload: frr-reload (") == true, "\(agent.log)")
                let first = try scrape(port)
                #expect(first.value("vrfc_last_reload_strategy", ["strategy": "frr-reload"]) == 1, "\(first.families)")
                #expect(first.value("vrfc_last_reload_strategy", ["strategy": "delta"]) == 0)
                #expect(first.value("vrfc_last_reload_strategy", ["strategy": "systemd"]) == 0)
                #expect(first.value("vrfc_reloads_total", ["strategy": "frr-reload", "result": "ok"]) == 1)
                let d1 = first.value("vrfc_last_reload_duration_seconds") ?? -1
                #expect(
                    d1 > 0 && d1 <= Double(start["duration_ms"] ?? "0")! / 1000 + 0.001,
                    "reload \(d1) s, reconcile \(start["duration_ms"] ?? "?") ms")
                // The FRR the agent manages, through the exporter's vtysh (its pathspace).
                #expect(
                    first.success("frr_bgp") == 1 && first.value("frr_bgp_peer_state", ["vrf": "default", "peer": "dv.red"]) != nil,
                    "\(first.samples("frr_bgp_peer_state").map(\.labels))")
                try expectLinks(first, node.ns, count: try owned(node.ns).count)
                #expect(try owned(node.ns).count == 4)

                // One prefix more: the delta from the config FRR runs.
                node.crs["red-a"] = cr("red-a", "red", 10, imports: ["203.0.113.0/24 le 32", "192.0.2.0/26"], exports: ["198.51.100.0/24"])
                try replaceFile(watched, try String(contentsOfFile: try node.bundle(), encoding: .utf8))
                let change = try agent.waitForReconcile("change", timeout: 300)
                #expect(change["result"] == "ok", "\(agent.log)")
                #expect(reloadStep(after: 1)?.hasPrefix("reload: delta (default: ") == true, "\(agent.log)")
                let second = try scrape(port)
                #expect(second.value("vrfc_last_reload_strategy", ["strategy": "delta"]) == 1)
                #expect(second.value("vrfc_last_reload_strategy", ["strategy": "frr-reload"]) == 0)
                #expect(second.value("vrfc_reloads_total", ["strategy": "delta", "result": "ok"]) == 1)
                #expect(second.value("vrfc_reloads_total", ["strategy": "frr-reload", "result": "ok"]) == 1)
                let d2 = second.value("vrfc_last_reload_duration_seconds") ?? -1
                #expect(
                    d2 > 0 && d2 <= Double(change["duration_ms"] ?? "0")! / 1000 + 0.001,
                    "reload \(d2) s, reconcile \(change["duration_ms"] ?? "?") ms")
                #expect(
                    (second.value("vrfc_last_reload_timestamp_seconds") ?? 0)
                        >= (first.value("vrfc_last_reload_timestamp_seconds") ?? .infinity))

                // A broken bundle: no reload; the last error is the agent's.
                try replaceFile(watched, "{ not a bundle\n")
                let broken = try agent.waitForReconcile("change", count: 2, timeout: 120)
                #expect(broken["result"] == "failed", "\(agent.log)")
                let logged = try #require(agent.records.first { $0["msg"] == "reconcile error" }?["error"], "\(agent.log)")
                let third = try scrape(port)
                let info = third.samples("vrfc_last_error_info")
                #expect(
                    info.count == 1 && info.first?.labels["result"] == "failed" && info.first?.labels["trigger"] == "change",
                    "\(info.map(\.labels))")
                let label = info.first?.labels["error"] ?? ""
                #expect(
                    label == logged || (label.hasSuffix("…") && logged.hasPrefix(String(label.dropLast()))),
                    "label \(label.debugDescription), logged \(logged.debugDescription)")
                #expect(label.contains("not a vrfc bundle"), "\(label)")
                #expect(third.value("vrfc_reloads_total", ["strategy": "delta", "result": "ok"]) == 1, "no reload for a broken bundle")
                #expect(third.value("vrfc_last_reload_strategy", ["strategy": "delta"]) == 1)
            }
        }
    }
}
