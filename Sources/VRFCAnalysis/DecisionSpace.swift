import VRFCModel

/// A set of routes of one family: every prefix inside `prefix` whose length
/// is in `minLength...maxLength` — what one prefix-list line describes, and
/// how vrfc prints address space (`203.0.113.0/25 le 32`).
public struct Region: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let key: PrefixKey
    public let minLength: Int
    public let maxLength: Int

    public init(key: PrefixKey, minLength: Int, maxLength: Int) {
        precondition(key.length <= minLength && minLength <= maxLength && maxLength <= key.family.maxLength)
        self.key = key
        self.minLength = minLength
        self.maxLength = maxLength
    }

    public var prefix: IPPrefix { key.prefix }

    public func contains(_ p: PrefixKey) -> Bool {
        key.contains(p) && p.length >= minLength && p.length <= maxLength
    }

    /// Prefix-list notation: exact, `le`, `ge`, or `ge .. le`.
    public var description: String {
        let p = key.prefix.description
        if minLength == key.length { return maxLength == minLength ? p : "\(p) le \(maxLength)" }
        if maxLength == key.family.maxLength { return "\(p) ge \(minLength)" }
        return "\(p) ge \(minLength) le \(maxLength)"
    }

    public static func < (l: Self, r: Self) -> Bool { (l.key, l.minLength, l.maxLength) < (r.key, r.minLength, r.maxLength) }
}

/// The decision space of one family as disjoint regions, each with a label.
///
/// A route (A/L) is decided by the prefix-list lines whose prefix contains it.
/// Take the trie of all line prefixes (`anchors`): inside an anchor X but
/// outside every deeper anchor, the containing lines are those containing X,
/// so the decision depends on L only — `label(Route(anchor: X, length: L))`.
/// `cover` walks the binary trie from /0: at a node it emits, for every
/// length at which its whole subtree carries one label, a region of the node
/// itself; lengths where deeper anchors disagree are split into the two
/// halves, down to where they agree. The result is exact (every route with a
/// label is in exactly one region with that label) and merges whatever can
/// be merged at a node; the tests check it against brute force.
public struct DecisionSpace<Label: Hashable> {
    public let family: AddressFamily
    let anchors: [PrefixKey]
    let index: [PrefixKey: Int]
    /// labels[a][L - anchors[a].length]: the label (an index into `values`,
    /// -1 for none) of anchor a's own cell at length L. A node that is not an
    /// anchor has the cell label of its deepest anchor above it (the same
    /// lines contain it), so these are all the evaluations the walk needs.
    let labels: [[Int32]]
    let values: [Label]

    /// `breaks(anchor)`: lengths at which the lines containing the anchor
    /// start or stop matching (each line's minLength and maxLength + 1); the
    /// label is evaluated there only and holds until the next one.
    public init(family: AddressFamily, anchors: [PrefixKey], breaks: ((PrefixKey) -> [Int])? = nil, label: (Route) -> Label?) {
        self.family = family
        let sorted = Array(Set(anchors.filter { $0.family == family } + [PrefixKey.root(family)])).sorted()
        self.anchors = sorted
        index = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        var ids: [Label: Int32] = [:]
        var values: [Label] = []
        let max = family.maxLength
        labels = sorted.map { a in
            var row = [Int32](repeating: -1, count: max - a.length + 1)
            let points = breaks.map { b in Set(b(a).filter { $0 > a.length && $0 <= max } + [a.length]).sorted() } ?? Array(a.length...max)
            for (n, start) in points.enumerated() {
                let end = n + 1 < points.count ? points[n + 1] - 1 : max
                guard let l = label(Route(anchor: a, length: start)) else { continue }
                let id: Int32
                if let known = ids[l] {
                    id = known
                } else {
                    id = Int32(values.count)
                    ids[l] = id
                    values.append(l)
                }
                for length in start...end { row[length - a.length] = id }
            }
            return row
        }
        self.values = values
    }

    public func regions() -> [(region: Region, label: Label)] {
        var out: [(Region, Label)] = []
        cover(PrefixKey.root(family), owner: 0, 0, family.maxLength, &out)
        return out
    }

    /// Anchors strictly inside `x` (deeper than it): a contiguous range of
    /// the sorted array.
    private func descendants(_ x: PrefixKey) -> Range<Int> {
        let last = x.last
        var lo = 0
        var hi = anchors.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if anchors[mid].bits < x.bits || (anchors[mid].bits == x.bits && anchors[mid].length <= x.length) {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        var end = lo
        while end < anchors.count && anchors[end].bits <= last { end += 1 }
        return lo..<end
    }

    private func cellLabel(_ a: Int, _ length: Int) -> Int32 { labels[a][length - anchors[a].length] }

    /// Covers the routes inside `x` with lengths lo...hi; `owner` is the
    /// deepest anchor containing x (x itself when it is one).
    private func cover(_ x: PrefixKey, owner: Int, _ lo: Int, _ hi: Int, _ out: inout [(Region, Label)]) {
        guard lo <= hi else { return }
        let inner = descendants(x)
        // Per length: the label if the whole subtree agrees at that length
        // (.some(label or nil)), or .none if it must be split.
        var uniform: [Int32?] = []
        uniform.reserveCapacity(hi - lo + 1)
        for length in lo...hi {
            let own = cellLabel(owner, length)
            var agree = true
            for d in inner where anchors[d].length <= length {
                if cellLabel(d, length) != own {
                    agree = false
                    break
                }
            }
            uniform.append(agree ? .some(own) : .none)
        }
        var i = 0
        while i < uniform.count {
            var j = i
            switch uniform[i] {
            case .some(let l):
                while j + 1 < uniform.count, case .some(let m) = uniform[j + 1], m == l { j += 1 }
                if l >= 0 { out.append((Region(key: x, minLength: lo + i, maxLength: lo + j), values[Int(l)])) }
            case .none:
                while j + 1 < uniform.count, case .none = uniform[j + 1] { j += 1 }
                // Disagreement needs an anchor at or above this length, so it
                // is deeper than x and x can be split.
                for bit in 0...1 {
                    let c = x.child(bit)
                    cover(c, owner: index[c] ?? owner, lo + i, lo + j, &out)
                }
            }
            i = j + 1
        }
    }
}
