import Foundation
import VRFCFRR
import VRFCModel

/// Checks FRR's own views of a loaded config against what the IR asks for.
/// Expectations are derived from the IR, never from the generated text, so
/// a template bug cannot hide behind its own output.
public enum OracleExpectations {
    public static func verify(_ ir: NodeIR, in frr: FRRInstance) throws -> [String] {
        var problems: [String] = []
        let running = try frr.show("show running-config")
        let runningLines = Set(running.split(separator: "\n").map(String.init))
        // One query per view: FRR answers for every list and map at once.
        let lists4 = try frr.showJSON("show ip prefix-list json")["BGP"] as? [String: Any] ?? [:]
        let lists6 = try frr.showJSON("show ipv6 prefix-list json")["BGP"] as? [String: Any] ?? [:]
        let maps = try frr.showJSON("show route-map json")["BGP"] as? [String: Any] ?? [:]

        for vrf in ir.vrfs {
            for dir in VRFNames.Direction.allCases {
                let entries = dir == .import ? vrf.imports : vrf.exports
                for family in AddressFamily.allCases {
                    let mapName = VRFNames(vrf.name).routeMap(family, dir)
                    let rules = routeMapRules(maps[mapName])
                    // An undefined map is a no-op under `call`, i.e. permits
                    // everything: every map of a VRF a CR names must exist,
                    // and one without entries denies with a match-less entry.
                    if maps[mapName] == nil {
                        problems.append("\(mapName) is not defined (a base config's `call \(mapName)` would permit everything)")
                    } else if !entries.contains(where: { !$0.items(family).isEmpty }),
                        rules[65535] != Rule(type: "deny", match: [], set: [])
                    {
                        problems.append("\(mapName) has no entries but no match-less deny 65535: FRR has \(rules)")
                    }
                    if dir == .export {
                        if let first = rules[1] {
                            if first.type != "deny" || first.match != ["tag 20000"] {
                                problems.append("\(mapName) 1: expected deny / match tag 20000, FRR has \(first)")
                            }
                        } else {
                            problems.append("\(mapName): entry 1 (deny, match tag 20000) is missing")
                        }
                    }
                    for entry in entries where !entry.items(family).isEmpty {
                        let list = VRFNames(vrf.name).prefixList(seq: entry.seq, family, dir)
                        let expected = entry.items(family).map(PrefixEntry.init)
                        let actual = prefixListEntries((family == .ipv4 ? lists4 : lists6)[list])
                        if actual != expected {
                            problems.append("prefix-list \(list): expected \(expected), FRR has \(actual)")
                        }
                        let matchWord = family == .ipv4 ? "ip" : "ipv6"
                        let expectedRule = Rule(
                            type: "permit", match: ["\(matchWord) address prefix-list \(list)"],
                            set: entry.community.map { ["community \($0.value)"] } ?? [])
                        if rules[entry.routeMapSeq] != expectedRule {
                            problems.append(
                                "\(mapName) \(entry.routeMapSeq): expected \(expectedRule), FRR has \(String(describing: rules[entry.routeMapSeq]))"
                            )
                        }
                    }
                }
            }
            guard vrf.kind == .full, let vni = vrf.vni else { continue }
            var lines = [
                "vrf vr.\(vrf.name)", " vni \(vni)", "router bgp \(ir.asn) vrf vr.\(vrf.name)",
                " neighbor vd.\(vrf.name) interface remote-as internal",
                " neighbor dv.\(vrf.name) interface remote-as internal",
            ]
            if let rt = vrf.routeTarget { lines += ["  route-target import \(rt)", "  route-target export \(rt)"] }
            lines += vrf.aggregates.map { "  aggregate-address \($0)" }
            for line in lines where !runningLines.contains(line) {
                problems.append("running-config lacks '\(line)' for VRF \(vrf.name)")
            }
            // The VRF instance: no duplicate-update suppression, and the
            // AS-path loop check on vd. (no allowas-in there; only dv. has it).
            let instance = block(running, "router bgp \(ir.asn) vrf vr.\(vrf.name)")
            if !instance.contains(" no bgp suppress-duplicates") {
                problems.append("router bgp \(ir.asn) vrf vr.\(vrf.name) lacks 'no bgp suppress-duplicates'")
            }
            if instance.contains(where: { $0.contains("neighbor vd.\(vrf.name) allowas-in") }) {
                problems.append("router bgp \(ir.asn) vrf vr.\(vrf.name) has allowas-in on vd.\(vrf.name)")
            }
            if !runningLines.contains("  neighbor dv.\(vrf.name) allowas-in origin") {
                problems.append("the default instance lacks 'neighbor dv.\(vrf.name) allowas-in origin'")
            }
        }
        return problems
    }

    /// The lines of the top-level block that `header` opens, up to its `exit`.
    static func block(_ running: String, _ header: String) -> [String] {
        var out: [String] = []
        var inside = false
        for line in running.split(separator: "\n") {
            if inside {
                if line == "exit" { break }
                out.append(String(line))
            } else if line == header {
                inside = true
            }
        }
        return out
    }

    public struct PrefixEntry: Equatable, CustomStringConvertible {
        var seq: UInt64, type: String, prefix: String, ge: Int?, le: Int?

        init(seq: UInt64, type: String, prefix: String, ge: Int?, le: Int?) {
            (self.seq, self.type, self.prefix, self.ge, self.le) = (seq, type, prefix, ge, le)
        }

        init(_ item: PrefixItem) {
            self.init(seq: UInt64(item.seq), type: item.action.rawValue, prefix: item.prefix.description, ge: item.ge, le: item.le)
        }

        public var description: String { "seq \(seq) \(type) \(prefix)\(ge.map { " ge \($0)" } ?? "")\(le.map { " le \($0)" } ?? "")" }
    }

    public struct Rule: Equatable, CustomStringConvertible {
        var type: String, match: [String], set: [String]
        public var description: String { "\(type) match \(match) set \(set)" }
    }

    static func prefixListEntries(_ json: Any?) -> [PrefixEntry] {
        guard let entries = (json as? [String: Any])?["entries"] as? [[String: Any]] else { return [] }
        return entries.map { e in
            PrefixEntry(
                seq: (e["sequenceNumber"] as? NSNumber)?.uint64Value ?? 0, type: e["type"] as? String ?? "",
                prefix: e["prefix"] as? String ?? "",
                ge: (e["minimumPrefixLength"] as? NSNumber)?.intValue, le: (e["maximumPrefixLength"] as? NSNumber)?.intValue)
        }
    }

    static func routeMapRules(_ json: Any?) -> [Int: Rule] {
        guard let rules = (json as? [String: Any])?["rules"] as? [[String: Any]] else { return [:] }
        var out: [Int: Rule] = [:]
        for r in rules {
            out[(r["sequenceNumber"] as? NSNumber)?.intValue ?? -1] = Rule(
                type: r["type"] as? String ?? "", match: r["matchClauses"] as? [String] ?? [], set: r["setClauses"] as? [String] ?? [])
        }
        return out
    }
}
