import Foundation

/// A small, fast, seedable generator, so a failing randomized case can be
/// replayed from the seed printed in the test's message.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random but valid node: config plus CRs, written in one of the accepted
/// input formats. Every string field is a slot a hostile value can replace.
public struct RandomNode: Sendable {
    public struct Item: Sendable {
        public var cidr: String, action: String, seq: UInt32?, ge: Int?, le: Int?

        public init(cidr: String, action: String, seq: UInt32? = nil, ge: Int? = nil, le: Int? = nil) {
            (self.cidr, self.action, self.seq, self.ge, self.le) = (cidr, action, seq, ge, le)
        }
    }

    public struct CR: Sendable {
        public var name: String, vrf: String, seq: Int
        public var imports: [Item], exports: [Item]
        public var aggregates: [String]
        public var community: String?
    }

    public var vnimap: [(String, Int)] = []
    public var vrfConfig: [(String, Int, String?)] = []
    public var skip: [String] = []
    public var bpfInterfaces: [String] = []
    public var serverASN: UInt32 = 64510
    public var crs: [CR] = []
    public var format: Format = .yaml

    public enum Format: CaseIterable, Sendable { case yaml, list, json }

    /// The base config used with generated nodes (its `router bgp` ASN is
    /// the node's serverASN; its router-id differs from the VRF instances'
    /// `--router-id`, or the dv./vd. sessions could not come up).
    public var baseConfig: String {
        """
        hostname {{.Hostname}}
        !
        #++{{.VRFs}}
        !
        router bgp \(serverASN)
         bgp router-id 198.51.100.1
         #++{{.Neighbors}}
         !
         address-family ipv4 unicast
          #++{{.NeighborsV4}}
         exit-address-family
         !
         address-family ipv6 unicast
          #++{{.NeighborsV6}}
         exit-address-family
        exit
        !
        #++{{.BGP}}
        !
        #++{{.PrefixLists}}
        !
        #++{{.RouteMaps}}
        !

        """
    }

    public static func generate<R: RandomNumberGenerator>(_ rng: inout R) -> RandomNode {
        var node = RandomNode()
        node.format = Format.allCases.randomElement(using: &rng)!
        node.serverASN = [64510, 4_200_065_169, 65000].randomElement(using: &rng)!
        let nameChars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        var names: Set<String> = []
        let vrfCount = Int.random(in: 1...6, using: &rng)
        while names.count < vrfCount {
            let len = Int.random(in: 1...12, using: &rng)
            names.insert(String((0..<len).map { _ in nameChars.randomElement(using: &rng)! }))
        }
        var vni = Int.random(in: 1...16_000_000, using: &rng)
        for name in names.sorted() {
            vni += Int.random(in: 1...1000, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: node.vnimap.append((name, vni))
            case 1: node.vrfConfig.append((name, vni, nil))
            case 2: node.vrfConfig.append((name, vni, randomRT(&rng)))
            default: node.skip.append(name)
            }
        }
        if Bool.random(using: &rng) { node.bpfInterfaces = ["eth1", "br.mgmt"] }
        var crIndex = 0
        for name in names.sorted() {
            var seqs: Set<Int> = []
            let n = Int.random(in: 1...3, using: &rng)
            while seqs.count < n { seqs.insert(Int.random(in: 1...65534, using: &rng)) }
            for seq in seqs.sorted() {
                crIndex += 1
                let isSkip = node.skip.contains(name)
                node.crs.append(
                    CR(
                        name: "cr-\(crIndex)-\(seq)", vrf: name, seq: seq,
                        imports: randomItems(&rng), exports: randomItems(&rng),
                        aggregates: isSkip
                            ? []
                            : Array(
                                Set(
                                    (0..<Int.random(in: 0...2, using: &rng)).map { _ in randomPrefix(&rng) }
                                        .filter { $0.1 < $0.2 }.map(\.0))
                            ).sorted(),
                        community: Bool.random(using: &rng)
                            ? [
                                "65000:\(Int.random(in: 0...65535, using: &rng))", "no-export", "blackhole",
                                // Several, not in FRR's order: vrfc sorts them as FRR does.
                                "65001:\(Int.random(in: 0...65535, using: &rng)) 65000:1 no-export",
                            ].randomElement(using: &rng)! : nil))
            }
        }
        node.crs.shuffle(using: &rng)
        return node
    }

    static func randomRT<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: "\(Int.random(in: 1...65535, using: &rng)):\(UInt32.random(in: 0...UInt32.max, using: &rng))"
        case 1: "\(UInt32.random(in: 65536...UInt32.max, using: &rng)):\(Int.random(in: 0...65535, using: &rng))"
        default: "192.0.2.\(Int.random(in: 0...255, using: &rng)):\(Int.random(in: 0...65535, using: &rng))"
        }
    }

    /// A canonical documentation prefix and its family's maximum length.
    static func randomPrefix<R: RandomNumberGenerator>(_ rng: inout R) -> (String, Int, Int) {
        if Bool.random(using: &rng) {
            let net = [(192, 0, 2), (198, 51, 100), (203, 0, 113)].randomElement(using: &rng)!
            let len = Int.random(in: 24...32, using: &rng)
            let host = UInt32.random(in: 0...255, using: &rng)
            let masked = len >= 32 ? host : host & ~((UInt32(1) << UInt32(32 - len)) - 1)
            return ("\(net.0).\(net.1).\(net.2).\(masked)/\(len)", len, 32)
        } else {
            let len = Int.random(in: 32...64, using: &rng)
            var g2 = UInt16.random(in: 0...UInt16.max, using: &rng)
            var g3 = UInt16.random(in: 0...UInt16.max, using: &rng)
            if len < 48 { g2 &= ~UInt16((1 << (48 - len)) - 1) }
            if len <= 32 { g2 = 0 }
            if len < 64 { g3 = len <= 48 ? 0 : g3 & ~UInt16((1 << (64 - len)) - 1) }
            let groups = ["2001", "db8", String(g2, radix: 16), String(g3, radix: 16)]
            // RFC 5952: drop trailing zero groups into "::".
            var kept = groups
            while kept.count > 2, kept.last == "0" { kept.removeLast() }
            let text = kept.count == 4 ? kept.joined(separator: ":") + "::" : kept.joined(separator: ":") + "::"
            return ("\(text)/\(len)", len, 128)
        }
    }

    static func randomItems<R: RandomNumberGenerator>(_ rng: inout R) -> [Item] {
        var items: [Item] = []
        var seqs: Set<UInt32> = []
        var seen: Set<String> = []
        for i in 0..<Int.random(in: 0...5, using: &rng) {
            let (cidr, len, max) = randomPrefix(&rng)
            var ge: Int? = nil
            var le: Int? = nil
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: le = Int.random(in: Swift.max(len, 1)...max, using: &rng)
            case 1: ge = Int.random(in: Swift.max(len, 1)...max, using: &rng)
            case 2:
                let g = Int.random(in: Swift.max(len, 1)...max, using: &rng)
                ge = g
                le = Int.random(in: g...max, using: &rng)
            default: break
            }
            let action = Bool.random(using: &rng) ? "permit" : "deny"
            let key = "\(cidr) \(action) \(ge ?? -1) \(le ?? -1)"
            guard seen.insert(key).inserted else { continue }
            var seq: UInt32? = nil
            if Bool.random(using: &rng) {
                var s = UInt32.random(in: 100...UInt32.max, using: &rng)
                while seqs.contains(s) { s = UInt32.random(in: 100...UInt32.max, using: &rng) }
                seq = s
            }
            seqs.insert(seq ?? UInt32(i + 1))
            items.append(Item(cidr: cidr, action: action, seq: seq, ge: ge, le: le))
        }
        return items
    }

    // MARK: rendering

    /// A JSON string literal: valid YAML too, and escapes anything hostile.
    static func q(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }

    public func configYAML() -> String {
        var s = ""
        if !vnimap.isEmpty { s += "vnimap:\n" + vnimap.map { "  \(Self.q($0.0)): \($0.1)\n" }.joined() }
        if !vrfConfig.isEmpty {
            s +=
                "vrfConfig:\n"
                + vrfConfig.map { name, vni, rt in
                    "  \(Self.q(name)): {vni: \(vni)\(rt.map { ", rt: \(Self.q($0))" } ?? "")}\n"
                }.joined()
        }
        if !skip.isEmpty { s += "skipVRFConfig:\n" + skip.map { "- \(Self.q($0))\n" }.joined() }
        if !bpfInterfaces.isEmpty { s += "bpfInterfaces:\n" + bpfInterfaces.map { "- \(Self.q($0))\n" }.joined() }
        s += "serverASN: \(serverASN)\n"
        return s
    }

    func itemJSON(_ i: Item) -> String {
        var parts = ["\"cidr\": \(Self.q(i.cidr))", "\"action\": \(Self.q(i.action))"]
        if let s = i.seq { parts.append("\"seq\": \(s)") }
        if let g = i.ge { parts.append("\"ge\": \(g)") }
        if let l = i.le { parts.append("\"le\": \(l)") }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    func objectJSON(_ cr: CR) -> String {
        var spec = ["\"vrf\": \(Self.q(cr.vrf))", "\"seq\": \(cr.seq)"]
        spec.append("\"import\": [" + cr.imports.map(itemJSON).joined(separator: ", ") + "]")
        spec.append("\"export\": [" + cr.exports.map(itemJSON).joined(separator: ", ") + "]")
        if !cr.aggregates.isEmpty { spec.append("\"aggregate\": [" + cr.aggregates.map(Self.q).joined(separator: ", ") + "]") }
        if let c = cr.community { spec.append("\"community\": \(Self.q(c))") }
        return """
            {"apiVersion": "network.schiff.telekom.de/v1alpha1", "kind": "VRFRouteConfiguration", \
            "metadata": {"name": \(Self.q(cr.name))}, "spec": {\(spec.joined(separator: ", "))}}
            """
    }

    func objectYAML(_ cr: CR, indent: String) -> String {
        var s = "apiVersion: network.schiff.telekom.de/v1alpha1\n\(indent)kind: VRFRouteConfiguration\n"
        s += "\(indent)metadata:\n\(indent)  name: \(Self.q(cr.name))\n\(indent)spec:\n"
        s += "\(indent)  vrf: \(Self.q(cr.vrf))\n\(indent)  seq: \(cr.seq)\n"
        for (key, items) in [("import", cr.imports), ("export", cr.exports)] {
            if items.isEmpty {
                s += "\(indent)  \(key): []\n"
                continue
            }
            s += "\(indent)  \(key):\n"
            for i in items {
                s += "\(indent)  - cidr: \(Self.q(i.cidr))\n\(indent)    action: \(Self.q(i.action))\n"
                if let v = i.seq { s += "\(indent)    seq: \(v)\n" }
                if let v = i.ge { s += "\(indent)    ge: \(v)\n" }
                if let v = i.le { s += "\(indent)    le: \(v)\n" }
            }
        }
        if !cr.aggregates.isEmpty { s += "\(indent)  aggregate:\n" + cr.aggregates.map { "\(indent)  - \(Self.q($0))\n" }.joined() }
        if let c = cr.community { s += "\(indent)  community: \(Self.q(c))\n" }
        return s
    }

    /// The CRs as one input file in this node's format.
    public func crsText() -> String {
        switch format {
        case .yaml:
            return crs.map { "---\n" + objectYAML($0, indent: "") }.joined()
        case .list:
            return "apiVersion: v1\nkind: List\nitems:\n" + crs.map { "- " + objectYAML($0, indent: "  ") }.joined()
        case .json:
            return "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n" + crs.map(objectJSON).joined(separator: ",\n") + "\n]}\n"
        }
    }

    public var fileExtension: String { format == .json ? "json" : "yaml" }
}
