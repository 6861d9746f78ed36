import Foundation
import VRFCModel

/// IR + base config → the node's frr.conf.
public enum FRRBackend {
    public static func render(_ ir: NodeIR, base: BaseConfig, templates: TemplateSet = .shipped) throws(Diagnostics) -> String {
        var diags: [Diagnostic] = []
        let fileLoc = SourceLocation(file: base.file)
        if base.placeholders.contains(.hostname) && ir.hostname == nil {
            diags.append(Diagnostic(fileLoc, "the base config uses {{.Hostname}} but no hostname was given", fix: "pass --hostname NAME"))
        }
        if base.placeholders.contains(.underlayRouterID) && ir.routerID == nil {
            diags.append(
                Diagnostic(fileLoc, "the base config uses {{.UnderlayRouterID}} but no router-id was given", fix: "pass --router-id IPV4"))
        }
        // The dv./vd. sessions are `remote-as internal` between the default
        // instance and each VRF instance; with different ASNs they never come up.
        if let asn = base.defaultBGPASN, asn != ir.asn, !ir.fullVRFs.isEmpty {
            diags.append(
                Diagnostic(
                    SourceLocation(file: base.file, line: base.defaultBGPASNLine),
                    "'router bgp \(asn)' differs from the node config's serverASN \(ir.asn); the dv./vd. sessions are iBGP (remote-as internal) and need one AS",
                    fix: "set serverASN: \(asn) in the node config, or use router bgp \(ir.asn) here"))
        }
        if let routerID = ir.routerID, !ir.fullVRFs.isEmpty, base.defaultBGPASN != nil {
            diags += routerIDConflicts(base, vrfRouterID: routerID)
        }
        diags += routeMapConflicts(base, ir)
        if !diags.isEmpty { throw Diagnostics(diags) }

        let view = RootView(ir)
        // A section may cost a generous multiple of the node's size: what
        // the shipped templates need is far below, a template nesting
        // loops over the VRFs is stopped long before it exhausts memory.
        let size = ir.vrfs.reduce(1) { n, vrf in
            n + 1 + vrf.aggregates.count + (vrf.imports + vrf.exports).reduce(0) { $0 + 1 + $1.ipv4.count + $1.ipv6.count }
        }
        let budget = TemplateBudget(steps: 1_000_000 + 200 * size, bytes: (16 << 20) + 2048 * size)
        // The sections are independent: render them on all cores (a long
        // list within one, too: `render(_:_:into:budget:)`), then put them
        // in place in base-config order.
        let hints = base.segments.compactMap { if case .hint(let h) = $0 { h } else { nil } }
        let results = parallelMap(hints) { hint -> Result<[UInt8], Diagnostic> in
            var bytes: [UInt8] = []
            if let problem = templates.render(hint, view, into: &bytes, budget: budget) { return .failure(problem) }
            // A user template that forgets its last newline must not glue
            // the next base line onto a generated one.
            if let last = bytes.last, last != 0x0A { bytes.append(0x0A) }
            return .success(bytes)
        }
        let problems = results.compactMap { if case .failure(let d) = $0 { d } else { nil } }
        if !problems.isEmpty { throw Diagnostics(problems) }
        let rendered = results.map { (try? $0.get()) ?? [] }
        var sections = Dictionary(uniqueKeysWithValues: zip(hints, rendered))
        var out: [UInt8] = []
        out.reserveCapacity(rendered.reduce(64 * 1024) { $0 + $1.count })
        for segment in base.segments {
            switch segment {
            case .text(let line):
                out += line.utf8
                out.append(0x0A)
            case .hint(let hint):
                out += sections.removeValue(forKey: hint) ?? []
            case .templated(let pieces):
                for piece in pieces {
                    switch piece {
                    case .literal(let s): out += s.utf8
                    case .placeholder(.hostname): out += ir.hostname!.value.utf8
                    case .placeholder(.underlayRouterID): out += ir.routerID!.description.utf8
                    }
                }
                out.append(0x0A)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lists at least this long are rendered in parallel ranges.
    static let parallelListThreshold = 4096

    /// One section template rendered into `out`. A top-level section over a
    /// long list (a large node's prefix-list lines) is cut into ranges of its
    /// elements rendered on all cores; each element renders on its own, so
    /// the ranges joined in order are the bytes of one pass (tested).
    static func render<Key>(
        _ template: Template<Key>, _ root: TemplateValue<Key>, into out: inout [UInt8],
        budget: TemplateBudget
    ) throws(TemplateError) {
        var left = budget
        for part in 0..<template.partCount {
            if let count = template.listLength(ofPart: part, root), count >= parallelListThreshold {
                let ranges = ranges(count)
                // Each range may spend its share of what is left.
                let share = TemplateBudget(steps: left.steps / ranges.count, bytes: left.bytes / ranges.count)
                let rendered = parallelMap(ranges) { range in
                    var bytes: [UInt8] = []
                    var spent = share
                    let exceeded = template.render(part: part, root, elements: range, into: &bytes, budget: &spent)
                    return (bytes, spent.steps, exceeded)
                }
                for (bytes, stepsLeft, exceeded) in rendered {
                    if let line = exceeded { throw .overBudget(line: line, budget) }
                    left.steps -= share.steps - stepsLeft
                    left.bytes -= bytes.count
                    out += bytes
                }
            } else if let line = template.render(part: part, root, into: &out, budget: &left) {
                throw .overBudget(line: line, budget)
            }
        }
    }

    static func ranges(_ count: Int) -> [Range<Int>] {
        let pieces = max(1, min(ProcessInfo.processInfo.activeProcessorCount * 2, count / 1024))
        return (0..<pieces).map { p in (count * p / pieces)..<(count * (p + 1) / pieces) }
    }

    /// A base config may add entries to vrfc's route-maps (the names are a
    /// contract), but not at a sequence number vrfc writes: FRR would merge
    /// the two entries into one, or the later would replace the other's
    /// action. The one exception is the match-less `deny 65535` vrfc writes
    /// into a map without entries: the base's own `deny 65535` (a pattern
    /// for maps a base config calls) is then the same entry.
    static func routeMapConflicts(_ base: BaseConfig, _ ir: NodeIR) -> [Diagnostic] {
        guard !base.routeMapEntries.isEmpty else { return [] }
        // map name -> seq -> what vrfc writes there
        var ours: [String: [Int: (action: String, what: String, matchless: Bool)]] = [:]
        for vrf in ir.vrfs {
            for dir in VRFNames.Direction.allCases {
                for family in AddressFamily.allCases {
                    let name = VRFNames(vrf.name).routeMap(family, dir)
                    var entries: [Int: (action: String, what: String, matchless: Bool)] = [:]
                    if dir == .export { entries[1] = ("deny", "its 'deny 1 / match tag 20000'", false) }
                    let policies = (dir == .import ? vrf.imports : vrf.exports).filter { !$0.items(family).isEmpty }
                    for p in policies {
                        entries[p.routeMapSeq] = ("permit", "the entry of VRFRouteConfiguration \"\(p.source)\" (spec.seq \(p.seq))", false)
                    }
                    if policies.isEmpty { entries[65535] = ("deny", "its match-less 'deny 65535' (the map has no entries)", true) }
                    ours[name] = entries
                }
            }
        }
        var diags: [Diagnostic] = []
        for e in base.routeMapEntries {
            guard let mine = ours[e.name]?[e.seq] else { continue }
            if mine.matchless && e.action == "deny" { continue }
            diags.append(
                Diagnostic(
                    SourceLocation(file: base.file, line: e.line),
                    "'route-map \(e.name) \(e.action) \(e.seq)' is an entry vrfc writes too: \(mine.what); FRR would make the two one entry",
                    fix: "give the base config's entry a sequence number vrfc does not use in \(e.name)"))
        }
        return diags
    }

    /// Each dv./vd. session is iBGP between the default instance and a VRF
    /// instance of the same bgpd; FRR refuses an OPEN that carries its own
    /// BGP identifier (NOTIFICATION "OPEN Message Error/Bad BGP Identifier",
    /// RFC 6286), so the two ends need different router-ids.
    static func routerIDConflicts(_ base: BaseConfig, vrfRouterID: IPv4Address) -> [Diagnostic] {
        let why =
            "both ends of every dv./vd. session would carry BGP identifier \(vrfRouterID) and FRR refuses such an OPEN (Bad BGP Identifier): the sessions never come up and nothing is leaked"
        let fix =
            "give the default instance a router-id of its own with 'bgp router-id ADDRESS' (any IPv4 address unique in your AS, e.g. one reserved per node for it); the VRF instances keep --router-id \(vrfRouterID)"
        guard let setting = base.defaultRouterID else {
            return [
                Diagnostic(
                    SourceLocation(file: base.file, line: base.defaultBGPASNLine),
                    "the default 'router bgp' sets no 'bgp router-id', so FRR takes zebra's (the highest loopback address, else the highest interface address), which on a node is usually the underlay address --router-id \(vrfRouterID) gives the VRF instances; then \(why)",
                    fix: fix)
            ]
        }
        let place =
            setting.statement == "router-id"
            ? "zebra's 'router-id', which the default 'router bgp' uses," : "'bgp router-id' of the default 'router bgp'"
        switch setting.value {
        case .underlayPlaceholder:
            return [
                Diagnostic(
                    SourceLocation(file: base.file, line: setting.line),
                    "\(place) is {{.UnderlayRouterID}}, the router-id vrfc writes into every VRF instance (--router-id \(vrfRouterID)); \(why)",
                    fix: fix)
            ]
        case .address(let a) where a == vrfRouterID:
            return [
                Diagnostic(
                    SourceLocation(file: base.file, line: setting.line),
                    "\(place) is \(a), the router-id vrfc writes into every VRF instance (--router-id); \(why)", fix: fix)
            ]
        case .address, .other:
            return []
        }
    }
}
