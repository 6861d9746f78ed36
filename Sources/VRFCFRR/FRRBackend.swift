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
        var out: [UInt8] = []
        out.reserveCapacity(64 * 1024)
        for segment in base.segments {
            switch segment {
            case .text(let line):
                out += line.utf8
                out.append(0x0A)
            case .hint(let hint):
                let before = out.count
                templates.render(hint, view, into: &out)
                // A user template that forgets its last newline must not glue
                // the next base line onto a generated one.
                if out.count > before && out.last != 0x0A { out.append(0x0A) }
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
