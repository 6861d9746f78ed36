import VRFCModel

// The route-maps and prefix-lists FRR is given, as values built from the IR
// in one place (`Policy.init(ir:)`). The FRR templates render the same IR;
// the differential test against a real bgpd keeps the two in step.

public typealias Direction = VRFNames.Direction

/// Where a prefix-list line came from: a CR's import or export item.
public struct ItemRef: Hashable, Sendable, Codable {
    public let cr: String
    public let direction: String
    /// 0-based position in the CR's list, as validation messages count.
    public let index: Int?
    public let seq: UInt32

    public init(cr: String, direction: String, index: Int?, seq: UInt32) {
        self.cr = cr
        self.direction = direction
        self.index = index
        self.seq = seq
        label = index.map { "item \($0 + 1)" } ?? "seq \(seq)"
        seqText = String(seq)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            cr: try c.decode(String.self, forKey: .cr), direction: try c.decode(String.self, forKey: .direction),
            index: try c.decodeIfPresent(Int.self, forKey: .index), seq: try c.decode(UInt32.self, forKey: .seq))
    }

    /// `item 2` (1-based, which is the default seq) as reviews say it;
    /// kept, not computed, since explain --batch prints it per prefix.
    public let label: String
    public var field: String { index.map { "spec.\(direction)[\($0)]" } ?? "spec.\(direction) seq \(seq)" }
    let seqText: String

    enum CodingKeys: String, CodingKey { case cr, direction, index, seq, label }
}

/// One prefix-list line with its length range resolved as FRR applies it:
/// neither ge nor le = exactly the prefix length; le alone = length...le;
/// ge alone = ge...max; both = ge...le.
public struct ListLine: Hashable, Sendable {
    public let seq: UInt32
    public let permit: Bool
    public let prefix: IPPrefix
    public let ge: Int?
    public let le: Int?
    public let key: PrefixKey
    public let minLength: Int
    public let maxLength: Int
    public let item: ItemRef?

    public init(_ item: PrefixItem, ref: ItemRef?) {
        seq = item.seq
        permit = item.action == .permit
        prefix = item.prefix
        ge = item.ge
        le = item.le
        key = PrefixKey(item.prefix)
        self.item = ref
        var t = "\(item.action.rawValue) \(item.prefix)"
        if let ge = item.ge { t += " ge \(ge)" }
        if let le = item.le { t += " le \(le)" }
        text = t
        switch (item.ge, item.le) {
        case (nil, nil): (minLength, maxLength) = (item.prefix.length, item.prefix.length)
        case (nil, let le?): (minLength, maxLength) = (item.prefix.length, le)
        case (let ge?, nil): (minLength, maxLength) = (ge, item.prefix.family.maxLength)
        case (let ge?, let le?): (minLength, maxLength) = (ge, le)
        }
    }

    /// FRR's `ip prefix-list` line text after `seq N`.
    public let text: String
}

public struct PrefixList: Sendable {
    public let name: String
    public let family: AddressFamily
    /// Sorted by seq: FRR takes the first match by seq.
    public let lines: [ListLine]
    /// The same lines as plain values, what matching reads (no reference
    /// counting in the loop that decides millions of prefixes).
    let compact: [CompactLine]

    public init(name: String, family: AddressFamily, lines: [ListLine]) {
        self.name = name
        self.family = family
        self.lines = lines.sorted { $0.seq < $1.seq }
        compact = self.lines.map {
            CompactLine(bits: $0.key.bits, length: $0.key.length, minLength: $0.minLength, maxLength: $0.maxLength, permit: $0.permit)
        }
    }
}

struct CompactLine: Sendable {
    let bits: UInt128
    let length: Int
    let minLength: Int
    let maxLength: Int
    let permit: Bool
}

public enum MatchClause: Sendable {
    case prefixList(PrefixList)
    case tag(UInt32)
}

/// Where a route-map entry came from.
public enum EntryOrigin: Hashable, Sendable {
    /// `deny 1 / match tag 20000` of the export maps: routes the fabric tagged.
    case fabricTagRule
    /// A CR's entry at `spec.seq + 1`.
    case cr(name: String, specSeq: Int)
    /// The match-less `deny 65535` of a map no CR gives an entry: it makes
    /// the map defined, so a base config's `call` of it denies too.
    case noEntries
    /// Written by hand (tests, base configs).
    case other
}

public struct RouteMapEntry: Sendable {
    public let seq: Int
    public let permit: Bool
    /// All must hold; none = the entry matches every route.
    public let matches: [MatchClause]
    /// `set community ...` (replaces the route's communities); nil = no set.
    public let setCommunities: [Community]?
    /// `call NAME`: an undefined map is skipped, as FRR does.
    public let call: String?
    public let origin: EntryOrigin

    public init(
        seq: Int, permit: Bool, matches: [MatchClause], setCommunities: [Community]? = nil, call: String? = nil,
        origin: EntryOrigin = .other
    ) {
        self.seq = seq
        self.permit = permit
        self.matches = matches
        self.setCommunities = setCommunities
        self.call = call
        self.origin = origin
    }
}

public struct RouteMap: Sendable {
    public let name: String
    /// Sorted by seq.
    public let entries: [RouteMapEntry]
    /// The entries as plain values, and every prefix-list line of the map in
    /// one array: what the evaluator walks, so deciding a route touches no
    /// reference-counted storage until an entry matches.
    let plan: [PlanEntry]
    let lines: [CompactLine]

    public init(name: String, entries: [RouteMapEntry]) {
        self.name = name
        self.entries = entries.sorted { $0.seq < $1.seq }
        var lines: [CompactLine] = []
        plan = self.entries.map { e in
            switch e.matches.count == 1 ? e.matches[0] : nil {
            case .tag(let t)?:
                return PlanEntry(kind: .tag, tag: t, family: .ipv4, lines: 0..<0)
            case .prefixList(let l)?:
                let start = lines.count
                lines += l.compact
                return PlanEntry(kind: .list, tag: 0, family: l.family, lines: start..<lines.count)
            case nil:
                return PlanEntry(kind: e.matches.isEmpty ? .always : .clauses, tag: 0, family: .ipv4, lines: 0..<0)
            }
        }
        self.lines = lines
    }
}

struct PlanEntry: Sendable {
    enum Kind: Sendable { case always, tag, list, clauses }
    let kind: Kind
    let tag: UInt32
    let family: AddressFamily
    /// The entry's prefix-list lines in `RouteMap.lines`.
    let lines: Range<Int>
}

/// Every route-map of a node by name. A name without a map is what FRR
/// calls an undefined route-map: on a neighbor it denies everything, as a
/// `call` target it is skipped.
public struct Policy: Sendable {
    public var maps: [String: RouteMap]
    /// The tag the fabric puts on routes that must not leak back.
    public static let fabricTag: UInt32 = 20000
    /// The entry that defines a map without CR entries.
    public static let noEntriesSeq = 65535

    public init(maps: [RouteMap]) {
        self.maps = Dictionary(maps.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The maps vrfc generates for a node (templates/route_maps.mustache and
    /// prefix_lists.mustache): per VRF, direction and family, the export maps
    /// start with the fabric-tag deny, then one permit entry per CR that has
    /// items of that family, at `spec.seq + 1`, matching its prefix-list, with
    /// `set community` on exports. A map without CR entries ends in a
    /// match-less `deny 65535`, so every map of a named VRF is defined.
    public init(ir: NodeIR) {
        var maps: [RouteMap] = []
        for vrf in ir.vrfs {
            for direction in Direction.allCases {
                for family in AddressFamily.allCases {
                    maps.append(Self.generated(vrf: vrf, direction: direction, family: family))
                }
            }
        }
        self.init(maps: maps)
    }

    static func generated(vrf: VRF, direction: Direction, family: AddressFamily) -> RouteMap {
        var entries: [RouteMapEntry] = []
        if direction == .export {
            entries.append(RouteMapEntry(seq: 1, permit: false, matches: [.tag(fabricTag)], origin: .fabricTagRule))
        }
        for entry in direction == .import ? vrf.imports : vrf.exports {
            let items = entry.items(family)
            guard !items.isEmpty else { continue }
            let ref = { (item: PrefixItem) in
                ItemRef(cr: entry.source.value, direction: direction.rawValue, index: item.index, seq: item.seq)
            }
            let list = PrefixList(
                name: VRFNames(vrf.name).prefixList(seq: entry.seq, family, direction), family: family,
                lines: items.sorted { $0.seq < $1.seq }.map { ListLine($0, ref: ref($0)) })
            let communities = direction == .export ? entry.communities : []
            entries.append(
                RouteMapEntry(
                    seq: entry.routeMapSeq, permit: true, matches: [.prefixList(list)],
                    setCommunities: communities.isEmpty ? nil : communities,
                    origin: .cr(name: entry.source.value, specSeq: entry.seq)))
        }
        if !entries.contains(where: \.permit) {
            entries.append(RouteMapEntry(seq: Self.noEntriesSeq, permit: false, matches: [], origin: .noEntries))
        }
        return RouteMap(name: VRFNames(vrf.name).routeMap(family, direction), entries: entries)
    }

    public static func mapName(_ vrf: VRFName, _ direction: Direction, _ family: AddressFamily) -> String {
        VRFNames(vrf).routeMap(family, direction)
    }

    /// The lengths at which lines of the given maps that contain `anchor`
    /// start or stop matching (DecisionSpace's breakpoints).
    public func lengthBreaks(_ names: [String], _ anchor: PrefixKey) -> [Int] {
        var out: [Int] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard seen.insert(name).inserted, let map = maps[name] else { return }
            for e in map.entries {
                for case .prefixList(let l) in e.matches where l.family == anchor.family {
                    for line in l.compact where line.length <= anchor.length && anchor.bits & PrefixKey.mask(line.length) == line.bits {
                        out.append(line.minLength)
                        out.append(line.maxLength + 1)
                    }
                }
                if let c = e.call { visit(c) }
            }
        }
        names.forEach(visit)
        return out
    }

    /// The decision space of the given maps over one family, labelled.
    public func space<Label: Hashable>(_ names: [String], family: AddressFamily, also other: Policy? = nil, label: (Route) -> Label?)
        -> DecisionSpace<Label>
    {
        let anchors = linePrefixes(names, family: family) + (other?.linePrefixes(names, family: family) ?? [])
        return DecisionSpace(
            family: family, anchors: anchors,
            breaks: { a in self.lengthBreaks(names, a) + (other?.lengthBreaks(names, a) ?? []) }, label: label)
    }

    /// Every prefix that starts a prefix-list line in the given maps: the
    /// decision over a family changes only at these prefixes.
    public func linePrefixes(_ names: [String], family: AddressFamily) -> [PrefixKey] {
        var out: Set<PrefixKey> = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard seen.insert(name).inserted, let map = maps[name] else { return }
            for e in map.entries {
                for case .prefixList(let l) in e.matches where l.family == family { out.formUnion(l.lines.map(\.key)) }
                if let c = e.call { visit(c) }
            }
        }
        names.forEach(visit)
        return out.sorted()
    }
}
