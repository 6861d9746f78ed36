// `vrfc diff` as text for terminals and as Markdown for a pull-request
// comment (JSON is the Codable form of IntentDiff).

extension IntentDiff {
    public var summary: String {
        let added = vrfs.filter { $0.status == .added }.count
        let removed = vrfs.filter { $0.status == .removed }.count
        let changed = vrfs.filter { $0.status == .changed }.count
        if isEmpty { return "no change in routing intent" }
        return "\(changed) VRF\(changed == 1 ? "" : "s") changed, \(added) added, \(removed) removed"
    }

    public func text() -> String {
        var out = "vrfc diff: \(summary)\n"
        for v in vrfs {
            out += "\n" + v.heading + "\n"
            for line in v.detailLines() { out += "  " + line + "\n" }
            for s in v.space {
                out += "  \(s.direction) \(s.family):\n"
                for c in s.changes { out += "    " + c.line + "\n" }
            }
        }
        return out
    }

    public func markdown() -> String {
        var out = "### vrfc diff: \(summary)\n"
        for v in vrfs {
            out += "\n#### \(v.heading)\n\n"
            for line in v.detailLines() { out += "- \(line)\n" }
            for s in v.space {
                out += "\n**\(s.direction) \(s.family)**\n\n```diff\n"
                for c in s.changes { out += c.line + "\n" }
                out += "```\n"
            }
        }
        return out
    }
}

extension VRFDiff {
    var heading: String {
        var facts: [String] = []
        if status != .changed { facts.append(status.rawValue) }
        if kind.old != kind.new, kind.old != nil, kind.new != nil {
            facts.append("kind \(kind.old!) -> \(kind.new!)")
        } else if let k = kind.new ?? kind.old, k == "policyOnly" {
            facts.append("skip VRF, policy only")
        }
        return "VRF \(vrf)" + (facts.isEmpty ? "" : " (\(facts.joined(separator: ", ")))")
    }

    func detailLines() -> [String] {
        var lines: [String] = []
        func show<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "none" }
        if let vni {
            lines.append(status == .changed ? "VNI \(show(vni.old)) -> \(show(vni.new))" : "VNI \(show(vni.new ?? vni.old))")
        }
        if let routeTarget {
            lines.append(
                status == .changed
                    ? "route target \(show(routeTarget.old)) -> \(show(routeTarget.new))"
                    : "route target \(show(routeTarget.new ?? routeTarget.old))")
        }
        let sign = status == .removed || kind.new == "policyOnly" ? "-" : "+"
        if !links.isEmpty { lines.append("links \(sign) " + links.joined(separator: " ")) }
        if let bgpInstance { lines.append("BGP instance \(sign) \(bgpInstance)") }
        for a in aggregatesAdded { lines.append("aggregate + \(a)") }
        for a in aggregatesRemoved { lines.append("aggregate - \(a)") }
        for e in entries {
            switch e.kind {
            case .added: lines.append("\(e.direction): CR \(e.cr) added (\(e.new ?? ""))")
            case .removed: lines.append("\(e.direction): CR \(e.cr) removed (\(e.old ?? ""))")
            case .seq: lines.append("\(e.direction): CR \(e.cr) spec.seq \(e.old ?? "") -> \(e.new ?? "")")
            case .community: lines.append("\(e.direction): CR \(e.cr) community \(e.old ?? "none") -> \(e.new ?? "none")")
            }
        }
        return lines
    }
}

extension RegionChange {
    /// `+ 203.0.113.0/25 le 32 (CR web, item 2)`.
    public var line: String {
        func communities(_ c: [String]?) -> String { (c ?? []).isEmpty ? "none" : c!.joined(separator: " ") }
        switch kind {
        case .permitted:
            let c = newCommunities.map { ", community \($0.joined(separator: " "))" } ?? ""
            return "+ \(region) (\(by.text)\(c))"
        case .denied:
            return "- \(region) (was \(was?.text ?? "?"); now \(by.cr == nil ? by.text : "denied by " + by.text))"
        case .community:
            return "~ \(region) (\(by.text)): community \(communities(oldCommunities)) -> \(communities(newCommunities))"
        }
    }
}
