import VRFCModel
import VRFCYAML

/// One VRFRouteConfiguration object (group network.schiff.telekom.de,
/// version v1alpha1), with every field validated on its own. Checks that
/// need other objects or the node config happen in `Lowering`.
public struct RouteConfiguration: Sendable, Equatable {
    public static let apiVersion = "network.schiff.telekom.de/v1alpha1"
    public static let kind = "VRFRouteConfiguration"
    public static let seqRange: ClosedRange<UInt64> = 1...65534

    public var name: ObjectName
    /// Where the object starts.
    public var location: SourceLocation
    public var vrf: VRFName
    public var vrfLocation: SourceLocation
    public var seq: Int
    public var seqLocation: SourceLocation
    public var imports: [PrefixItem]
    public var exports: [PrefixItem]
    public var aggregates: [IPPrefix]
    public var aggregateLocation: SourceLocation?
    public var community: CommunityList?

    /// One object; `label` names it in messages until its name is known.
    static func readObject(_ raw: Field, label: String) -> RouteConfiguration? {
        // Messages name the object by metadata.name and give paths inside it.
        let errorsBefore = raw.sink.items.count
        guard case .mapping = raw.node else {
            raw.with(object: label).error("expected a \(kind) object, found \(raw.kindName)")
            return nil
        }
        let (name, object) = KubernetesObject.name(of: raw, kind: kind, label: label)
        // kubectl output carries status and server-side metadata: ignored.
        guard let top = object.mapping(allowed: ["apiVersion", "kind", "metadata", "spec"], ignored: ["status"]) else { return nil }
        KubernetesObject.checkType(top, of: object, kind: kind, apiVersions: [apiVersion])
        guard let specField = top["spec"] else {
            object.error("missing spec", fix: "add spec with at least vrf and seq")
            return nil
        }
        guard let spec = specField.mapping(allowed: ["vrf", "seq", "import", "export", "aggregate", "community"]) else { return nil }

        var vrf: VRFName? = nil
        if let f = spec["vrf"] {
            vrf = f.validated(VRFName.init(validating:))
        } else {
            specField.error("missing required field 'vrf'", fix: "name the VRF, e.g. vrf: vrf1")
        }
        var seq: Int? = nil
        if let f = spec["seq"] {
            seq = f.integer(in: seqRange).map(Int.init)
        } else {
            specField.error("missing required field 'seq'", fix: "add seq: <1..65534>, unique among the CRs of this VRF")
        }
        let imports = spec["import"].map { readItems($0) } ?? []
        let exports = spec["export"].map { readItems($0) } ?? []

        var aggregates: [IPPrefix] = []
        for element in spec["aggregate"]?.sequence() ?? [] {
            guard let p = element.prefix() else { continue }
            // FRR refuses a host-length aggregate at load ("will not result
            // in any useful aggregation"), although vtysh --dryrun accepts it.
            if p.length == p.family.maxLength {
                element.error(
                    "aggregate \(p) is a single address, which FRR refuses to aggregate",
                    fix: "use a prefix shorter than /\(p.family.maxLength)")
                continue
            }
            if aggregates.contains(p) {
                element.error("aggregate \(p) is listed twice", fix: "list it once")
            } else {
                aggregates.append(p)
            }
        }
        let community = spec["community"].flatMap { $0.isNull ? nil : $0.validated(CommunityList.init(validating:)) }

        guard raw.sink.items.count == errorsBefore, let name, let vrf, let seq else { return nil }
        return RouteConfiguration(
            name: name, location: SourceLocation(file: raw.context.file, line: raw.line, object: "\(kind) \"\(name)\""),
            vrf: vrf, vrfLocation: spec["vrf"]!.location,
            seq: seq, seqLocation: spec["seq"]!.location,
            imports: imports, exports: exports,
            aggregates: aggregates.sorted(), aggregateLocation: spec["aggregate"]?.location,
            community: community)
    }

    static let itemKeys = ["cidr", "action", "seq", "ge", "le"]

    /// One import/export item, checked without building a field per key:
    /// its problems are placed in the file only when there are some.
    static func readItem(_ node: YNode, index: Int) -> (item: PrefixItem?, seqIsDefault: Bool, problems: [(key: String?, Problem)]) {
        guard case .mapping(let m) = node else {
            return (nil, true, [(nil, Problem(message: "expected a mapping, found \(ScalarRules.kindName(node))"))])
        }
        var problems: [(key: String?, Problem)] = []
        var cidr: YNode? = nil
        var action: YNode? = nil
        var seqNode: YNode? = nil
        var geNode: YNode? = nil
        var leNode: YNode? = nil
        for pair in m.pairs {
            switch pair.key.text {
            case "cidr": cidr = pair.value
            case "action": action = pair.value
            case "seq": seqNode = pair.value
            case "ge": geNode = pair.value
            case "le": leNode = pair.value
            default:
                let near = closest(to: pair.key.text, in: itemKeys)
                let list = itemKeys.joined(separator: ", ")
                problems.append(
                    (
                        pair.key.text,
                        Problem(
                            message: "unknown field \(quoted(pair.key.text))",
                            fix: near.map { "did you mean '\($0)'? (allowed: \(list))" } ?? "allowed: \(list)")
                    ))
            }
        }
        func value<T>(_ key: String, _ r: Result<T, Problem>) -> T? {
            switch r {
            case .success(let v): return v
            case .failure(let p):
                problems.append((key, p))
                return nil
            }
        }
        var prefix: IPPrefix? = nil
        if let cidr {
            prefix = value("cidr", ScalarRules.string(cidr).flatMap(ScalarRules.prefix))
        } else {
            problems.append((nil, Problem(message: "missing required field 'cidr'", fix: "add e.g. cidr: 203.0.113.0/24")))
        }
        var act: PrefixAction? = nil
        if let action {
            if let text = value("action", ScalarRules.string(action)) {
                act = PrefixAction(rawValue: text)
                if act == nil {
                    problems.append(("action", Problem(message: "\(quoted(text)) is not an action", fix: "use permit or deny")))
                }
            }
        } else {
            problems.append((nil, Problem(message: "missing required field 'action'", fix: "add action: permit or action: deny")))
        }
        var seq = UInt32(index + 1)
        let seqIsDefault = seqNode == nil
        if let seqNode, let v = value("seq", ScalarRules.integer(seqNode, in: 1...4_294_967_295)) { seq = UInt32(v) }
        let maxLen = UInt64(prefix?.family.maxLength ?? 128)
        let ge = geNode.flatMap { value("ge", ScalarRules.integer($0, in: 1...maxLen)) }.map(Int.init)
        let le = leNode.flatMap { value("le", ScalarRules.integer($0, in: 1...maxLen)) }.map(Int.init)

        // FRR's rule: prefix length <= ge <= le <= 32/128. vtysh --dryrun
        // lets violations through; a running FRR refuses them at load.
        if let p = prefix {
            let rule = "FRR requires prefix length <= ge <= le <= \(p.family.maxLength)"
            if let ge, ge < p.length {
                problems.append(
                    (
                        "ge",
                        Problem(
                            message: "ge \(ge) is below the prefix length \(p.length) of \(p)",
                            fix: "\(rule); use ge \(p.length) or more, or drop ge")
                    ))
            }
            if let le, le < p.length {
                problems.append(
                    (
                        "le",
                        Problem(
                            message: "le \(le) is below the prefix length \(p.length) of \(p)",
                            fix: "\(rule); use le \(p.length) or more, or drop le")
                    ))
            }
            if let ge, let le, ge > le {
                problems.append(("le", Problem(message: "le \(le) is below ge \(ge)", fix: "\(rule); use le \(ge) or more")))
            }
        }
        guard problems.isEmpty, let prefix, let act else { return (nil, seqIsDefault, problems) }
        return (PrefixItem(seq: seq, action: act, prefix: prefix, ge: ge, le: le, index: index), seqIsDefault, [])
    }

    /// An import or export list.
    static func readItems(_ list: Field) -> [PrefixItem] {
        if list.isNull { return [] }
        guard case .sequence(let nodes) = list.node else {
            list.error("expected a list, found \(list.kindName)")
            return []
        }
        var items: [PrefixItem] = []
        items.reserveCapacity(nodes.items.count)
        var bySeq: [UInt32: Int] = [:]
        var byContent: [ItemKey: Int] = [:]
        bySeq.reserveCapacity(nodes.items.count)
        byContent.reserveCapacity(nodes.items.count)
        for (index, node) in nodes.items.enumerated() {
            let (parsed, seqIsDefault, problems) = readItem(node, index: index)
            let f = { list.element(index, node) }
            for (key, p) in problems {
                let field = key.flatMap { k in f().value(k) } ?? f()
                field.error(p.message, fix: p.fix)
            }
            guard let item = parsed else { continue }
            if let other = bySeq[item.seq] {
                let how = seqIsDefault ? "seq \(item.seq) (the default for item [\(index)], its position + 1)" : "seq \(item.seq)"
                (f().value("seq") ?? f()).error("\(how) is also used by item [\(other)] of this list", fix: "give each item its own seq")
                continue
            }
            let key = ItemKey(prefix: item.prefix, action: item.action, ge: item.ge, le: item.le)
            if let other = byContent[key] {
                f().error("item [\(index)] repeats item [\(other)] (same cidr, action, ge and le)", fix: "remove one of them")
                continue
            }
            bySeq[item.seq] = index
            byContent[key] = index
            items.append(item)
        }
        return items
    }
}

/// What makes two items of one list the same line in FRR.
private struct ItemKey: Hashable {
    let prefix: IPPrefix
    let action: PrefixAction
    let ge: Int?
    let le: Int?
}
