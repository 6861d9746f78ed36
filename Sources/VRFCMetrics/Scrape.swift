import Foundation
import Prometheus
import Synchronization

/// One collector's part of a scrape: its families in Prometheus' text
/// format, how long it took, and why it failed. The unit both sides of the
/// privilege boundary produce.
public struct Section: Codable, Sendable, Equatable {
    public var collector: String
    public var seconds: Double
    /// nil when the collector succeeded.
    public var error: String?
    /// Its families (empty when it failed).
    public var exposition: String

    public init(collector: String, seconds: Double, error: String?, exposition: String) {
        self.collector = collector
        self.seconds = seconds
        self.error = error
        self.exposition = exposition
    }

    public var ok: Bool { error == nil }

    /// Runs one collector into a fresh registry (so the series of a peer or
    /// VNI that is gone disappear with it), timed.
    public static func run(_ c: any MetricsCollector) -> Section {
        let registry = PrometheusCollectorRegistry()
        let start = ContinuousClock.now
        var failure: String?
        do { try c.collect(into: registry) } catch { failure = "\(error)" }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Section(
            collector: c.name, seconds: seconds, error: failure,
            exposition: failure == nil ? registry.emitToString() : "")
    }

    /// Every collector side by side (FRR's mostly wait on vtysh), in their order.
    public static func runAll(_ collectors: [any MetricsCollector]) -> [Section] {
        let slots = Mutex<[Section?]>(Array(repeating: nil, count: collectors.count))
        sideBySide(collectors.count) { i in
            let s = run(collectors[i])
            slots.withLock { $0[i] = s }
        }
        return slots.withLock { $0.compactMap { $0 } }
    }
}

/// One scrape, as the exporter serves it: its own collectors (FRR through
/// read-only vtysh) and, asked at the same time, the privileged side's
/// sections (the tc router's maps, the links) and the agent's families.
/// One collector failing never fails another.
public struct Scrape: Sendable {
    public let collectors: [any MetricsCollector]
    public let privileged: PrivilegedClient?

    public init(collectors: [any MetricsCollector], privileged: PrivilegedClient? = nil) {
        self.collectors = collectors
        self.privileged = privileged
    }

    public func exposition() -> [UInt8] {
        let collectors = self.collectors
        let privileged = self.privileged
        let remote = Mutex<PrivilegedReply?>(nil)
        let local = Mutex<[Section]>([])
        sideBySide(2) { i in
            if i == 0 {
                let sections = Section.runAll(collectors)
                local.withLock { $0 = sections }
            } else if let privileged {
                let reply = privileged.fetch()
                remote.withLock { $0 = reply }
            }
        }
        let reply = remote.withLock { $0 }
        return Self.render(local.withLock { $0 } + (reply?.sections ?? []), persistent: reply?.persistent ?? "")
    }

    /// The sections in order, the families kept across scrapes, then each
    /// collector's duration and success. Failures are reported on stderr.
    public static func render(_ sections: [Section], persistent: String) -> [UInt8] {
        var buffer: [UInt8] = []
        for s in sections { buffer += Array(s.exposition.utf8) }
        buffer += Array(persistent.utf8)
        let registry = PrometheusCollectorRegistry()
        for s in sections {
            registry.makeGauge(
                name: "vrfc_scrape_collector_duration_seconds", labels: [("collector", s.collector)],
                help: "How long the collector took in this scrape."
            ).set(to: s.seconds)
            registry.makeGauge(
                name: "vrfc_scrape_collector_success", labels: [("collector", s.collector)],
                help: "1 when the collector succeeded in this scrape, else 0."
            ).set(to: s.ok ? 1.0 : 0.0)
        }
        registry.emit(into: &buffer)
        for s in sections {
            if let error = s.error { FileHandle.standardError.write(Data("vrfc-metrics: collector \(s.collector): \(error)\n".utf8)) }
        }
        return buffer
    }
}

/// Runs `body(0..<count)` each on a thread of its own and waits for all.
/// The work mostly waits (on vtysh, on the privileged side), so it is not
/// bounded by the cores as `concurrentPerform` is: nested inside another
/// `concurrentPerform` that one ran its parts one after another on 2 cores.
func sideBySide(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1 else {
        if count == 1 { body(0) }
        return
    }
    let done = DispatchSemaphore(value: 0)
    for i in 1..<count {
        Thread {
            body(i)
            done.signal()
        }.start()
    }
    body(0)
    for _ in 1..<count { done.wait() }
}
