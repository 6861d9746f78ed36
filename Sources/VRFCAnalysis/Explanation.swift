import VRFCModel

// `vrfc explain`: the evaluator's decision with its trace, in CR words.

extension EntryRef {
    var text: String {
        switch origin {
        case .fabricTagRule: "entry \(seq) (\(permit ? "permit" : "deny"), fabric tag rule)"
        case .cr(let name, let specSeq): "entry \(seq) (\(permit ? "permit" : "deny"), CR \(name), spec.seq \(specSeq))"
        case .noEntries: "entry \(seq) (deny, no CR has entries here)"
        case .other: "entry \(seq) (\(permit ? "permit" : "deny"))"
        }
    }
}

extension ListLine {
    /// `seq 2 permit 203.0.113.0/25 le 32 (spec.import[1], item 2)`.
    public var explained: String {
        "seq \(seq) \(text)" + (item.map { " (\($0.field), \($0.label))" } ?? "")
    }
}

extension Decision {
    /// The verdict line and the trace, one step per line.
    public func explanation(vrf: String, direction: Direction, map: String, prefix: IPPrefix, tag: UInt32?) -> String {
        var out = "\(vrf) \(direction.rawValue) \(prefix)\(tag.map { " tag \($0)" } ?? ""): \(permitted ? "permit" : "deny")"
        if permitted, let c = communities, !c.isEmpty { out += ", community " + c.map(\.value).joined(separator: " ") }
        out += "\n"
        if let undefined = undefinedMap {
            out +=
                "  route-map \(undefined) is not defined (no CR of \(vrf) has \(direction.rawValue) items of this family): FRR denies every route\n"
            return out
        }
        out += "  route-map \(map)\n"
        for step in steps {
            out += "  \(step.entry.text): "
            switch step.outcome {
            case .matched(let line?):
                out += "prefix-list line \(line.explained) matches -> \(step.entry.permit ? "permit" : "deny")"
            case .matched(nil):
                out +=
                    step.entry.origin == .fabricTagRule
                    ? "tag \(Policy.fabricTag) matches -> deny" : "matches -> \(step.entry.permit ? "permit" : "deny")"
            case .deniedByList(let line):
                out += "prefix-list line \(line.explained) matches first: the entry does not match, next entry"
            case .noLine(let list):
                out += "no line of prefix-list \(list) matches, next entry"
            case .tagDiffers(let t):
                out += "route \(tag.map { "has tag \($0)" } ?? "has no tag"), not \(t), next entry"
            case .callSkipped(let name):
                out += "call \(name): not defined, skipped"
            case .called(let name):
                out += "call \(name)"
            }
            out += "\n"
        }
        if entry == nil { out += "  no entry matched: implicit deny at the end of \(map)\n" }
        if permitted, let c = communities, !c.isEmpty { out += "  set community \(c.map(\.value).joined(separator: " "))\n" }
        return out
    }

    /// One tab-separated line for batch mode: prefix, action, CR, item, line
    /// seq, communities (`-` where none).
    public func batchLine(_ prefix: Substring, into out: inout [UInt8]) {
        out.append(contentsOf: prefix.utf8)
        out.append(0x09)
        out.append(contentsOf: (permitted ? "permit" : "deny").utf8)
        out.append(0x09)
        if let ref = line?.item {
            out.append(contentsOf: ref.cr.utf8)
            out.append(0x09)
            out.append(contentsOf: ref.label.utf8)
            out.append(0x09)
            out.append(contentsOf: ref.seqText.utf8)
        } else if let e = entry, case .fabricTagRule = e.origin {
            out.append(contentsOf: "fabric-tag\t-\t-".utf8)
        } else {
            out.append(contentsOf: (undefinedMap != nil ? "undefined-map\t-\t-" : "implicit-deny\t-\t-").utf8)
        }
        out.append(0x09)
        if permitted, let c = communities, !c.isEmpty {
            for (i, x) in c.enumerated() {
                if i > 0 { out.append(0x20) }
                out.append(contentsOf: x.value.utf8)
            }
        } else {
            out.append(UInt8(ascii: "-"))
        }
        out.append(0x0A)
    }
}
