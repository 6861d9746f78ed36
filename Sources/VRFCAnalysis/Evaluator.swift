import VRFCModel

// FRR 8.4's route-map and prefix-list semantics (lib/routemap.c
// route_map_apply_ext, lib/plist.c prefix_list_apply_ext), the one
// evaluator behind vrfc diff, explain and graph:
// - a prefix-list's first line by seq whose prefix contains the route and
//   whose length range holds its length decides; no line = deny;
// - `match ip address prefix-list` holds only when that decision is permit,
//   so a deny line makes the entry not match and the next entry is tried;
// - route-map entries in seq order; the first whose matches all hold
//   decides: deny, or permit after its sets (and a `call`); an entry with no
//   match clause matches every route; past the last entry: deny;
// - `call` of an undefined map is skipped; a called map's deny denies;
// - a neighbor's route-map that is not defined denies every route.

/// A route as the evaluator sees it. For a real route `anchor` is its
/// prefix. For a cell of a decision space, `anchor` is a node of the trie of
/// line prefixes and `length` >= its length: all routes inside `anchor` with
/// that length and outside deeper line prefixes are decided alike, and this
/// value stands for them (a line contains them iff it contains `anchor`).
public struct Route: Sendable {
    public let anchor: PrefixKey
    public let length: Int
    public let tag: UInt32?

    public init(_ prefix: IPPrefix, tag: UInt32? = nil) {
        self.init(key: PrefixKey(prefix), tag: tag)
    }

    public init(key: PrefixKey, tag: UInt32? = nil) {
        anchor = key
        length = key.length
        self.tag = tag
    }

    public init(anchor: PrefixKey, length: Int, tag: UInt32? = nil) {
        self.anchor = anchor
        self.length = length
        self.tag = tag
    }

    public var family: AddressFamily { anchor.family }
}

/// A route-map entry that took part in a decision.
public struct EntryRef: Hashable, Sendable {
    public let map: String
    public let seq: Int
    public let permit: Bool
    public let origin: EntryOrigin
}

/// What one entry did with the route (explain's trace).
public struct Step: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// Every match clause held (`line`: the permit line of its prefix-list).
        case matched(line: ListLine?)
        /// Its prefix-list's first matching line is a deny.
        case deniedByList(line: ListLine)
        /// No line of its prefix-list matches.
        case noLine(list: String)
        case tagDiffers(UInt32)
        /// `call` of a map that does not exist: skipped.
        case callSkipped(String)
        case called(String)
    }

    public let entry: EntryRef
    public let outcome: Outcome
}

public struct Decision: Hashable, Sendable {
    public var permitted = false
    /// What `set community` left on the route; nil when no entry set one.
    public var communities: [Community]? = nil
    /// The entry whose action decided; nil = implicit deny (or undefined map).
    public var entry: EntryRef? = nil
    /// The prefix-list line that made the deciding entry match.
    public var line: ListLine? = nil
    /// The first deny line that kept an entry from matching (why a route that
    /// some entry's list covers is still denied).
    public var firstDenyLine: ListLine? = nil
    /// Set when the applied map itself is not defined (FRR denies all).
    public var undefinedMap: String? = nil
    /// Filled only when asked for (explain).
    public var steps: [Step] = []
}

extension Policy {
    /// The decision FRR makes when route-map `name` is applied to `route`,
    /// e.g. as a neighbor's `route-map NAME in|out`.
    public func decide(_ name: String, _ route: Route, trace: Bool = false) -> Decision {
        decide(map: maps[name], name: name, route, trace: trace)
    }

    /// The same with the map looked up once (batch mode decides many routes
    /// against one map); `map` nil = the map `name` is not defined.
    public func decide(map: RouteMap?, name: String, _ route: Route, trace: Bool = false) -> Decision {
        var d = Decision()
        guard let map else {
            d.undefinedMap = name
            return d
        }
        d.permitted = apply(map, route, &d, depth: 0, trace: trace)
        return d
    }

    /// FRR's RMAP_RECURSION_LIMIT.
    static let recursionLimit = 10

    private func apply(_ map: RouteMap, _ route: Route, _ d: inout Decision, depth: Int, trace: Bool) -> Bool {
        for i in map.plan.indices {
            let plan = map.plan[i]
            var matched = true
            // The matching line: (prefix-list, index in it).
            var line: (list: Int, index: Int)? = nil
            var stop: Step.Outcome? = nil
            switch plan.kind {
            case .always:
                break
            case .tag:
                if route.tag != plan.tag {
                    matched = false
                    if trace { stop = .tagDiffers(plan.tag) }
                }
            case .list:
                // `match ip address prefix-list` never holds for an IPv6 route and vice versa.
                guard plan.family == route.family, let n = Self.firstLine(map.lines, plan.lines, route) else {
                    matched = false
                    if trace, case .prefixList(let l) = map.entries[i].matches[0] { stop = .noLine(list: l.name) }
                    break
                }
                if map.lines[plan.lines.lowerBound + n].permit {
                    line = (0, n)
                } else {
                    matched = false
                    if d.firstDenyLine == nil || trace, case .prefixList(let l) = map.entries[i].matches[0] {
                        if d.firstDenyLine == nil { d.firstDenyLine = l.lines[n] }
                        if trace { stop = .deniedByList(line: l.lines[n]) }
                    }
                }
            case .clauses:
                // Several match clauses: all must hold.
                for (c, clause) in map.entries[i].matches.enumerated() {
                    switch clause {
                    case .tag(let t):
                        if route.tag != t {
                            matched = false
                            stop = .tagDiffers(t)
                        }
                    case .prefixList(let l):
                        guard l.family == route.family, let n = Self.firstLine(l.compact, l.compact.indices, route) else {
                            matched = false
                            stop = .noLine(list: l.name)
                            break
                        }
                        if l.compact[n].permit {
                            line = (c, n)
                        } else {
                            matched = false
                            if d.firstDenyLine == nil { d.firstDenyLine = l.lines[n] }
                            stop = .deniedByList(line: l.lines[n])
                        }
                    }
                    if !matched { break }
                }
            }
            guard matched else {
                if trace, let stop {
                    let e = map.entries[i]
                    d.steps.append(Step(entry: EntryRef(map: map.name, seq: e.seq, permit: e.permit, origin: e.origin), outcome: stop))
                }
                continue
            }
            let entry = map.entries[i]
            let ref = EntryRef(map: map.name, seq: entry.seq, permit: entry.permit, origin: entry.origin)
            var matchedLine: ListLine? = nil
            if let line, case .prefixList(let l) = entry.matches[line.list] { matchedLine = l.lines[line.index] }
            if trace { d.steps.append(Step(entry: ref, outcome: .matched(line: matchedLine))) }
            guard entry.permit else {
                d.entry = ref
                d.line = matchedLine
                return false
            }
            if let set = entry.setCommunities { d.communities = set }
            if let call = entry.call {
                if let called = maps[call] {
                    if trace { d.steps.append(Step(entry: ref, outcome: .called(call))) }
                    guard depth < Self.recursionLimit, apply(called, route, &d, depth: depth + 1, trace: trace) else { return false }
                } else if trace {
                    d.steps.append(Step(entry: ref, outcome: .callSkipped(call)))
                }
            }
            d.entry = ref
            d.line = matchedLine
            return true
        }
        return false
    }

    /// Index of the first line (by seq) that contains the route, if any.
    /// Index (relative to the range) of the first line by seq in
    /// `all[range]` that contains the route, if any.
    @inline(__always)
    static func firstLine(_ all: [CompactLine], _ range: Range<Int>, _ route: Route) -> Int? {
        let bits = route.anchor.bits
        let anchorLength = route.anchor.length
        let length = route.length
        return all.withUnsafeBufferPointer { lines in
            for i in range {
                let l = lines[i]
                if l.length <= anchorLength && bits & PrefixKey.mask(l.length) == l.bits
                    && length >= l.minLength && length <= l.maxLength
                {
                    return i - range.lowerBound
                }
            }
            return nil
        }
    }
}
