import CoreMetrics
import Foundation

/// vrfc's own metrics from the agent, through swift-metrics: without
/// `--metrics-listen` no backend is bootstrapped and these are no-ops.
enum AgentMetrics {
    static let results: [ReconcileOutcome.Result] = [.ok, .invalid, .failed, .stopped, .skipped]

    static func record(_ outcome: ReconcileOutcome, seconds: Double) {
        Counter(label: "vrfc_reconciles_total", dimensions: [("result", outcome.result.rawValue)]).increment()
        Gauge(label: "vrfc_last_reconcile_timestamp_seconds").record(Date().timeIntervalSince1970)
        Gauge(label: "vrfc_last_reconcile_duration_seconds").record(seconds)
        Gauge(label: "vrfc_last_reconcile_changes").record(Double(outcome.changes))
        // One series per result, 1 on the last one's: the last error's kind without its text as a label.
        for r in results {
            Gauge(label: "vrfc_last_reconcile_result", dimensions: [("result", r.rawValue)]).record(r == outcome.result ? 1.0 : 0.0)
        }
    }
}
