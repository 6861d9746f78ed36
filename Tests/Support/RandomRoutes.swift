import VRFCAnalysis
import VRFCModel

/// A route a randomized test offers a policy: a prefix and maybe a tag.
public struct TestRoute: Sendable {
    public let prefix: IPPrefix
    public let tag: UInt32?
}

/// Random routes and policies for the evaluator's tests, shared by the
/// property tests (no privileges) and the differential run against a real
/// bgpd (root).
public enum RandomRoutes {
    /// Random routes near the policy's items (inside them at lengths around
    /// their ranges, covering them, host routes), the family's /0, and
    /// random documentation prefixes; about one in seven tagged 20000.
    public static func near(_ ir: NodeIR, family: AddressFamily, count: Int, _ rng: inout SplitMix64) -> [TestRoute] {
        let items = ir.vrfs.flatMap { $0.imports + $0.exports }.flatMap { $0.items(family) }
        let max = family.maxLength
        let docs: [IPPrefix] =
            family == .ipv4
            ? ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map { try! IPPrefix.parse($0).get() }
            : [try! IPPrefix.parse("2001:db8::/32").get()]
        var seen: Set<IPPrefix> = [PrefixKey.root(family).prefix]
        var out: [IPPrefix] = [PrefixKey.root(family).prefix]
        func random(in base: PrefixKey, length: Int) -> IPPrefix {
            let noise = UInt128(rng.next()) << 64 | UInt128(rng.next())
            let bits = length <= base.length ? base.bits : base.bits | (noise & ~PrefixKey.mask(base.length))
            return PrefixKey(bits: bits, length: length, family: family).prefix
        }
        var attempts = 0
        while out.count < count && attempts < count * 20 {
            attempts += 1
            let p: IPPrefix
            if !items.isEmpty && Int.random(in: 0..<10, using: &rng) < 8 {
                let item = items.randomElement(using: &rng)!
                let key = PrefixKey(item.prefix)
                let hi = Swift.min(max, (item.le ?? item.ge.map { _ in max } ?? item.prefix.length) + 2)
                let lo = Swift.max(0, key.length - 3)
                let length = Int.random(in: 0..<8, using: &rng) == 0 ? max : Int.random(in: lo...hi, using: &rng)
                p = random(in: key, length: length)
            } else {
                let base = PrefixKey(docs.randomElement(using: &rng)!)
                p = random(in: base, length: Int.random(in: Swift.max(0, base.length - 8)...max, using: &rng))
            }
            if seen.insert(p).inserted { out.append(p) }
        }
        return out.map { TestRoute(prefix: $0, tag: Int.random(in: 0..<7, using: &rng) == 0 ? Policy.fabricTag : nil) }
    }

    /// Above about half of the permit items, a deny item for part of their
    /// space (a longer prefix inside, up to host routes): first match must
    /// let the deny win there and the permit elsewhere.
    public static func addDenyAbovePermits(_ node: inout RandomNode, _ rng: inout SplitMix64) {
        for i in node.crs.indices {
            for list in [\RandomNode.CR.imports, \RandomNode.CR.exports] {
                guard let permit = node.crs[i][keyPath: list].first(where: { $0.action == "permit" }), Bool.random(using: &rng),
                    case .success(let p) = IPPrefix.parse(permit.cidr)
                else { continue }
                let key = PrefixKey(p)
                let max = p.family.maxLength
                let length = Swift.min(max, key.length + Int.random(in: 1...4, using: &rng))
                let noise = UInt128(rng.next()) << 64 | UInt128(rng.next())
                let sub = PrefixKey(bits: key.bits | (noise & ~PrefixKey.mask(key.length)), length: length, family: p.family).prefix
                guard !node.crs[i][keyPath: list].contains(where: { $0.cidr == sub.text }) else { continue }
                let item = RandomNode.Item(cidr: sub.text, action: "deny", seq: nil, ge: nil, le: Bool.random(using: &rng) ? max : nil)
                node.crs[i][keyPath: list].insert(item, at: 0)
            }
        }
    }
}
