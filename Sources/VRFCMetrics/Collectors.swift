import Foundation
import Prometheus
import Synchronization
import VRFCBPF
import VRFCHealth

/// One source of metric families. A collector that throws leaves its
/// families out of that scrape; the others are still served.
public protocol MetricsCollector: Sendable {
    /// The `collector` label of the scrape's own families.
    var name: String { get }
    func collect(into registry: PrometheusCollectorRegistry) throws
}

public struct CollectorFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// BGP sessions per VRF, address family and peer, from one
/// `show bgp vrf all summary json` (bgpd).
public struct BGPCollector: MetricsCollector {
    public let name = "frr_bgp"
    let vtysh: Vtysh
    public init(vtysh: Vtysh) { self.vtysh = vtysh }

    /// The operator's exporter's encoding: 1 Established, 2 administratively down, 0 otherwise.
    static func stateValue(_ state: String) -> Double {
        state == "Established" ? 1 : (state.contains("Admin") || state.contains("Shutdown") ? 2 : 0)
    }

    public func collect(into r: PrometheusCollectorRegistry) throws {
        let summary = try vtysh.showJSON("show bgp vrf all summary json", daemon: "bgpd")
        for (vrf, value) in summary.sorted(by: { $0.key < $1.key }) {
            guard let families = value as? [String: Any] else { continue }
            for (family, body) in families.sorted(by: { $0.key < $1.key }) {
                guard let peers = (body as? [String: Any])?["peers"] as? [String: Any] else { continue }
                for (peer, info) in peers.sorted(by: { $0.key < $1.key }) {
                    guard let p = info as? [String: Any] else { continue }
                    let labels = [("vrf", vrf), ("afi_safi", family), ("peer", peer),
                                  ("peer_as", (p["remoteAs"] as? NSNumber)?.stringValue ?? "")]
                    r.makeGauge(name: "frr_bgp_peer_state", labels: labels,
                                help: "BGP session state: 1 Established, 2 administratively down, 0 any other state.")
                        .set(to: Self.stateValue(p["state"] as? String ?? ""))
                    r.makeGauge(name: "frr_bgp_peer_uptime_seconds", labels: labels,
                                help: "Seconds since the session was last Established (0 when down).")
                        .set(to: number(p["peerUptimeMsec"]) / 1000)
                    r.makeGauge(name: "frr_bgp_peer_prefixes_received", labels: labels,
                                help: "Prefixes received from the peer (pfxRcd).").set(to: number(p["pfxRcd"]))
                    r.makeGauge(name: "frr_bgp_peer_prefixes_sent", labels: labels,
                                help: "Prefixes sent to the peer (pfxSnt).").set(to: number(p["pfxSnt"]))
                    r.makeCounter(name: "frr_bgp_peer_messages_received_total", labels: labels,
                                  help: "BGP messages received from the peer (msgRcvd).").increment(by: Int64(number(p["msgRcvd"])))
                    r.makeCounter(name: "frr_bgp_peer_messages_sent_total", labels: labels,
                                  help: "BGP messages sent to the peer (msgSent).").increment(by: Int64(number(p["msgSent"])))
                }
            }
        }
    }
}

/// Routes per VRF, protocol and family from zebra's route summaries, one
/// `show ip route vrf all summary json` and one `show ipv6 ...`.
public struct RouteCollector: MetricsCollector {
    public let name = "frr_route"
    let vtysh: Vtysh
    public init(vtysh: Vtysh) { self.vtysh = vtysh }

    /// VRF name → summary. FRR prints either one object keyed by VRF, or
    /// (with only the default VRF, as 8.4 does) the bare summary.
    static func summaries(_ text: String) throws -> [String: [String: Any]] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw CollectorFailure("the route summary is not one JSON object (FRR printed one per VRF without names?): \(text.prefix(80).debugDescription)")
        }
        if object["routesTotal"] != nil { return ["default": object] }
        return object.compactMapValues { $0 as? [String: Any] }
    }

    public func collect(into r: PrometheusCollectorRegistry) throws {
        for (family, command) in [("ipv4", "show ip route vrf all summary json"), ("ipv6", "show ipv6 route vrf all summary json")] {
            for (vrf, summary) in try Self.summaries(vtysh.show(command, daemon: "zebra")).sorted(by: { $0.key < $1.key }) {
                for route in summary["routes"] as? [[String: Any]] ?? [] {
                    let labels = [("vrf", vrf), ("family", family), ("protocol", route["type"] as? String ?? "")]
                    r.makeGauge(name: "frr_route_rib", labels: labels, help: "Routes in zebra's RIB per VRF, family and protocol.")
                        .set(to: number(route["rib"]))
                    r.makeGauge(name: "frr_route_fib", labels: labels, help: "Routes installed in the kernel (FIB) per VRF, family and protocol.")
                        .set(to: number(route["fib"]))
                }
                r.makeGauge(name: "frr_route_total", labels: [("vrf", vrf), ("family", family)], help: "Routes in zebra's RIB per VRF and family.")
                    .set(to: number(summary["routesTotal"]))
            }
        }
    }
}

/// EVPN VNIs zebra knows, from one `show evpn vni json`.
public struct VNICollector: MetricsCollector {
    public let name = "frr_evpn"
    let vtysh: Vtysh
    public init(vtysh: Vtysh) { self.vtysh = vtysh }

    public func collect(into r: PrometheusCollectorRegistry) throws {
        let text = try vtysh.show("show evpn vni json", daemon: "zebra")
        // zebra prints nothing at all when it has no VNI.
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
        guard let vnis = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw CollectorFailure("`show evpn vni json` did not print a JSON object")
        }
        for (key, value) in vnis.sorted(by: { $0.key < $1.key }) {
            guard let v = value as? [String: Any] else { continue }
            let labels = [("vni", key), ("type", v["type"] as? String ?? ""), ("vrf", v["vrf"] as? String ?? ""),
                          ("vxlan_if", v["vxlanIf"] as? String ?? "")]
            // L3 VNIs carry a state; an L2 VNI zebra lists is known and up.
            let up = (v["state"] as? String).map { $0 == "Up" } ?? true
            r.makeGauge(name: "frr_evpn_vni_up", labels: labels, help: "1 when zebra reports the VNI up, else 0.").set(to: up ? 1.0 : 0.0)
            r.makeGauge(name: "frr_evpn_vni_macs", labels: labels, help: "MACs zebra knows in the VNI.").set(to: number(v["numMacs"]))
        }
    }
}

/// The tc router's counters, summed over CPUs (what `vrfc-apply bpf stats` shows).
public struct RouterCollector: MetricsCollector {
    public let name = "router"
    let pinDirectory: String
    public init(pinDirectory: String) { self.pinDirectory = pinDirectory }

    public func collect(into r: PrometheusCollectorRegistry) throws {
        let stats: RouterStats
        do { stats = try RouterStats.readPinnedOrAttached(pinDirectory: pinDirectory) } catch {
            throw CollectorFailure("\(error)")
        }
        for row in stats.outcomes {
            r.makeCounter(name: "vrfc_router_packets_total", labels: [("outcome", row.name)],
                          help: "Packets the tc router handled, per outcome.").increment(by: Int64(clamping: row.packets))
            r.makeCounter(name: "vrfc_router_bytes_total", labels: [("outcome", row.name)],
                          help: "Bytes the tc router handled, per outcome.").increment(by: Int64(clamping: row.bytes))
        }
        for row in stats.fibResults {
            r.makeCounter(name: "vrfc_router_fib_packets_total", labels: [("result", row.name)],
                          help: "The tc router's FIB lookups, per result (packets).").increment(by: Int64(clamping: row.packets))
            r.makeCounter(name: "vrfc_router_fib_bytes_total", labels: [("result", row.name)],
                          help: "The tc router's FIB lookups, per result (bytes).").increment(by: Int64(clamping: row.bytes))
        }
    }
}

func number(_ any: Any?) -> Double { (any as? NSNumber)?.doubleValue ?? 0 }

/// One scrape: every collector into a fresh registry (so series of peers
/// and VNIs that are gone disappear), each timed, none able to fail another.
public struct Scrape: Sendable {
    public let collectors: [any MetricsCollector]
    /// Metrics that live across scrapes (the agent's own), appended as they are.
    public let persistent: PrometheusCollectorRegistry?

    public init(collectors: [any MetricsCollector], persistent: PrometheusCollectorRegistry? = nil) {
        self.collectors = collectors
        self.persistent = persistent
    }

    public func exposition() -> [UInt8] {
        // Collectors run side by side (FRR's are mostly waiting on vtysh);
        // their output is joined in their fixed order.
        struct Result: Sendable { var bytes: [UInt8] = []; var seconds = 0.0; var failure: String? }
        let slots = Mutex<[Result]>(Array(repeating: Result(), count: collectors.count))
        let collectors = self.collectors
        DispatchQueue.concurrentPerform(iterations: collectors.count) { i in
            let c = collectors[i]
            let registry = PrometheusCollectorRegistry()
            let start = ContinuousClock.now
            var result = Result()
            do { try c.collect(into: registry) } catch { result.failure = "\(error)" }
            let elapsed = ContinuousClock.now - start
            result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if result.failure == nil { registry.emit(into: &result.bytes) }
            slots.withLock { $0[i] = result }
        }
        let results = slots.withLock { $0 }
        var buffer: [UInt8] = []
        var meta: [(String, Double, Bool, String?)] = []
        for (c, r) in zip(collectors, results) {
            buffer += r.bytes
            meta.append((c.name, r.seconds, r.failure == nil, r.failure))
        }
        persistent?.emit(into: &buffer)
        let registry = PrometheusCollectorRegistry()
        for (name, seconds, ok, _) in meta {
            registry.makeGauge(name: "vrfc_scrape_collector_duration_seconds", labels: [("collector", name)],
                               help: "How long the collector took in this scrape.").set(to: seconds)
            registry.makeGauge(name: "vrfc_scrape_collector_success", labels: [("collector", name)],
                               help: "1 when the collector succeeded in this scrape, else 0.").set(to: ok ? 1.0 : 0.0)
        }
        registry.emit(into: &buffer)
        for (name, _, _, error) in meta {
            if let error { FileHandle.standardError.write(Data("vrfc-apply metrics: collector \(name): \(error)\n".utf8)) }
        }
        return buffer
    }
}
