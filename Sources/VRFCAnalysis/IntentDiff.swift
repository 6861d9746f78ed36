import VRFCModel

/// The change in routing intent between two IRs of a node, in the words of
/// the CRs: VRFs that come and go, their VNI/route target, and per direction
/// and family the address space that becomes permitted or denied, after
/// FRR's first-match semantics (a reordering that decides every route the
/// same way is no change).
public struct IntentDiff: Encodable, Sendable {
    public var vrfs: [VRFDiff]
    public var isEmpty: Bool { vrfs.isEmpty }

    enum CodingKeys: String, CodingKey { case changed, permitsMore, summary, vrfs }

    /// JSON for bots: the verdicts first, then the detail.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(!isEmpty, forKey: .changed)
        try c.encode(permitsMore, forKey: .permitsMore)
        try c.encode(summary, forKey: .summary)
        try c.encode(vrfs, forKey: .vrfs)
    }
}

public struct ValueChange<T: Codable & Sendable & Equatable>: Codable, Sendable {
    public var old: T?
    public var new: T?
}

public struct VRFDiff: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case added, removed, changed }
    public var vrf: String
    public var status: Status
    /// `full` or `policyOnly` on the side(s) where the VRF exists.
    public var kind: ValueChange<String>
    public var vni: ValueChange<UInt32>?
    public var routeTarget: ValueChange<String>?
    /// Links and BGP instance that come (added) or go (removed) with a full VRF.
    public var links: [String]
    public var bgpInstance: String?
    public var aggregatesAdded: [String]
    public var aggregatesRemoved: [String]
    public var entries: [EntryChange]
    public var space: [SpaceChange]
}

/// A CR's route-map entry in one direction that appeared, went, moved or
/// changed its community.
public struct EntryChange: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case added, removed, seq, community }
    public var direction: String
    public var cr: String
    public var kind: Kind
    public var old: String?
    public var new: String?
}

/// Who decided: a CR and, when a prefix-list line matched, its item.
public struct Attribution: Codable, Sendable, Hashable {
    public var cr: String?
    public var item: String?
    public var field: String?
    public var line: String?
    /// `fabric tag rule`, `no CR entries`, `implicit deny` or `undefined route-map`.
    public var rule: String?

    public var text: String {
        if let cr { return item.map { "CR \(cr), \($0)" } ?? "CR \(cr)" }
        return rule ?? "?"
    }

    init(rule: String) { self.rule = rule }

    init(entry: EntryRef?, line: ListLine?) {
        if let ref = line?.item {
            cr = ref.cr
            item = ref.label
            field = ref.field
        } else if case .cr(let name, _)? = entry?.origin {
            cr = name
        } else if case .fabricTagRule? = entry?.origin {
            rule = "fabric tag rule"
        } else if case .noEntries? = entry?.origin {
            rule = "no CR entries"
        } else if entry == nil {
            rule = "implicit deny"
        }
        self.line = line.map { "seq \($0.seq) \($0.text)" }
    }

    /// Why a route is denied: the deny item that stopped a CR's entry, else
    /// the deciding entry, else nothing matched.
    init(denied d: Decision) {
        if let undefined = d.undefinedMap {
            self.init(entry: nil, line: nil)
            rule = "route-map \(undefined) not defined"
        } else if d.entry == nil, let l = d.firstDenyLine {
            self.init(entry: nil, line: l)
        } else {
            self.init(entry: d.entry, line: d.line)
        }
    }
}

public struct SpaceChange: Codable, Sendable {
    public var direction: String
    public var family: String
    public var changes: [RegionChange]
}

public struct RegionChange: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case permitted, denied, community }
    public var kind: Kind
    public var region: String
    /// Permitted/community: the item that now permits. Denied: what denies now.
    public var by: Attribution
    /// Denied/community: the item that permitted before.
    public var was: Attribution?
    public var oldCommunities: [String]?
    public var newCommunities: [String]?
}

enum SpaceLabel: Hashable {
    case permitted(by: Attribution, communities: [String])
    case denied(was: Attribution, by: Attribution)
    case community(old: [String], new: [String], by: Attribution, was: Attribution)
}

extension IntentDiff {
    public init(old: NodeIR, new: NodeIR) {
        let oldPolicy = Policy(ir: old)
        let newPolicy = Policy(ir: new)
        let olds = Dictionary(old.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let news = Dictionary(new.vrfs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Set(olds.keys).union(news.keys).sorted()
        // VRFs are independent: diff them in parallel, keep name order.
        let results = parallelMap(names) { name in
            VRFDiff(
                name: name, old: olds[name], new: news[name], oldPolicy: oldPolicy, newPolicy: newPolicy,
                oldASN: old.asn, newASN: new.asn)
        }
        vrfs = results.compactMap { $0 }
    }

    /// Whether any region became permitted: what CI may want an approval for.
    public var permitsMore: Bool {
        vrfs.contains { v in v.space.contains { s in s.changes.contains { $0.kind == .permitted } } }
    }
}

extension VRFDiff {
    init?(name: VRFName, old: VRF?, new: VRF?, oldPolicy: Policy, newPolicy: Policy, oldASN: UInt32, newASN: UInt32) {
        vrf = name.value
        status = old == nil ? .added : new == nil ? .removed : .changed
        kind = ValueChange(old: old?.kind.rawValue, new: new?.kind.rawValue)
        let oldVNI = old?.vni
        let newVNI = new?.vni
        vni = oldVNI != newVNI || status != .changed ? ValueChange(old: oldVNI, new: newVNI) : nil
        let oldRT = old?.routeTarget?.value
        let newRT = new?.routeTarget?.value
        routeTarget = oldRT != newRT ? ValueChange(old: oldRT, new: newRT) : nil
        // The stack of a full VRF comes or goes with its kind.
        let wasFull = old?.kind == .full
        let isFull = new?.kind == .full
        if wasFull != isFull || (wasFull && oldASN != newASN) {
            let names = VRFNames(name)
            links = names.stack.map(\.value)
            bgpInstance = "router bgp \(isFull ? newASN : oldASN) vrf \(names.vrfDevice)"
            if wasFull && isFull { links = [] }
        } else {
            links = []
            bgpInstance = nil
        }
        let oldAgg = Set(old?.aggregates ?? [])
        let newAgg = Set(new?.aggregates ?? [])
        aggregatesAdded = newAgg.subtracting(oldAgg).sorted().map(\.text)
        aggregatesRemoved = oldAgg.subtracting(newAgg).sorted().map(\.text)

        entries = []
        space = []
        for direction in Direction.allCases {
            let o = direction == .import ? old?.imports ?? [] : old?.exports ?? []
            let n = direction == .import ? new?.imports ?? [] : new?.exports ?? []
            entries += Self.entryChanges(direction, o, n)
            // Equal policy entries decide alike: skip the space walk.
            if o == n { continue }
            for family in AddressFamily.allCases {
                let map = Policy.mapName(name, direction, family)
                var changes = Self.spaceChanges(map: map, family: family, old: oldPolicy, new: newPolicy)
                // Everything a removed VRF permitted goes with it: say so, not
                // that its route-map is undefined.
                if status == .removed {
                    for i in changes.indices { changes[i].by = Attribution(rule: "VRF removed") }
                }
                if !changes.isEmpty {
                    space.append(SpaceChange(direction: direction.rawValue, family: family.rawValue, changes: changes))
                }
            }
        }
        if status == .changed && kind.old == kind.new && vni == nil && routeTarget == nil && links.isEmpty
            && bgpInstance == nil && aggregatesAdded.isEmpty && aggregatesRemoved.isEmpty && entries.isEmpty && space.isEmpty
        {
            return nil
        }
    }

    static func entryChanges(_ direction: Direction, _ old: [PolicyEntry], _ new: [PolicyEntry]) -> [EntryChange] {
        let o = Dictionary(old.map { ($0.source, $0) }, uniquingKeysWith: { a, _ in a })
        let n = Dictionary(new.map { ($0.source, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [EntryChange] = []
        let d = direction.rawValue
        func communities(_ e: PolicyEntry) -> String? {
            e.communities.isEmpty ? nil : e.communities.map(\.value).joined(separator: " ")
        }
        // A CR without items in this direction has no entry in its maps.
        func hasItems(_ e: PolicyEntry?) -> Bool { e.map { !$0.ipv4.isEmpty || !$0.ipv6.isEmpty } ?? false }
        for cr in Set(o.keys).union(n.keys).sorted() where hasItems(o[cr]) || hasItems(n[cr]) {
            switch (hasItems(o[cr]) ? o[cr] : nil, hasItems(n[cr]) ? n[cr] : nil) {
            case (nil, let e?): out.append(EntryChange(direction: d, cr: cr.value, kind: .added, old: nil, new: "spec.seq \(e.seq)"))
            case (let e?, nil): out.append(EntryChange(direction: d, cr: cr.value, kind: .removed, old: "spec.seq \(e.seq)", new: nil))
            case (let a?, let b?):
                if a.seq != b.seq { out.append(EntryChange(direction: d, cr: cr.value, kind: .seq, old: "\(a.seq)", new: "\(b.seq)")) }
                if direction == .export && a.communities != b.communities {
                    out.append(EntryChange(direction: d, cr: cr.value, kind: .community, old: communities(a), new: communities(b)))
                }
            default: break
            }
        }
        return out
    }

    static func spaceChanges(map: String, family: AddressFamily, old: Policy, new: Policy) -> [RegionChange] {
        let space = old.space([map], family: family, also: new) { (route: Route) -> SpaceLabel? in
            let o = old.decide(map, route)
            let n = new.decide(map, route)
            if o.permitted != n.permitted {
                return n.permitted
                    ? .permitted(by: Attribution(entry: n.entry, line: n.line), communities: (n.communities ?? []).map(\.value))
                    : .denied(was: Attribution(entry: o.entry, line: o.line), by: Attribution(denied: n))
            }
            if o.permitted && (o.communities ?? []) != (n.communities ?? []) {
                return .community(
                    old: (o.communities ?? []).map(\.value), new: (n.communities ?? []).map(\.value),
                    by: Attribution(entry: n.entry, line: n.line), was: Attribution(entry: o.entry, line: o.line))
            }
            return nil
        }
        return space.regions().map { region, label in
            switch label {
            case .permitted(let by, let c):
                RegionChange(
                    kind: .permitted, region: region.description, by: by, was: nil, oldCommunities: nil, newCommunities: c.isEmpty ? nil : c
                )
            case .denied(let was, let by):
                RegionChange(kind: .denied, region: region.description, by: by, was: was, oldCommunities: nil, newCommunities: nil)
            case .community(let o, let n, let by, let was):
                RegionChange(kind: .community, region: region.description, by: by, was: was, oldCommunities: o, newCommunities: n)
            }
        }
    }
}
