import VRFCBundle
import VRFCModel

/// Old IR + new IR → the FRR commands that turn the config FRR runs into
/// the new one (`--reload delta`). Both sides go through the same base
/// config and templates as the full file, so an operator's template
/// overrides shape the delta exactly as they shape frr.conf. Pure.
public enum FRRDeltaRenderer {
    public static func delta(
        from old: NodeIR, to new: NodeIR, base: BaseConfig,
        templates: TemplateSet = .shipped
    ) throws(Diagnostics) -> FRRDelta {
        let basis = try FRRBackend.render(old, base: base, templates: templates)
        let (oldPart, newPart) = changedPart(old, new)
        let oldText = try FRRBackend.render(oldPart, base: base, templates: templates)
        let newText = try FRRBackend.render(newPart, base: base, templates: templates)
        return script(old: FRRConfigTree(oldText), new: FRRConfigTree(newText), basisDigest: Digest.fnv1a64(basis))
    }

    /// Only the VRFs that differ, old and new: every generated line belongs
    /// to one VRF (its names carry the VRF's name), so the VRFs that are
    /// equal on both sides render the same lines and drop out of the
    /// difference anyway; leaving them out keeps a one-prefix change on a
    /// large node cheap. Node-wide values (ASN, router-id, hostname) reach
    /// every VRF's lines, so when one of them changes both IRs stay whole.
    static func changedPart(_ old: NodeIR, _ new: NodeIR) -> (NodeIR, NodeIR) {
        guard old.asn == new.asn, old.routerID == new.routerID, old.hostname == new.hostname else { return (old, new) }
        let oldByName = Dictionary(old.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newByName = Dictionary(new.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var o = old
        var n = new
        o.vrfs = old.vrfs.filter { newByName[$0.name] != $0 }
        n.vrfs = new.vrfs.filter { oldByName[$0.name] != $0 }
        return (o, n)
    }

    /// The difference of two config trees as one `vtysh -f` batch.
    ///
    /// Removals come first, each as `no ` + the command FRR runs: route-map
    /// entries before anything else (so no route-map is left pointing at a
    /// removed prefix-list), then the rest deepest and latest first (a
    /// VRF's BGP instance and its neighbor settings go before the VRF and
    /// the neighbor). A block that goes entirely is removed by its header
    /// alone. Additions follow in file order, with VRFs and prefix-lists
    /// hoisted before what refers to them. Every command is preceded by the
    /// full path of block headers it belongs in: vtysh climbs out of the
    /// current node by itself, but would otherwise enter a nested node
    /// (`address-family`) of the wrong block, so every other block is closed
    /// (`exit-address-family`, `exit`, `exit-vrf`) before the next. A
    /// route-map entry is never left with `exit`: FRR commits a transaction
    /// at every `exit` from one, and one batch without them is one commit.
    public static func script(old: FRRConfigTree, new: FRRConfigTree, basisDigest: String) -> FRRDelta {
        let oldKeys = old.keys
        let newKeys = new.keys
        let removed = oldKeys.subtracting(newKeys)
        let added = newKeys.subtracting(oldKeys)

        func underRemovedBlock(_ e: FRRConfigTree.Entry) -> Bool {
            for i in e.path.indices where removed.contains(.init(path: Array(e.path[..<i]), text: e.path[i])) { return true }
            return false
        }
        var out: [String] = []
        var current: [String] = []
        func enter(_ path: [String]) {
            guard path != current else { return }
            leave()
            for (depth, header) in path.enumerated() { out.append(indent(depth) + header) }
            current = path
        }
        // Back to the top before anything else: vtysh would otherwise look
        // a command up in the node it is in first, and some exist there with
        // another meaning (`no vrf NAME` inside `router bgp` is a VNC command
        // of bgpd). A route-map entry is left without `exit`, which would
        // commit a transaction; nothing inside it shadows a top-level command.
        func leave() {
            guard let top = current.first, !top.hasPrefix("route-map ") else {
                current = []
                return
            }
            for (depth, header) in current.enumerated().reversed() {
                let closer =
                    header.hasPrefix("address-family ")
                    ? "exit-address-family"
                    : (depth == 0 && header.hasPrefix("vrf ")) ? "exit-vrf" : "exit"
                out.append(indent(depth) + closer)
            }
            current = []
        }

        // A VRF that goes first gives up its VNI, while its BGP instance
        // still exists to hear of it (zebra tells bgpd the L3VNI is gone;
        // without the instance bgpd logs an error), then the instance goes,
        // then the VRF.
        var vniFirst = 0
        for e in old.entries
        where e.path.count == 1 && e.path[0].hasPrefix("vrf ") && e.text.hasPrefix("vni ")
            && removed.contains(.init(path: [], text: e.path[0]))
        {
            enter(e.path)
            out.append(indent(1) + "no " + e.text)
            vniFirst += 1
        }
        let removals = old.entries.reversed().filter { removed.contains($0.key) && !underRemovedBlock($0) }
        let routeMapsFirst =
            removals.filter { $0.path.isEmpty && $0.text.hasPrefix("route-map ") }
            + removals.filter { !($0.path.isEmpty && $0.text.hasPrefix("route-map ")) }
        for e in routeMapsFirst {
            enter(e.path)
            out.append(indent(e.path.count) + "no " + e.text)
        }

        let additions = new.entries.filter { added.contains($0.key) }
        func rank(_ e: FRRConfigTree.Entry) -> Int {
            let top = e.path.first ?? e.text
            if top.hasPrefix("vrf ") { return 0 }
            if top.hasPrefix("ip prefix-list ") || top.hasPrefix("ipv6 prefix-list ") { return 1 }
            return 2
        }
        let ordered = additions.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        for e in ordered {
            enter(e.path)
            out.append(indent(e.path.count) + e.text)
            if e.hasChildren { current = e.path + [e.text] }
        }
        leave()
        let script = out.isEmpty ? "" : out.joined(separator: "\n") + "\n"
        return FRRDelta(basisDigest: basisDigest, script: script, removals: vniFirst + routeMapsFirst.count, additions: additions.count)
    }

    static func indent(_ depth: Int) -> String { String(repeating: " ", count: depth) }
}
