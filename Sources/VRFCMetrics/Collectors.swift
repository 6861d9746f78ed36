import Foundation
import Prometheus
import VRFCApply
import VRFCBPF
import VRFCHealth
import VRFCModel
import VRFCNetlink

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
                    let labels = [
                        ("vrf", vrf), ("afi_safi", family), ("peer", peer),
                        ("peer_as", (p["remoteAs"] as? NSNumber)?.stringValue ?? ""),
                    ]
                    r.makeGauge(
                        name: "frr_bgp_peer_state", labels: labels,
                        help: "BGP session state: 1 Established, 2 administratively down, 0 any other state."
                    )
                    .set(to: Self.stateValue(p["state"] as? String ?? ""))
                    r.makeGauge(
                        name: "frr_bgp_peer_uptime_seconds", labels: labels,
                        help: "Seconds since the session was last Established (0 when down)."
                    )
                    .set(to: number(p["peerUptimeMsec"]) / 1000)
                    r.makeGauge(
                        name: "frr_bgp_peer_prefixes_received", labels: labels,
                        help: "Prefixes received from the peer (pfxRcd)."
                    ).set(to: number(p["pfxRcd"]))
                    r.makeGauge(
                        name: "frr_bgp_peer_prefixes_sent", labels: labels,
                        help: "Prefixes sent to the peer (pfxSnt)."
                    ).set(to: number(p["pfxSnt"]))
                    r.makeCounter(
                        name: "frr_bgp_peer_messages_received_total", labels: labels,
                        help: "BGP messages received from the peer (msgRcvd)."
                    ).increment(by: Int64(number(p["msgRcvd"])))
                    r.makeCounter(
                        name: "frr_bgp_peer_messages_sent_total", labels: labels,
                        help: "BGP messages sent to the peer (msgSent)."
                    ).increment(by: Int64(number(p["msgSent"])))
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

    /// VRF name → summary. FRR prints one object keyed by VRF, or the bare
    /// summary when only the default VRF exists, or (8.4 with VRFs) one bare
    /// summary per VRF back to back, without names: then `names` is asked
    /// for the VRFs' names in that order (the plain-text summary's block
    /// headers), and each block's total must match its object's.
    static func summaries(_ text: String, names: () throws -> [(vrf: String, total: Int)]) throws -> [String: [String: Any]] {
        let objects = try JSONObjects.split(text)
        if objects.count == 1 {
            if objects[0]["routesTotal"] != nil { return ["default": objects[0]] }
            return objects[0].compactMapValues { $0 as? [String: Any] }
        }
        let blocks = try names()
        guard blocks.count == objects.count else {
            throw CollectorFailure(
                "FRR printed \(objects.count) unnamed route summaries but \(blocks.count) VRF blocks in the text summary; not guessing which is which"
            )
        }
        var out: [String: [String: Any]] = [:]
        for (block, object) in zip(blocks, objects) {
            guard Int(number(object["routesTotal"])) == block.total else {
                throw CollectorFailure("the route summaries changed between the JSON and the text call (VRF \(block.vrf)); not guessing")
            }
            out[block.vrf] = object
        }
        return out
    }

    /// The plain-text summary's blocks: a header `Route Source ... (vrf NAME)`
    /// and a `Totals RIB FIB` line each.
    static func textBlocks(_ text: String) throws -> [(vrf: String, total: Int)] {
        var blocks: [(String, Int)] = []
        var current: String?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Route Source"), let open = line.range(of: "(vrf ", options: .backwards), line.hasSuffix(")") {
                current = String(line[open.upperBound..<line.index(before: line.endIndex)])
            } else if line.hasPrefix("Totals"), let vrf = current {
                let fields = line.split(separator: " ")
                guard fields.count >= 2, let total = Int(fields[1]) else {
                    throw CollectorFailure("unreadable totals line in the route summary: \(line.prefix(80).debugDescription)")
                }
                blocks.append((vrf, total))
                current = nil
            }
        }
        return blocks
    }

    public func collect(into r: PrometheusCollectorRegistry) throws {
        // Both families side by side: each may take two vtysh calls.
        let families = [("ipv4", "ip"), ("ipv6", "ipv6")]
        let read = FamilySlots()
        sideBySide(families.count) { i in
            let command = "show \(families[i].1) route vrf all summary"
            let result = Result { () throws -> [String: [String: Any]] in
                let text = try vtysh.show(command + " json", daemon: "zebra")
                return try Self.summaries(text) { try Self.textBlocks(vtysh.show(command, daemon: "zebra")) }
            }
            read.set(i, result)
        }
        for (i, (family, _)) in families.enumerated() {
            let summaries = try read.get(i)
            for (vrf, summary) in summaries.sorted(by: { $0.key < $1.key }) {
                for route in summary["routes"] as? [[String: Any]] ?? [] {
                    let labels = [("vrf", vrf), ("family", family), ("protocol", route["type"] as? String ?? "")]
                    r.makeGauge(name: "frr_route_rib", labels: labels, help: "Routes in zebra's RIB per VRF, family and protocol.")
                        .set(to: number(route["rib"]))
                    r.makeGauge(
                        name: "frr_route_fib", labels: labels, help: "Routes installed in the kernel (FIB) per VRF, family and protocol."
                    )
                    .set(to: number(route["fib"]))
                }
                r.makeGauge(
                    name: "frr_route_total", labels: [("vrf", vrf), ("family", family)], help: "Routes in zebra's RIB per VRF and family."
                )
                .set(to: number(summary["routesTotal"]))
            }
        }
    }
}

/// The two families' summaries, filled from two threads.
final class FamilySlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Int: Result<[String: [String: Any]], any Error>] = [:]
    func set(_ i: Int, _ r: Result<[String: [String: Any]], any Error>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) throws -> [String: [String: Any]] { try lock.withLock { slots[i] }!.get() }
}

/// JSON objects printed back to back (FRR 8.4 does so for some `vrf all` views).
enum JSONObjects {
    static func split(_ text: String) throws -> [[String: Any]] {
        let bytes = Array(text.utf8)
        let split = bytes.withUnsafeBufferPointer { b in
            Result { () throws(JSONSplitter.Failure) in try JSONSplitter.values(in: b, commas: false) }
        }
        let ranges: [Range<Int>]
        switch split {
        case .success(let r): ranges = r
        case .failure(.unbalanced): throw CollectorFailure("unbalanced JSON from FRR")
        case .failure(.unexpected): throw CollectorFailure("FRR printed text outside JSON: \(text.prefix(80).debugDescription)")
        case .failure(.unterminated): throw CollectorFailure("FRR printed no complete JSON object: \(text.prefix(80).debugDescription)")
        }
        guard !ranges.isEmpty else { throw CollectorFailure("FRR printed no complete JSON object: \(text.prefix(80).debugDescription)") }
        return try ranges.map { r in
            guard let o = try? JSONSerialization.jsonObject(with: Data(bytes[r])) as? [String: Any] else {
                throw CollectorFailure(
                    "FRR printed something that is not a JSON object: \(String(decoding: bytes[r].prefix(81), as: UTF8.self).debugDescription)"
                )
            }
            return o
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
            // L2 VNIs name their VRF `vrf`, L3 VNIs `tenantVrf` (FRR 8.4).
            let labels = [
                ("vni", key), ("type", v["type"] as? String ?? ""), ("vrf", v["vrf"] as? String ?? v["tenantVrf"] as? String ?? ""),
                ("vxlan_if", v["vxlanIf"] as? String ?? ""),
            ]
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
        counters(
            r, stats.outcomes, prefix: "vrfc_router", label: "outcome",
            help: ("Packets the tc router handled, per outcome.", "Bytes the tc router handled, per outcome."))
        counters(
            r, stats.fibResults, prefix: "vrfc_router_fib", label: "result",
            help: ("The tc router's FIB lookups, per result (packets).", "The tc router's FIB lookups, per result (bytes)."))
    }

    /// A packets and a bytes counter (`PREFIX_packets_total`,
    /// `PREFIX_bytes_total`) per row, labelled with the row's name.
    func counters(
        _ r: PrometheusCollectorRegistry, _ rows: [RouterStats.Row], prefix: String, label: String,
        help: (packets: String, bytes: String)
    ) {
        for row in rows {
            r.makeCounter(name: prefix + "_packets_total", labels: [(label, row.name)], help: help.packets)
                .increment(by: Int64(clamping: row.packets))
            r.makeCounter(name: prefix + "_bytes_total", labels: [(label, row.name)], help: help.bytes)
                .increment(by: Int64(clamping: row.bytes))
        }
    }
}

/// The links vrfc owns in the namespace (its names and its marker), per
/// kind, and how many of them are up: read from the kernel at each scrape.
public struct LinksCollector: MetricsCollector {
    public let name = "links"
    public init() {}

    /// The kinds vrfc makes, always listed (0 when there are none).
    static let kinds = ["vrf", "bridge", "vxlan", "veth"]

    public func collect(into r: PrometheusCollectorRegistry) throws {
        let links: [Link]
        do { links = try NetlinkSocket().links() } catch { throw CollectorFailure("cannot read the links: \(error)") }
        var owned: [String: Int] = [:]
        var up: [String: Int] = [:]
        for kind in Self.kinds {
            owned[kind] = 0
            up[kind] = 0
        }
        for link in links where Ownership.isMarked(link.alias) && Ownership.hasOwnedPrefix(link.name) {
            let kind = link.kind ?? "other"
            owned[kind, default: 0] += 1
            up[kind, default: 0] += link.isUp ? 1 : 0
        }
        for kind in owned.keys.sorted() {
            r.makeGauge(
                name: "vrfc_links_owned", labels: [("kind", kind)],
                help: "Links vrfc owns (its names and marker), per kind."
            ).set(to: Double(owned[kind]!))
            r.makeGauge(
                name: "vrfc_links_owned_up", labels: [("kind", kind)],
                help: "Links vrfc owns that are administratively up, per kind."
            ).set(to: Double(up[kind]!))
        }
    }
}

func number(_ any: Any?) -> Double { (any as? NSNumber)?.doubleValue ?? 0 }
