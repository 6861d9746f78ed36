import CoreMetrics
import Foundation
import Synchronization
import VRFCApply

/// vrfc's own metrics from the agent, through swift-metrics: without
/// `--metrics-listen` no backend is bootstrapped and these are no-ops.
enum AgentMetrics {
    static let results: [ReconcileOutcome.Result] = [.ok, .invalid, .failed, .stopped, .skipped]
    /// The whole-file and delta strategies a reload can end with.
    static let strategies: [ReloadStrategy] = [.delta, .frrReload, .systemd]
    /// The series of the last error, replaced by the next error.
    static let lastError = Mutex<(labels: [String], gauge: Gauge)?>(nil)
    /// A label value is one line, at most this many characters.
    static let errorLength = 200

    static func record(_ outcome: ReconcileOutcome, trigger: Trigger, seconds: Double) {
        let now = Date().timeIntervalSince1970
        Counter(label: "vrfc_reconciles_total", dimensions: [("result", outcome.result.rawValue)]).increment()
        Gauge(label: "vrfc_last_reconcile_timestamp_seconds").record(now)
        Gauge(label: "vrfc_last_reconcile_duration_seconds").record(seconds)
        Gauge(label: "vrfc_last_reconcile_changes").record(Double(outcome.changes))
        // One series per result, 1 on the last one's: the last error's kind without its text as a label.
        for r in results {
            Gauge(label: "vrfc_last_reconcile_result", dimensions: [("result", r.rawValue)]).record(r == outcome.result ? 1.0 : 0.0)
        }
        if let error = outcome.error, let first = error.split(separator: "\n").first {
            // The last error's first line (its file:line and what is wrong), as an info series.
            let text = first.count > errorLength ? String(first.prefix(errorLength)) + "…" : String(first)
            let labels = [outcome.result.rawValue, trigger.rawValue, text]
            let gauge = Gauge(label: "vrfc_last_error_info", dimensions: zip(["result", "trigger", "error"], labels).map { ($0, $1) })
            lastError.withLock { last in
                // The previous error's series goes (unless it is this one again).
                if let last, last.labels != labels { last.gauge.destroy() }
                last = (labels, gauge)
            }
            gauge.record(1)
            Gauge(label: "vrfc_last_error_timestamp_seconds").record(now)
        }
    }

    /// An FRR reload of the full reconcile.
    static func record(_ reload: ReloadRecord) {
        Counter(
            label: "vrfc_reloads_total",
            dimensions: [
                ("strategy", reload.strategy.rawValue),
                ("result", reload.verified ? "ok" : "rolled_back"),
            ]
        ).increment()
        for s in strategies {
            Gauge(label: "vrfc_last_reload_strategy", dimensions: [("strategy", s.rawValue)]).record(s == reload.strategy ? 1.0 : 0.0)
        }
        Gauge(label: "vrfc_last_reload_duration_seconds").record(reload.seconds)
        Gauge(label: "vrfc_last_reload_timestamp_seconds").record(Date().timeIntervalSince1970)
    }
}
