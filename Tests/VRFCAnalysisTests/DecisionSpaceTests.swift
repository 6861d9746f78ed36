import Testing
import VRFCAnalysis
import VRFCModel
import VRFCTestSupport

/// The region decomposition against brute force: every route of a small
/// universe (all prefixes inside 192.0.2.0/24, the prefixes covering it, and
/// random others) must lie in exactly one region whose label is the
/// evaluator's, or in none when the label is nil.
struct DecisionSpaceTests {
    static func randomList(_ rng: inout SplitMix64, count: Int) -> [ListLine] {
        (0..<count).map { i in
            let len = Int.random(in: 22...32, using: &rng)
            let host = UInt32.random(in: 0...1023, using: &rng)
            let base = PrefixKey(
                bits: UInt128(0xC000_0000 | host) << 96 | (len < 24 ? 0 : UInt128(0xC000_0200) << 96), length: len, family: .ipv4)
            let key =
                len < 24
                ? PrefixKey(bits: UInt128(0xC000_0000 | (UInt32.random(in: 0...3, using: &rng) << 8)) << 96, length: len, family: .ipv4)
                : PrefixKey(bits: base.bits, length: len, family: .ipv4)
            var ge: Int? = nil
            var le: Int? = nil
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: le = Int.random(in: len...32, using: &rng)
            case 1: ge = Int.random(in: Swift.max(len, 1)...32, using: &rng)
            case 2:
                let g = Int.random(in: Swift.max(len, 1)...32, using: &rng)
                ge = g
                le = Int.random(in: g...32, using: &rng)
            default: break
            }
            return ListLine(
                PrefixItem(seq: UInt32(i + 1), action: Bool.random(using: &rng) ? .permit : .deny, prefix: key.prefix, ge: ge, le: le),
                ref: ItemRef(cr: "c", direction: "import", index: i, seq: UInt32(i + 1)))
        }
    }

    static func randomPolicy(_ rng: inout SplitMix64) -> Policy {
        let entries = (0..<Int.random(in: 1...3, using: &rng)).map { e in
            RouteMapEntry(
                seq: 10 * (e + 1), permit: true,
                matches: [
                    .prefixList(
                        PrefixList(name: "pl\(e)", family: .ipv4, lines: randomList(&rng, count: Int.random(in: 0...6, using: &rng))))
                ],
                setCommunities: Bool.random(using: &rng) ? [try! Community(validating: "65000:\(e)")] : nil,
                origin: .cr(name: "cr\(e)", specSeq: 10 * (e + 1) - 1))
        }
        return Policy(maps: [RouteMap(name: "m", entries: entries)])
    }

    /// All prefixes inside 192.0.2.0/24 (511), the 24 covering it, and
    /// prefixes inside the neighbouring /22 and elsewhere.
    static func universe(_ rng: inout SplitMix64) -> [PrefixKey] {
        var out: [PrefixKey] = []
        let net = UInt128(0xC000_0200) << 96
        for len in 24...32 {
            for i in 0..<(1 << (len - 24)) {
                out.append(PrefixKey(bits: net | UInt128(i) << UInt128(128 - len), length: len, family: .ipv4))
            }
        }
        for len in 0..<24 { out.append(PrefixKey(bits: net, length: len, family: .ipv4)) }
        for _ in 0..<300 {
            let len = Int.random(in: 0...32, using: &rng)
            let bits = UInt128(0xC000_0000 | UInt32.random(in: 0...1023, using: &rng)) << 96
            out.append(
                PrefixKey(bits: Int.random(in: 0..<5, using: &rng) == 0 ? UInt128(rng.next()) << 64 : bits, length: len, family: .ipv4))
        }
        return out
    }

    func check<L: Hashable>(_ space: DecisionSpace<L>, _ universe: [PrefixKey], label: (Route) -> L?, seed: UInt64) {
        let regions = space.regions()
        var failures = 0
        for p in universe {
            let expected = label(Route(key: p))
            let containing = regions.filter { $0.region.contains(p) }
            let ok = expected == nil ? containing.isEmpty : (containing.count == 1 && containing[0].label == expected)
            if !ok && failures < 5 {
                failures += 1
                Issue.record(
                    "seed \(seed): \(p.prefix) expected \(String(describing: expected)), regions \(containing.map { "\($0.region) \($0.label)" })"
                )
            }
        }
    }

    @Test(arguments: 0..<150)
    func permittedSpaceMatchesBruteForce(_ n: Int) {
        let seed = 0x5BACE + UInt64(n)
        var rng = SplitMix64(seed: seed)
        let policy = Self.randomPolicy(&rng)
        let label: (Route) -> [String]? = { r in
            let d = policy.decide("m", r)
            return d.permitted ? [d.line.map { "\($0.item!.cr) \($0.seq)" } ?? "-"] + (d.communities ?? []).map(\.value) : nil
        }
        check(policy.space(["m"], family: .ipv4, label: label), Self.universe(&rng), label: label, seed: seed)
        // Without breakpoints (every length evaluated): the same regions.
        let full = DecisionSpace(family: .ipv4, anchors: policy.linePrefixes(["m"], family: .ipv4), label: label)
        #expect(
            full.regions().map { "\($0.region) \($0.label)" }
                == policy.space(["m"], family: .ipv4, label: label).regions().map { "\($0.region) \($0.label)" })
    }

    @Test(arguments: 0..<150)
    func changedSpaceMatchesBruteForce(_ n: Int) {
        let seed = 0xD1FF + UInt64(n)
        var rng = SplitMix64(seed: seed)
        let old = Self.randomPolicy(&rng)
        let new = Self.randomPolicy(&rng)
        let label: (Route) -> String? = { r in
            let o = old.decide("m", r)
            let n = new.decide("m", r)
            if o.permitted != n.permitted { return n.permitted ? "+" : "-" }
            return o.permitted && o.communities != n.communities ? "~" : nil
        }
        check(old.space(["m"], family: .ipv4, also: new, label: label), Self.universe(&rng), label: label, seed: seed)
    }

    @Test func regionsPrintAsPrefixListRanges() {
        let k = PrefixKey(pfx("203.0.113.0/25"))
        #expect(Region(key: k, minLength: 25, maxLength: 25).description == "203.0.113.0/25")
        #expect(Region(key: k, minLength: 25, maxLength: 32).description == "203.0.113.0/25 le 32")
        #expect(Region(key: k, minLength: 27, maxLength: 32).description == "203.0.113.0/25 ge 27")
        #expect(Region(key: k, minLength: 27, maxLength: 30).description == "203.0.113.0/25 ge 27 le 30")
    }

    /// A permit that covers a whole list's space merges into one region.
    @Test func shadowedItemsMergeIntoOneRegion() {
        let p = Policy(maps: [
            RouteMap(
                name: "m",
                entries: [
                    RouteMapEntry(
                        seq: 1, permit: true,
                        matches: [
                            .prefixList(
                                list([
                                    line(1, .permit, "203.0.113.0/24", le: 32), line(2, .permit, "203.0.113.0/25", le: 32),
                                    line(3, .deny, "203.0.113.0/26"),
                                ]))
                        ])
                ])
        ])
        let space = p.space(["m"], family: .ipv4) { (r: Route) -> Bool? in p.decide("m", r).permitted ? true : nil }
        #expect(space.regions().map(\.region.description) == ["203.0.113.0/24 le 32"])
    }
}
