import Foundation
import VRFCBundle

/// The delta's cheaper checks: what makes a full `vtysh --dryrun` of the
/// new file and a full `show running-config` unnecessary when FRR gets a
/// delta, and the targeted verification that replaces the latter.
extension FRRCheck {
    /// Every command of the new file is a command of the file FRR runs (which
    /// passed `vtysh --dryrun` before it was written and FRR has been
    /// verified to run) or a line the delta sends under the same block
    /// headers. When this holds and the delta passes `vtysh --dryrun`, every
    /// line of the new file has been checked in its block, so the new file
    /// passes too; the whole-file dry run is then redundant. Returns the
    /// first commands that are not covered (empty: covered).
    public static func uncovered(newConfig: FRRConfigTree, running: FRRConfigTree, script: String) -> [String] {
        let sent = FRRConfigTree(script).keys
        // The two files are renders of one template and mostly the same
        // lines in the same order: walk them side by side (a few lines'
        // lookahead over what the delta removed) and look a command up in
        // the whole kept file only where that loses track.
        let old = running.entries
        var j = 0
        var known: Set<FRRConfigTree.Key>? = nil
        var out: [String] = []
        for e in newConfig.entries {
            if let k = (j..<min(j + 8, old.count)).first(where: { old[$0].text == e.text && old[$0].path == e.path }) {
                j = k + 1
                continue
            }
            let key = e.key
            if sent.contains(key) { continue }
            if known == nil { known = running.keys }
            if known!.contains(key) { continue }
            out.append(describe(key))
            if out.count >= 3 { break }
        }
        return out
    }

    /// What a delta touches when it touches prefix-lists and route-maps only
    /// (a prefix, an action, a community: the common change), which FRR
    /// shows one by one. nil when it touches anything else (a VRF, a BGP
    /// instance), which only the whole running config shows.
    public struct PolicyTargets: Sendable, Equatable {
        /// `ip prefix-list NAME` / `ipv6 prefix-list NAME`.
        public var prefixLists: Set<String> = []
        /// Route-map names.
        public var routeMaps: Set<String> = []

        public init(prefixLists: Set<String> = [], routeMaps: Set<String> = []) {
            self.prefixLists = prefixLists
            self.routeMaps = routeMaps
        }
    }

    public static func policyTargets(_ script: String) -> PolicyTargets? {
        var t = PolicyTargets()
        for e in FRRConfigTree(script).entries {
            let text = e.text.hasPrefix("no ") ? String(e.text.dropFirst(3)) : e.text
            let words = text.split(separator: " ", omittingEmptySubsequences: true)
            if e.path.isEmpty {
                if (words.first == "ip" || words.first == "ipv6") && words.count >= 3 && words[1] == "prefix-list" {
                    t.prefixLists.insert(words[0...2].joined(separator: " "))
                } else if words.first == "route-map" && words.count >= 2 {
                    t.routeMaps.insert(String(words[1]))
                } else {
                    return nil
                }
            } else if e.path.count == 1, e.path[0].hasPrefix("route-map "),
                let w = words.first, w == "match" || w == "set" || w == "call"
            {
                continue
            } else {
                return nil
            }
        }
        return t.prefixLists.isEmpty && t.routeMaps.isEmpty ? nil : t
    }

    /// The `show` commands that print the targets, as JSON.
    public static func showCommands(_ t: PolicyTargets) -> [String] {
        t.prefixLists.sorted().map { "show \($0) json" } + t.routeMaps.sorted().map { "show route-map \($0) json" }
    }

    /// The targets' commands as FRR runs them, rebuilt from each daemon's
    /// JSON answers to `showCommands` (as config lines under their block
    /// headers, the way `show running-config` prints them). The daemons'
    /// views are joined as vtysh joins their running configs.
    public static func running(policyAnswers answers: [[String: Any]]) -> Set<FRRConfigTree.Key> {
        var keys = Set<FRRConfigTree.Key>()
        for obj in answers {
            // {"BGP": {NAME: {...}}} per daemon, or {NAME: {...}} without the daemon level.
            let perDaemon = obj.values.allSatisfy { ($0 as? [String: Any])?.values.allSatisfy { $0 is [String: Any] } ?? false }
            let tables = perDaemon ? obj.values.compactMap { $0 as? [String: Any] } : [obj]
            for table in tables {
                for (name, value) in table {
                    guard let v = value as? [String: Any] else { continue }
                    if let entries = v["entries"] as? [[String: Any]] {
                        let family = (v["addressFamily"] as? String) == "IPv6" ? "ipv6" : "ip"
                        for e in entries {
                            guard let seq = e["sequenceNumber"] as? Int, let type = e["type"] as? String,
                                let prefix = e["prefix"] as? String
                            else { continue }
                            var line = "\(family) prefix-list \(name) seq \(seq) \(type) \(prefix)"
                            if let ge = e["minimumPrefixLength"] as? Int { line += " ge \(ge)" }
                            if let le = e["maximumPrefixLength"] as? Int { line += " le \(le)" }
                            keys.insert(.init(path: [], text: line))
                        }
                    } else if let rules = v["rules"] as? [[String: Any]] {
                        for r in rules {
                            guard let seq = r["sequenceNumber"] as? Int, let type = r["type"] as? String else { continue }
                            let header = "route-map \(name) \(type) \(seq)"
                            keys.insert(.init(path: [], text: header))
                            for m in r["matchClauses"] as? [String] ?? [] { keys.insert(.init(path: [header], text: "match " + m)) }
                            for s in r["setClauses"] as? [String] ?? [] { keys.insert(.init(path: [header], text: "set " + s)) }
                            if let c = r["callClause"] as? String, !c.isEmpty { keys.insert(.init(path: [header], text: "call " + c)) }
                        }
                    }
                }
            }
        }
        return keys
    }

    /// The verification of `verify`, limited to the targets: every command
    /// of the new config in a touched prefix-list or route-map runs, and
    /// none of the previous config's commands there that the new one dropped.
    public static func verify(
        targets t: PolicyTargets, running: Set<FRRConfigTree.Key>, config: FRRConfigTree,
        previous: FRRConfigTree?
    ) -> [String] {
        // Compared by prefix: a large node's file has tens of thousands of
        // lines and a delta few targets.
        let heads = t.prefixLists.map { $0 + " " } + t.routeMaps.map { "route-map " + $0 + " " }
        func touched(_ e: FRRConfigTree.Entry) -> Bool {
            let top = e.path.first ?? e.text
            return heads.contains { top.hasPrefix($0) }
        }
        var problems: [String] = []
        let wanted = config.entries.filter(touched)
        let wantedKeys = Set(wanted.map(\.key))
        for e in wanted where !running.contains(e.key) { problems.append("FRR does not run '\(describe(e.key))'") }
        for e in previous?.entries.filter(touched) ?? [] where !wantedKeys.contains(e.key) && running.contains(e.key) {
            problems.append("FRR still runs '\(describe(e.key))', which the new config removed")
        }
        return problems
    }
}

/// A VRF's removal, verified the same way: what the delta takes away of a
/// VRF (its VNI, its BGP instance, the default instance's neighbor on its
/// `dv.` link, its route-maps and prefix-lists), each asked of the daemon
/// that holds it, instead of the whole running config.
extension FRRCheck {
    public struct RemovalTargets: Sendable, Equatable {
        /// The route-maps and prefix-lists the delta touches.
        public var policy = PolicyTargets()
        /// The VRF devices (`vr.NAME`) whose VNI and BGP instance go.
        public var vrfs: Set<String> = []
        /// Neighbors removed whole from a BGP instance: instance header → names.
        public var neighbors: [String: Set<String>] = [:]

        public init(policy: PolicyTargets = PolicyTargets(), vrfs: Set<String> = [], neighbors: [String: Set<String>] = [:]) {
            self.policy = policy
            self.vrfs = vrfs
            self.neighbors = neighbors
        }
    }

    /// The delta's lines when each is one of: a prefix-list or route-map
    /// line, `vrf vr.X` > `no vni N` or `no vrf vr.X` of a VRF in `leaving`,
    /// `no router bgp ASN vrf vr.X` of one, or a `no neighbor N ...` line in
    /// a BGP instance whose `no neighbor N interface|remote-as ...` the
    /// delta also sends (the neighbor goes whole, so every setting of it
    /// goes). nil for anything else: the whole running config decides.
    public static func removalTargets(_ script: String, leaving: Set<String>) -> RemovalTargets? {
        let devices = Set(leaving.compactMap { $0.hasPrefix("vrf ") ? String($0.dropFirst(4)) : nil })
        guard !devices.isEmpty else { return nil }
        var t = RemovalTargets(vrfs: devices)
        var policyLines: [String] = []
        var neighborLines: [(instance: String, name: String)] = []
        for e in FRRConfigTree(script).entries {
            let words = e.text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let top = e.path.first ?? e.text
            if top.hasPrefix("ip prefix-list ") || top.hasPrefix("ipv6 prefix-list ") || top.hasPrefix("route-map ")
                || top.hasPrefix("no ip prefix-list ") || top.hasPrefix("no ipv6 prefix-list ") || top.hasPrefix("no route-map ")
            {
                if e.path.isEmpty { policyLines.append(e.text) } else { policyLines.append(e.path[0] + "\n " + e.text) }
                continue
            }
            if e.path.isEmpty {
                if e.text.hasPrefix("vrf "), devices.contains(String(e.text.dropFirst(4))) { continue }  // the VNI's block header
                if words.count == 3, words[0] == "no", words[1] == "vrf", devices.contains(words[2]) { continue }
                if words.count == 6, words[0] == "no", words[1] == "router", words[2] == "bgp", words[4] == "vrf",
                    devices.contains(words[5])
                {
                    continue
                }
                if words.count == 3, words[0] == "router", words[1] == "bgp" { continue }  // a block header, entered to remove from it
                return nil
            }
            if e.path.count == 1, e.path[0].hasPrefix("vrf "), devices.contains(String(e.path[0].dropFirst(4))),
                words.count == 3, words[0] == "no", words[1] == "vni"
            {
                continue
            }
            if e.path[0].hasPrefix("router bgp "), !e.path[0].contains(" vrf "), words.count >= 3, words[0] == "no", words[1] == "neighbor"
            {
                if e.path.count == 1 && (words[3...].first == "interface" || words[3...].first == "remote-as") {
                    t.neighbors[e.path[0], default: []].insert(words[2])
                }
                neighborLines.append((e.path[0], words[2]))
                continue
            }
            if e.path.count == 1, e.path[0].hasPrefix("router bgp "), e.text.hasPrefix("address-family ") { continue }
            return nil
        }
        // Every neighbor line belongs to a neighbor that goes whole.
        for l in neighborLines where !(t.neighbors[l.instance]?.contains(l.name) ?? false) { return nil }
        if !policyLines.isEmpty {
            guard let p = policyTargets(policyLines.joined(separator: "\n") + "\n") else { return nil }
            t.policy = p
        }
        return t
    }

    /// zebra's `show vrf`: the VRFs it has, and whether each is active (a
    /// kernel device exists): `vrf NAME id N table T`, or `vrf NAME
    /// inactive (configured)`.
    public static func zebraVRFs(_ text: String) -> [String: Bool] {
        var out: [String: Bool] = [:]
        for line in text.split(separator: "\n") {
            let w = line.split(separator: " ", omittingEmptySubsequences: true)
            if w.count >= 3, w[0] == "vrf" { out[String(w[1])] = w[2] != "inactive" }
        }
        return out
    }

    /// bgpd's `show bgp vrfs json`: the names of its BGP instances.
    public static func bgpInstances(_ answer: [String: Any]?) -> Set<String>? {
        (answer?["vrfs"] as? [String: Any]).map { Set($0.keys) }
    }

    /// bgpd's `show bgp neighbors NAME json` says there is no such neighbor.
    public static func noSuchNeighbor(_ answer: [String: Any]?) -> Bool {
        answer?["bgpNoSuchNeighbor"] as? Bool == true
    }
}
