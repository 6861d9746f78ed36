import Testing
import VRFCAnalysis
import VRFCDriver
import VRFCModel
import VRFCTestSupport

/// `vrfc diff`'s space changes against the evaluator, end to end from CRs:
/// random nodes and a mutated copy (an action flipped, an item removed, a
/// deny inserted above a permit, a CR moved to another spec.seq, another
/// community); for routes around every item, a route whose decision changed
/// lies in exactly one reported region of the right kind, and a route whose
/// decision did not change lies in none.
struct IntentDiffPropertyTests {
    static func mutate(_ node: inout RandomNode, _ rng: inout SplitMix64) {
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            guard !node.crs.isEmpty else { return }
            let i = Int.random(in: 0..<node.crs.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                if !node.crs[i].imports.isEmpty {
                    let j = Int.random(in: 0..<node.crs[i].imports.count, using: &rng)
                    node.crs[i].imports[j].action = node.crs[i].imports[j].action == "permit" ? "deny" : "permit"
                }
            case 1:
                if !node.crs[i].exports.isEmpty {
                    node.crs[i].exports.remove(at: Int.random(in: 0..<node.crs[i].exports.count, using: &rng))
                }
            case 2:
                RandomRoutes.addDenyAbovePermits(&node, &rng)
            case 3:
                let used = Set(node.crs.filter { $0.vrf == node.crs[i].vrf }.map(\.seq))
                var seq = Int.random(in: 1...65534, using: &rng)
                while used.contains(seq) { seq = Int.random(in: 1...65534, using: &rng) }
                node.crs[i].seq = seq
            default:
                node.crs[i].community = node.crs[i].community == nil ? "65000:\(Int.random(in: 0...9, using: &rng))" : nil
            }
        }
    }

    static func region(_ text: String) -> Region {
        let parts = text.split(separator: " ")
        let p = pfx(String(parts[0]))
        var lo = p.length
        var hi = p.length
        var ge: Int? = nil
        var le: Int? = nil
        var k = 1
        while k + 1 < parts.count {
            if parts[k] == "ge" { ge = Int(parts[k + 1]) }
            if parts[k] == "le" { le = Int(parts[k + 1]) }
            k += 2
        }
        switch (ge, le) {
        case (nil, let l?): hi = l
        case (let g?, nil): (lo, hi) = (g, p.family.maxLength)
        case (let g?, let l?): (lo, hi) = (g, l)
        default: break
        }
        return Region(key: PrefixKey(p), minLength: lo, maxLength: hi)
    }

    func compile(_ node: RandomNode, _ dir: TempDir, _ tag: String) throws -> NodeIR {
        let config = try dir.write("\(tag)-config.yaml", node.configYAML())
        let crs = try dir.write("\(tag)-crs.\(node.fileExtension)", node.crsText())
        return try Compiler.ir(.init(config: config, objects: [crs]))
    }

    @Test(arguments: 0..<25)
    func reportedRegionsAreExactlyTheChangedDecisions(_ n: Int) throws {
        let seed = 0x1D1FF + UInt64(n) * 104_729
        var rng = SplitMix64(seed: seed)
        let old = RandomNode.generate(&rng)
        var new = old
        Self.mutate(&new, &rng)
        let dir = try TempDir()
        let a = try compile(old, dir, "old")
        let b = try compile(new, dir, "new")
        let diff = IntentDiff(old: a, new: b)
        let pa = Policy(ir: a)
        let pb = Policy(ir: b)
        var both = b
        both.vrfs += a.vrfs
        var failures: [String] = []
        var changed = 0
        for family in AddressFamily.allCases {
            let routes = RandomRoutes.near(both, family: family, count: 400, &rng)
            for vrf in Set(both.vrfs.map(\.name)).sorted() {
                for direction in Direction.allCases {
                    let map = Policy.mapName(vrf, direction, family)
                    let reported =
                        diff.vrfs.first { $0.vrf == vrf.value }?.space
                        .first { $0.direction == direction.rawValue && $0.family == family.rawValue }?.changes ?? []
                    let regions = reported.map { (Self.region($0.region), $0.kind) }
                    for r in routes {
                        let o = pa.decide(map, Route(r.prefix))
                        let nd = pb.decide(map, Route(r.prefix))
                        let expected: RegionChange.Kind? =
                            o.permitted != nd.permitted
                            ? (nd.permitted ? .permitted : .denied)
                            : (o.permitted && o.communities != nd.communities ? .community : nil)
                        let hits = regions.filter { $0.0.contains(PrefixKey(r.prefix)) }
                        if expected != nil { changed += 1 }
                        let ok = expected == nil ? hits.isEmpty : (hits.count == 1 && hits[0].1 == expected)
                        if !ok && failures.count < 5 {
                            failures.append(
                                "\(map) \(r.prefix): expected \(String(describing: expected)), reported \(hits.map { "\($0.0) \($0.1)" })")
                        }
                    }
                }
            }
        }
        #expect(failures.isEmpty, "seed \(seed): \(failures.joined(separator: "\n"))")
        // An empty diff means no sampled decision changed, and vice versa.
        #expect(diff.vrfs.allSatisfy { $0.space.isEmpty } == (changed == 0), "seed \(seed): \(changed) changed decisions")
    }
}
