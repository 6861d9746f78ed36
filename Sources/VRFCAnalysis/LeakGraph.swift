import VRFCModel

/// The node's leak topology as Graphviz DOT: the cluster (default) VRF in the
/// middle, every VRF around it, one edge per direction labelled with the
/// address space its route-maps permit (from the evaluator, so overlapping
/// and shadowed items are already resolved), communities and route targets
/// shown, skip VRFs dashed. The diff form colours additions green and
/// removals red.
public enum LeakGraph {
    /// Edge labels show at most this many regions per family, then a count.
    public static let maxRegions = 5

    /// The permitted space of one map, merged regardless of which item
    /// decides, each region with the communities it leaves with.
    public static func permitted(_ policy: Policy, vrf: VRFName, direction: Direction, family: AddressFamily) -> [(
        region: Region, communities: [String]
    )] {
        let map = Policy.mapName(vrf, direction, family)
        let space = policy.space([map], family: family) { (route: Route) -> [String]? in
            let d = policy.decide(map, route)
            return d.permitted ? (d.communities ?? []).map(\.value) : nil
        }
        return space.regions().map { ($0.region, $0.label) }
    }

    public static func dot(_ ir: NodeIR) -> String {
        let policy = Policy(ir: ir)
        var out = header(title: "vrfc leak topology", asn: ir.asn)
        for vrf in ir.vrfs.sorted(by: { $0.name < $1.name }) {
            out += node(vrf, color: nil)
            for direction in Direction.allCases {
                var lines: [String] = []
                for family in AddressFamily.allCases {
                    let regions = permitted(policy, vrf: vrf.name, direction: direction, family: family)
                    lines += summarise(
                        regions.map { r in
                            r.region.description + (r.communities.isEmpty ? "" : "  [\(r.communities.joined(separator: " "))]")
                        })
                }
                out += edge(
                    vrf.name, direction, lines.isEmpty ? [("nothing permitted", nil)] : lines.map { ($0, nil) },
                    style: lines.isEmpty ? "dotted" : "solid",
                    color: lines.isEmpty ? "gray60" : direction == .import ? "#1f5fa8" : "#7a3fa0")
            }
        }
        return out + "}\n"
    }

    /// The diff form: every VRF of either side; edge lines `+`/`-`/`~` from
    /// the intent diff in green/red/orange, unchanged edges grey.
    public static func dot(old: NodeIR, new: NodeIR, diff: IntentDiff) -> String {
        var out = header(title: "vrfc diff", asn: new.asn)
        let byName = Dictionary(diff.vrfs.map { ($0.vrf, $0) }, uniquingKeysWith: { a, _ in a })
        let newVRFs = Dictionary(new.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let oldVRFs = Dictionary(old.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Set(newVRFs.keys).union(oldVRFs.keys).sorted() {
            let vrf = newVRFs[name] ?? oldVRFs[name]!
            let d = byName[name.value]
            let color: String? = d?.status == .added ? "#1a7f37" : d?.status == .removed ? "#cf222e" : d == nil ? nil : "#bc4c00"
            out += node(vrf, color: color)
            for direction in Direction.allCases {
                var lines: [(String, String?)] = []
                for s in d?.space ?? [] where s.direction == direction.rawValue {
                    let shown = s.changes.prefix(maxRegions)
                    for c in shown {
                        lines.append((c.line, c.kind == .permitted ? "#1a7f37" : c.kind == .denied ? "#cf222e" : "#bc4c00"))
                    }
                    if s.changes.count > shown.count {
                        lines.append(("... \(s.changes.count - shown.count) more \(s.family) changes", nil))
                    }
                }
                let edgeColor: String
                if lines.isEmpty {
                    lines = [("unchanged", nil)]
                    edgeColor = "gray60"
                } else {
                    let kinds = Set(lines.compactMap(\.1))
                    edgeColor = kinds.count == 1 ? kinds.first! : "#bc4c00"
                }
                out += edge(
                    name, direction, lines, style: lines.count == 1 && lines[0].0 == "unchanged" ? "dotted" : "solid", color: edgeColor)
            }
        }
        return out + "}\n"
    }

    static func header(title: String, asn: UInt32) -> String {
        """
        digraph vrfc {
          graph [layout=neato, overlap=false, sep="+12", splines=true, fontname="Helvetica", label=\(quote(title)), labelloc=t];
          node [fontname="Helvetica", fontsize=11];
          edge [len=1.2];
          cluster [shape=doubleoctagon, style=filled, fillcolor="#eef3fb", label=\(quote("cluster VRF (default)\nAS \(asn)\nexports deny tag \(Policy.fabricTag)"))];

        """
    }

    static func node(_ vrf: VRF, color: String?) -> String {
        var label = [vrf.name.value]
        if let vni = vrf.vni { label.append("VNI \(vni)") }
        if let rt = vrf.routeTarget { label.append("RT \(rt.value)") }
        let communities = Set(vrf.exports.flatMap(\.communities).map(\.value)).sorted()
        if !communities.isEmpty { label.append("community " + communities.joined(separator: " ")) }
        if vrf.kind == .policyOnly { label.append("(skip VRF: policy only)") }
        var attrs = [
            "shape=box", "style=\(vrf.kind == .policyOnly ? "\"rounded,dashed\"" : "rounded")",
            "label=\(quote(label.joined(separator: "\n")))",
        ]
        if let color { attrs += ["color=\(quote(color))", "penwidth=2"] }
        return "  \(quote("vrf:" + vrf.name.value)) [\(attrs.joined(separator: ", "))];\n"
    }

    /// One direction as an edge through a label box, so the layout keeps
    /// the prefixes clear of every node and edge.
    static func edge(_ vrf: VRFName, _ direction: Direction, _ lines: [(String, String?)], style: String, color: String) -> String {
        // import: routes from the VRF into the cluster; export: the reverse.
        let (from, to) = direction == .import ? ("vrf:" + vrf.value, "cluster") : ("cluster", "vrf:" + vrf.value)
        let box = quote("\(direction.rawValue):\(vrf.value)")
        var html = "<b>\(escapeHTML(direction.rawValue))</b><br align=\"left\"/>"
        for (text, c) in lines {
            let t = escapeHTML(text)
            html += (c.map { "<font color=\"\($0)\">\(t)</font>" } ?? t) + "<br align=\"left\"/>"
        }
        return
            "  \(box) [shape=box, style=\"rounded,\(style == "dotted" ? "dotted" : "solid")\", color=\(quote(color)), fontsize=9, margin=\"0.08,0.04\", label=<\(html)>];\n"
            + "  \(quote(from)) -> \(box) [style=\(style), color=\(quote(color)), arrowhead=none];\n"
            + "  \(box) -> \(quote(to)) [style=\(style), color=\(quote(color))];\n"
    }

    static func summarise(_ lines: [String]) -> [String] {
        lines.count <= maxRegions ? lines : Array(lines.prefix(maxRegions - 1)) + ["... \(lines.count - maxRegions + 1) more"]
    }

    /// A DOT string literal.
    static func quote(_ s: String) -> String {
        "\"" + replacing(s, ["\"": "\\\"", "\\": "\\\\", "\n": "\\n"]) + "\""
    }

    /// Text inside a DOT HTML-like label.
    static func escapeHTML(_ s: String) -> String {
        replacing(s, ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"])
    }

    static func replacing(_ s: String, _ table: [Character: String]) -> String {
        var out = ""
        for c in s {
            if let r = table[c] { out += r } else { out.append(c) }
        }
        return out
    }
}
