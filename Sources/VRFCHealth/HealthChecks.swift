import Foundation
import VRFCApply
import VRFCModel
import VRFCNetlink

/// One line of the health table.
public struct CheckResult: Codable, Equatable, Sendable {
    /// `frr:zebra`, `interface:eth0`, `link:vr.red`, `tcp:192.0.2.1:80`, `bgp:red/dv.red`, ...
    public var name: String
    public var ok: Bool
    public var detail: String
    public init(name: String, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// What `vrfc-apply health` checks, besides the config file's lists.
public struct HealthOptions: Sendable {
    public var config: HealthConfig
    /// false in bpf-only mode: no FRR daemons, no BGP sessions.
    public var frr: Bool
    /// Also require every other BGP session (the fabric's peers) to be Established.
    public var fabric: Bool
    public var vtysh: Vtysh

    public init(config: HealthConfig, frr: Bool = true, fabric: Bool = false, vtysh: Vtysh = Vtysh()) {
        self.config = config
        self.frr = frr
        self.fabric = fabric
        self.vtysh = vtysh
    }
}

/// The checks themselves. Each failure names its reason; one failing check
/// never stops the others.
public enum HealthChecks {
    /// IFF_LOWER_UP (linux/if.h): the link has carrier.
    static let lowerUp: UInt32 = 1 << 16

    /// All checks, in table order. `links` reads the namespace's links.
    public static func run(_ options: HealthOptions, links: () throws -> [Link]) -> [CheckResult] {
        var results: [CheckResult] = []
        let read = Result { try links() }
        if options.frr {
            results += frr(options)
            if case .success(let all) = read { results += vnis(options, links: all) }
        }
        results += interfaces(options.config.interfaces, links: { try read.get() })
        for endpoint in options.config.reachability {
            results.append(reach(endpoint, timeout: options.config.timeout, retries: options.config.retries))
        }
        return results
    }

    /// zebra and bgpd answer, and the BGP sessions vrfc's config defines
    /// (its `dv.`/`vd.` pairs; with `fabric`, every session) are Established.
    static func frr(_ options: HealthOptions) -> [CheckResult] {
        var results: [CheckResult] = []
        do {
            _ = try options.vtysh.show("show zebra", daemon: "zebra")
            results.append(.init(name: "frr:zebra", ok: true, detail: "answers"))
        } catch {
            results.append(.init(name: "frr:zebra", ok: false, detail: error.description))
        }
        let summary: [String: Any]
        do {
            summary = try options.vtysh.showJSON("show bgp vrf all summary json", daemon: "bgpd")
            results.append(.init(name: "frr:bgpd", ok: true, detail: "answers"))
        } catch {
            results.append(.init(name: "frr:bgpd", ok: false, detail: error.description))
            return results
        }
        for session in BGPSessions.parse(summary) where options.fabric || session.isVRFCLink {
            let ok = session.state == "Established"
            results.append(
                .init(
                    name: "bgp:\(session.vrf)/\(session.peer)", ok: ok,
                    detail: ok ? "Established" : "state \(session.state)"))
        }
        return results
    }

    /// Each VRF's L3 VNI is known to zebra: for every VXLAN link vrfc owns
    /// whose bridge is enslaved to a VRF device, zebra's `show vrf vni json`
    /// must list that VRF with the link's VNI, and its state must be Up.
    static func vnis(_ options: HealthOptions, links: [Link]) -> [CheckResult] {
        let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        var wanted: [(vrf: String, vni: UInt32, vxlan: String)] = []
        for link in links where Ownership.isMarked(link.alias) && Ownership.hasOwnedPrefix(link.name) {
            guard let vni = link.vxlan?.vni, let bridge = link.masterIndex.flatMap({ byIndex[$0] }),
                let vrf = bridge.masterIndex.flatMap({ byIndex[$0] }), vrf.kind == "vrf"
            else { continue }
            wanted.append((vrf.name, vni, link.name))
        }
        guard !wanted.isEmpty else { return [] }
        let known: [String: (vni: Int, state: String)]
        do {
            let text = try options.vtysh.show("show vrf vni json", daemon: "zebra")
            known = VRFVNIs.parse(text)
        } catch {
            return wanted.sorted { $0.vrf < $1.vrf }.map { .init(name: "vni:\($0.vrf)", ok: false, detail: error.description) }
        }
        return wanted.sorted { $0.vrf < $1.vrf }.map { w in
            let name = "vni:\(w.vrf)"
            guard let k = known[w.vrf], k.vni != 0 else {
                return .init(
                    name: name, ok: false, detail: "zebra does not know VNI \(w.vni) (\(w.vxlan)): \(w.vrf) has no L3 VNI in 'show vrf vni'"
                )
            }
            guard k.vni == Int(w.vni) else {
                return .init(name: name, ok: false, detail: "zebra has VNI \(k.vni) for \(w.vrf), the kernel's \(w.vxlan) carries \(w.vni)")
            }
            return .init(name: name, ok: k.state == "Up", detail: "VNI \(w.vni), state \(k.state)")
        }
    }

    /// Listed interfaces must be up with carrier; vrfc's own links (its
    /// names and marker) must be administratively up.
    static func interfaces(_ names: [String], links: () throws -> [Link]) -> [CheckResult] {
        let all: [Link]
        do { all = try links() } catch {
            return [.init(name: "links", ok: false, detail: "cannot read the links: \(error)")]
        }
        var results: [CheckResult] = []
        let byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in names {
            guard let link = byName[name] else {
                results.append(.init(name: "interface:\(name)", ok: false, detail: "no such interface"))
                continue
            }
            let carrier = link.flags & lowerUp != 0
            let ok = link.isUp && carrier
            results.append(
                .init(
                    name: "interface:\(name)", ok: ok,
                    detail: !link.isUp ? "down" : (carrier ? "up" : "up, no carrier")))
        }
        let listed = Set(names)
        for link in all.sorted(by: { $0.name < $1.name })
        where Ownership.isMarked(link.alias) && Ownership.hasOwnedPrefix(link.name) && !listed.contains(link.name) {
            results.append(.init(name: "link:\(link.name)", ok: link.isUp, detail: link.isUp ? "up" : "down"))
        }
        return results
    }

    /// At most `retries` connects of `timeout` each; the first success passes.
    static func reach(_ endpoint: HealthConfig.Endpoint, timeout: Double, retries: Int) -> CheckResult {
        let name = "tcp:\(endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host):\(endpoint.port)"
        var why = ""
        for attempt in 1...retries {
            guard let error = TCPProbe.connect(host: endpoint.host, port: endpoint.port, timeout: timeout) else {
                return .init(name: name, ok: true, detail: attempt == 1 ? "connected" : "connected on try \(attempt)")
            }
            why = error
            // A refused connect returns at once: pace the tries a little.
            if attempt < retries { usleep(100_000) }
        }
        return .init(name: name, ok: false, detail: "\(retries) \(retries == 1 ? "try" : "tries") failed, last: \(why)")
    }
}

/// A BGP session from `show bgp vrf all summary json`.
struct BGPSession: Equatable {
    var vrf: String
    var peer: String
    var state: String
    /// A session over one of vrfc's veth ends (`dv.<vrf>` / `vd.<vrf>`).
    var isVRFCLink: Bool { StackLink(prefixOf: peer)?.kind == .veth }
}

enum BGPSessions {
    /// One session per VRF and peer, over all address families it is active in.
    static func parse(_ summary: [String: Any]) -> [BGPSession] {
        var sessions: [String: BGPSession] = [:]
        for (vrf, value) in summary {
            guard let families = value as? [String: Any] else { continue }
            for (_, family) in families {
                guard let peers = (family as? [String: Any])?["peers"] as? [String: Any] else { continue }
                for (peer, info) in peers {
                    let state = ((info as? [String: Any])?["state"] as? String) ?? "unknown"
                    let key = "\(vrf)/\(peer)"
                    // A session is as good as its worst family reports.
                    if let old = sessions[key], old.state != "Established" { continue }
                    sessions[key] = BGPSession(vrf: vrf, peer: peer, state: state)
                }
            }
        }
        return sessions.values.sorted { ($0.vrf, $0.peer) < ($1.vrf, $1.peer) }
    }
}

/// zebra's `show vrf vni json`: `{"vrfs": [{"vrf": NAME, "vni": N, "state": "Up", ...}]}`.
enum VRFVNIs {
    static func parse(_ text: String) -> [String: (vni: Int, state: String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let vrfs = object["vrfs"] as? [[String: Any]]
        else { return [:] }
        var out: [String: (vni: Int, state: String)] = [:]
        for v in vrfs {
            if let name = v["vrf"] as? String, let vni = v["vni"] as? Int { out[name] = (vni, v["state"] as? String ?? "unknown") }
        }
        return out
    }
}
