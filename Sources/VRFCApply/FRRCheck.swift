import Foundation
import VRFCBundle

/// The privileged side's checks of FRR text it did not write itself.
public enum FRRCheck {
    /// A delta from the compile may only say what the new file says, or
    /// take back (`no ` + the command) what the file FRR runs says: each
    /// line must be a command of `newConfig`, or `no ` and a command of
    /// `running`, or a block header of `running` (entering a block FRR
    /// runs, to take something out of it, changes nothing by itself), or a
    /// word that leaves a block (`exit`, `exit-address-family`, ...). So a
    /// delta can do nothing a full load of the new file would not do.
    public static func delta(_ script: String, newConfig: String, running: String) -> [String] {
        delta(script, newConfig: FRRConfigTree(newConfig), running: FRRConfigTree(running))
    }

    public static func delta(_ script: String, newConfig: FRRConfigTree, running runningTree: FRRConfigTree) -> [String] {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        // Only the delta's lines are looked up (a few, where the files have
        // tens of thousands of commands).
        let asked = Set(lines)
        let takenBack = Set(lines.filter { $0.hasPrefix("no ") }.map { String($0.dropFirst(3)) })
        var new = Set<String>()
        var old = Set<String>()
        for e in newConfig.entries where asked.contains(e.text) { new.insert(e.text) }
        for e in runningTree.entries {
            if e.hasChildren && asked.contains(e.text) { new.insert(e.text) }
            if takenBack.contains(e.text) { old.insert(e.text) }
        }
        var problems: [String] = []
        for (i, line) in lines.enumerated() {
            if line.isEmpty || new.contains(line) || FRRConfigTree.closers.contains(Substring(line)) { continue }
            if line.hasPrefix("no "), old.contains(String(line.dropFirst(3))) { continue }
            problems.append(
                "delta line \(i + 1) '\(escape(line))' is neither a command of the new frr.conf, nor 'no ' and a command FRR runs, nor a block FRR runs"
            )
            if problems.count >= 10 { break }
        }
        return problems
    }

    /// After a reload: every command vrfc generates for the new config is in
    /// FRR's running config, and no generated command of the previous
    /// config that the new one dropped is. `frame` is the base config part
    /// (not generated, and partly not echoed by FRR, e.g. `frr version`).
    /// `leaving`: top-level blocks (`vrf NAME`) of VRFs being removed, which
    /// FRR may still run until their kernel devices are gone.
    public static func verify(
        running: String, config: String, frame: String?, previous: String?,
        leaving: Set<String> = []
    ) -> [String] {
        let runningKeys = FRRConfigTree(running).keys
        let newTree = FRRConfigTree(config)
        let newKeys = newTree.keys
        let frameKeys = frame.map { FRRConfigTree($0).keys } ?? []
        var problems: [String] = []
        for e in newTree.entries where !frameKeys.contains(e.key) && !runningKeys.contains(e.key) && !isImplicit(e, runningKeys) {
            problems.append("FRR does not run '\(describe(e.key))'")
        }
        if let previous {
            for e in FRRConfigTree(previous).entries
            where !newKeys.contains(e.key) && !frameKeys.contains(e.key) && runningKeys.contains(e.key)
                && !(e.path.isEmpty && leaving.contains(e.text))
            {
                problems.append("FRR still runs '\(describe(e.key))', which the new config removed")
            }
        }
        return problems
    }

    /// zebra's `show vrf vni json` (`FRRVty.object`) as VRF name → VNI.
    public static func vrfVNIs(_ answer: [String: Any]?) -> [String: Int] {
        guard let vrfs = answer?["vrfs"] as? [[String: Any]] else { return [:] }
        var out: [String: Int] = [:]
        for v in vrfs {
            if let name = v["vrf"] as? String, let vni = v["vni"] as? Int { out[name] = vni }
        }
        return out
    }

    /// Commands FRR applies but does not print because they are its
    /// default: a BGP instance without `no bgp default ipv4-unicast` (every
    /// VRF instance vrfc generates, and base configs that keep the default)
    /// activates IPv4 unicast neighbors by itself, so `neighbor X activate`
    /// in its IPv4 unicast family never shows.
    static func isImplicit(_ e: FRRConfigTree.Entry, _ running: Set<FRRConfigTree.Key>) -> Bool {
        e.path.count == 2 && e.path[0].hasPrefix("router bgp ") && e.path[1] == "address-family ipv4 unicast"
            && e.text.hasPrefix("neighbor ") && e.text.hasSuffix(" activate")
            && !running.contains(.init(path: [e.path[0]], text: "no bgp default ipv4-unicast"))
    }

    static func describe(_ key: FRRConfigTree.Key) -> String {
        (key.path + [key.text]).map(escape).joined(separator: " > ")
    }

    /// Messages never carry control characters from text they quote.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
        return out.count > 200 ? String(out.prefix(200)) + "..." : out
    }
}
