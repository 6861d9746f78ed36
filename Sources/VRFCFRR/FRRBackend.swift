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
            diags.append(Diagnostic(fileLoc, "the base config uses {{.UnderlayRouterID}} but no router-id was given", fix: "pass --router-id IPV4"))
        }
        // The dv./vd. sessions are `remote-as internal` between the default
        // instance and each VRF instance; with different ASNs they never come up.
        if let asn = base.defaultBGPASN, asn != ir.asn, !ir.fullVRFs.isEmpty {
            diags.append(Diagnostic(SourceLocation(file: base.file, line: base.defaultBGPASNLine),
                                    "'router bgp \(asn)' differs from the node config's serverASN \(ir.asn); the dv./vd. sessions are iBGP (remote-as internal) and need one AS",
                                    fix: "set serverASN: \(asn) in the node config, or use router bgp \(ir.asn) here"))
        }
        if !diags.isEmpty { throw Diagnostics(diags) }

        let view = RootView(ir)
        // A section may cost a generous multiple of the node's size: what
        // the shipped templates need is far below, a template nesting
        // loops over the VRFs is stopped long before it exhausts memory.
        let size = ir.vrfs.reduce(1) { n, vrf in
            n + 1 + vrf.aggregates.count + (vrf.imports + vrf.exports).reduce(0) { $0 + 1 + $1.ipv4.count + $1.ipv6.count }
        }
        let budget = Template.Budget(steps: 1_000_000 + 200 * size, bytes: (16 << 20) + 2048 * size)
        // The sections are independent: render them on all cores, then put
        // them in place in base-config order.
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
}
