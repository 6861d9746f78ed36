import Foundation
import Testing
import VRFCApply
import VRFCModel
import VRFCDriver
import VRFCTestSupport
import VRFCApplyTestSupport

/// `vrfc-apply agent --metrics-listen`: the agent's own reconcile metrics
/// next to the router's counters, scraped over real HTTP and parsed by
/// prometheus_client.
@Suite struct AgentMetricsTests {
    func scrape(_ port: Int) throws -> [String: [[String: Any]]] {
        var last: CommandResult?
        for _ in 0..<100 {
            let r = try Shell.run(["python3", Repo.path("scripts/scrape-metrics.py"), "http://127.0.0.1:\(port)/metrics"], timeout: 60)
            if r.status == 0, let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               let families = doc["families"] as? [String: [String: Any]] {
                return families.mapValues { ($0["samples"] as? [[String: Any]]) ?? [] }
            }
            last = r
            usleep(200_000)
        }
        throw SetupError("no scrape from the agent in 20 s: \(last.map(String.init(describing:)) ?? "")")
    }

    func value(_ families: [String: [[String: Any]]], _ sample: String, _ labels: [String: String] = [:]) -> Double? {
        families.values.joined().first { s in
            s["name"] as? String == sample && labels.allSatisfy { ((s["labels"] as? [String: String]) ?? [:])[$0.key] == $0.value }
        }.flatMap { ($0["value"] as? NSNumber)?.doubleValue }
    }

    @Test func theAgentServesItsReconciles() throws {
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
                #expect(value(first, "vrfc_reconciles_total", ["result": "ok"]) == 1, "\(first.keys.sorted())")
                #expect(value(first, "vrfc_last_reconcile_result", ["result": "ok"]) == 1)
                #expect(value(first, "vrfc_last_reconcile_result", ["result": "failed"]) == 0)
                #expect(value(first, "vrfc_last_reconcile_changes") == Double(AgentTests.changes(start)))
                #expect((value(first, "vrfc_last_reconcile_duration_seconds") ?? -1) >= 0)
                #expect(abs((value(first, "vrfc_last_reconcile_timestamp_seconds") ?? 0) - Date().timeIntervalSince1970) < 120)
                #expect(value(first, "vrfc_scrape_collector_success", ["collector": "router"]) == 1, "\(agent.log)")

                try replaceFile(file, JSONOutput.encode(AgentTests.stacks(all, [vrfs[0], vrfs[1]])))
                let change = try agent.waitForReconcile("change")
                #expect(change["result"] == "ok", "\(agent.log)")
                let second = try scrape(port)
                #expect(value(second, "vrfc_reconciles_total", ["result": "ok"]) == 2)
                #expect(value(second, "vrfc_last_reconcile_changes") == Double(AgentTests.changes(change)))
            }
        }
    }
}
