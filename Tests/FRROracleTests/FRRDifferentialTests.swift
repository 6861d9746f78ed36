import Foundation
import Testing
import VRFCAnalysis
import VRFCDriver
import VRFCModel
import VRFCTestSupport

/// The evaluator against the real bgpd. The compiled frr.conf is loaded into
/// a bgpd (the DUT) in a namespace of its own; a second bgpd in another
/// namespace peers with it over a veth, one iBGP session per VRF, direction
/// and family, each with the route-map under test as the DUT's outbound
/// policy. The DUT originates thousands of random prefixes per family (some
/// tagged 20000, as the fabric tags routes); what the peer receives on a
/// session, and with which communities, is FRR's decision, and it must equal
/// the evaluator's for every prefix. Both bgpds run without zebra (`-Z`):
/// nothing reaches a kernel table.
@Suite(.serialized)
struct FRRDifferentialTests {
    @Test(arguments: ["dual-stack", "mgmt-vrf"])
    func fixtureDecisionsMatchFRR(_ name: String) throws {
        let f = Fixture(name: name)
        try DifferentialRun(
            ir: try f.ir(), compiled: try f.frr(), seed: UInt64(name.utf8.count) &* 0x9E37_79B9, label: name,
            withHandWrittenMaps: true
        ).check()
    }

    /// Random CR sets: random ge/le, overlapping items, deny items above
    /// permits, several CRs per VRF, communities.
    @Test(arguments: 0..<3)
    func randomNodeDecisionsMatchFRR(_ n: Int) throws {
        var seed = 0xD1FF_0000 + UInt64(n) * 7919
        var node: RandomNode
        repeat {
            seed += 1
            var rng = SplitMix64(seed: seed)
            node = RandomNode.generate(&rng)
            RandomRoutes.addDenyAbovePermits(&node, &rng)
        } while Set(node.crs.map(\.vrf)).count > 4 || !node.crs.contains { ($0.imports + $0.exports).contains { $0.action == "permit" } }
        let dir = try TempDir()
        let config = try dir.write("config.yaml", node.configYAML())
        let crs = try dir.write("crs.\(node.fileExtension)", node.crsText())
        let base = try dir.write("frr.conf", node.baseConfig)
        let ir = try Compiler.ir(.init(config: config, objects: [crs], options: Fixture.options))
        let text = try Compiler.frr(ir, base: Compiler.baseConfig(base), templates: .shipped)
        try DifferentialRun(ir: ir, compiled: text, seed: seed, label: "random node seed \(seed)").check()
    }
}

struct DifferentialRun {
    let ir: NodeIR
    let compiled: String
    let seed: UInt64
    let label: String
    /// Also route-maps written by hand around the generated ones: `call` of
    /// an undefined map, `call` of a generated map (as base configs do),
    /// entries without match clause, `set community` before a call.
    var withHandWrittenMaps = false
    static let perFamily = 1500

    /// (FRR text, the same map as a value, families to test it with).
    func handWrittenMaps() -> [(text: String, map: RouteMap, families: [AddressFamily])] {
        guard withHandWrittenMaps, let vrf = ir.vrfs.last?.name else { return [] }
        let c7 = try! Community(validating: "65000:7")
        var out: [(String, RouteMap, [AddressFamily])] = [
            (
                "route-map vrfc_t_skip permit 10\n call vrfc_t_missing\nexit\n",
                RouteMap(name: "vrfc_t_skip", entries: [RouteMapEntry(seq: 10, permit: true, matches: [], call: "vrfc_t_missing")]),
                AddressFamily.allCases
            ),
            (
                "route-map vrfc_t_denyfirst deny 5\nexit\nroute-map vrfc_t_denyfirst permit 10\nexit\n",
                RouteMap(
                    name: "vrfc_t_denyfirst",
                    entries: [RouteMapEntry(seq: 5, permit: false, matches: []), RouteMapEntry(seq: 10, permit: true, matches: [])]),
                AddressFamily.allCases
            ),
        ]
        for family in AddressFamily.allCases {
            let exportMap = Policy.mapName(vrf, .export, family)
            let importMap = Policy.mapName(vrf, .import, family)
            let f = family == .ipv4 ? "4" : "6"
            out.append(
                (
                    "route-map vrfc_t_call\(f) permit 10\n call \(exportMap)\nexit\n",
                    RouteMap(name: "vrfc_t_call\(f)", entries: [RouteMapEntry(seq: 10, permit: true, matches: [], call: exportMap)]),
                    [family]
                ))
            out.append(
                (
                    "route-map vrfc_t_setcall\(f) permit 10\n set community 65000:7\n call \(importMap)\nexit\n",
                    RouteMap(
                        name: "vrfc_t_setcall\(f)",
                        entries: [RouteMapEntry(seq: 10, permit: true, matches: [], setCommunities: [c7], call: importMap)]), [family]
                ))
        }
        return out
    }
    static let tagged: UInt32 = Policy.fabricTag

    struct Session {
        let vrf: VRFName
        let direction: Direction
        let family: AddressFamily
        let map: String
        let dut: String  // the DUT's address of this session
        let peer: String  // the peer's
    }

    func check() throws {
        let extra = handWrittenMaps()
        let generated = Policy(ir: ir)
        let policy = Policy(maps: Array(generated.maps.values) + extra.map(\.map))
        var rng = SplitMix64(seed: seed)
        var sessions: [Session] = []
        var n4 = 0
        var n6 = 0
        // The next session's pair of addresses in its family.
        func addresses(_ family: AddressFamily) -> (dut: String, peer: String) {
            if family == .ipv4 {
                n4 += 1
                return ("192.0.2.\(n4)", "192.0.2.\(63 + n4)")
            }
            n6 += 1
            return ("2001:db8:ffff:fff0::a:\(n6)", "2001:db8:ffff:fff0::b:\(n6)")
        }
        for vrf in ir.vrfs {
            for direction in Direction.allCases {
                for family in AddressFamily.allCases {
                    let (dut, peer) = addresses(family)
                    sessions.append(
                        Session(
                            vrf: vrf.name, direction: direction, family: family,
                            map: Policy.mapName(vrf.name, direction, family), dut: dut, peer: peer))
                }
            }
        }
        if let vrf = ir.vrfs.last?.name {
            for (_, map, families) in extra {
                for family in families {
                    let (dut, peer) = addresses(family)
                    sessions.append(Session(vrf: vrf, direction: .export, family: family, map: map.name, dut: dut, peer: peer))
                }
            }
        }
        guard n4 <= 60 else { throw SetupError("\(label): too many sessions for 192.0.2.0/24 (\(n4))") }
        let routes = AddressFamily.allCases.flatMap { RandomRoutes.near(ir, family: $0, count: Self.perFamily, &rng) }

        let dut = try FRRInstance(tag: "dut", bgpdArgs: ["-Z", "-p", "0"])
        defer { dut.stop() }
        let peer = try FRRInstance(tag: "peer", bgpdArgs: ["-Z"])
        defer { peer.stop() }
        try dut.inNetns(["ip", "link", "add", "dt0", "type", "veth", "peer", "name", "dt1", "netns", peer.name])
        for s in sessions {
            try dut.inNetns(
                ["ip", "addr", "add", s.dut + (s.family == .ipv4 ? "/24" : "/64"), "dev", "dt0"] + (s.family == .ipv6 ? ["nodad"] : []))
            try peer.inNetns(
                ["ip", "addr", "add", s.peer + (s.family == .ipv4 ? "/24" : "/64"), "dev", "dt1"] + (s.family == .ipv6 ? ["nodad"] : []))
        }
        try dut.inNetns(["ip", "link", "set", "dt0", "up"])
        try peer.inNetns(["ip", "link", "set", "dt1", "up"])

        let dir = try TempDir()
        // The compiled config, as vrfc writes it, must load cleanly.
        let load = try dut.load(try dir.write("frr.conf", compiled))
        guard load.clean else { throw SetupError("\(label): the compiled config does not load: \(load.problems)") }
        let testLoad = try dut.load(try dir.write("sessions.conf", dutSessions(sessions, routes)))
        guard testLoad.clean else { throw SetupError("\(label): the test sessions do not load: \(testLoad.problems)") }
        let peerLoad = try peer.load(try dir.write("peer.conf", peerConfig(sessions)))
        guard peerLoad.clean else { throw SetupError("\(label): the peer config does not load: \(peerLoad.problems)") }
        try waitForConvergence(dut: dut, peer: peer, sessions: sessions)

        // FRR's decisions: what the peer holds per session, and with which community.
        var received: [String: [String: [String]]] = [:]  // session dut address -> prefix -> communities
        for family in AddressFamily.allCases {
            let afi = family == .ipv4 ? "ipv4" : "ipv6"
            for (prefix, peerIDs) in try Self.paths(peer.showJSON("show bgp \(afi) unicast json")) {
                for id in peerIDs { received[id, default: [:]][prefix] = [] }
            }
            let communities = Set(ir.vrfs.flatMap(\.exports).flatMap(\.communities).map(\.value) + (extra.isEmpty ? [] : ["65000:7"]))
                .sorted()
            for c in communities {
                for (prefix, peerIDs) in try Self.paths(peer.showJSON("show bgp \(afi) unicast community \(c) json")) {
                    for id in peerIDs { received[id, default: [:]][prefix, default: []].append(c) }
                }
            }
        }

        var mismatches: [String] = []
        var permittedCount = 0
        for s in sessions {
            let got = received[s.dut] ?? [:]
            for r in routes where r.prefix.family == s.family {
                let d = policy.decide(s.map, Route(r.prefix, tag: r.tag))
                let frr = got[r.prefix.text]
                if d.permitted { permittedCount += 1 }
                let expected = d.permitted ? (d.communities ?? []).map(\.value).sorted() : nil
                if frr?.sorted() != expected {
                    let trace = policy.decide(s.map, Route(r.prefix, tag: r.tag), trace: true)
                        .explanation(vrf: s.vrf.value, direction: s.direction, map: s.map, prefix: r.prefix, tag: r.tag)
                    mismatches.append(
                        "\(s.map) \(r.prefix)\(r.tag.map { " tag \($0)" } ?? ""): FRR \(frr.map { "permits, communities \($0)" } ?? "denies"); evaluator:\n\(trace)"
                    )
                }
            }
        }
        // The count, not the array, in the expectation: a failure prints the
        // first ten mismatches with their traces, not all of them.
        let differing = mismatches.count
        #expect(differing == 0, "\(label): \(differing) decisions differ from FRR:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        // The run must exercise both outcomes, or it proves little.
        #expect(permittedCount > 0, "\(label): no route was permitted anywhere")
    }

    func dutSessions(_ sessions: [Session], _ routes: [TestRoute]) -> String {
        var s = "route-map vrfc_difftest_tag permit 10\n set tag \(Self.tagged)\nexit\n"
        s += handWrittenMaps().map(\.text).joined()
        s += "router bgp \(ir.asn)\n no bgp network import-check\n no bgp default ipv4-unicast\n"
        for x in sessions { s += " neighbor \(x.peer) remote-as internal\n neighbor \(x.peer) update-source \(x.dut)\n" }
        for family in AddressFamily.allCases {
            s += " address-family \(family == .ipv4 ? "ipv4" : "ipv6") unicast\n"
            for r in routes where r.prefix.family == family {
                s += "  network \(r.prefix)\(r.tag == nil ? "" : " route-map vrfc_difftest_tag")\n"
            }
            for x in sessions where x.family == family {
                s += "  neighbor \(x.peer) activate\n  neighbor \(x.peer) route-map \(x.map) out\n"
            }
            s += " exit-address-family\n"
        }
        return s + "exit\n"
    }

    func peerConfig(_ sessions: [Session]) -> String {
        var s = "router bgp \(ir.asn)\n bgp router-id 192.0.2.130\n no bgp default ipv4-unicast\n"
        for x in sessions { s += " neighbor \(x.dut) remote-as internal\n neighbor \(x.dut) update-source \(x.peer)\n" }
        for family in AddressFamily.allCases {
            s += " address-family \(family == .ipv4 ? "ipv4" : "ipv6") unicast\n"
            for x in sessions where x.family == family { s += "  neighbor \(x.dut) activate\n" }
            s += " exit-address-family\n"
        }
        return s + "exit\n"
    }

    /// Every session established, and what the DUT sent equals what the peer
    /// holds, unchanged over three polls.
    func waitForConvergence(dut: FRRInstance, peer: FRRInstance, sessions: [Session]) throws {
        var last: [String: Int]? = nil
        var stable = 0
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            var counts: [String: Int] = [:]
            var ready = true
            for family in AddressFamily.allCases {
                let afi = family == .ipv4 ? "ipv4" : "ipv6"
                let sent = try dut.showJSON("show bgp \(afi) unicast summary json")["peers"] as? [String: Any] ?? [:]
                let got = try peer.showJSON("show bgp \(afi) unicast summary json")["peers"] as? [String: Any] ?? [:]
                for x in sessions where x.family == family {
                    let a = sent[x.peer] as? [String: Any]
                    let b = got[x.dut] as? [String: Any]
                    let snt = a?["pfxSnt"] as? Int
                    let rcd = b?["pfxRcd"] as? Int
                    if a?["state"] as? String != "Established" || snt == nil || snt != rcd { ready = false }
                    counts[x.dut] = rcd ?? -1
                }
            }
            if ready && counts == last { stable += 1 } else { stable = 0 }
            if stable >= 3 { return }
            last = counts
            usleep(700_000)
        }
        throw SetupError(
            "\(label): BGP sessions did not converge within 90 s; DUT: \((try? dut.show("show bgp summary")) ?? "?")\nlogs: \(dut.logs().suffix(2000))"
        )
    }

    /// prefix -> peer ids of its paths, from `show bgp ... json`.
    static func paths(_ json: [String: Any]) throws -> [(String, [String])] {
        guard let routes = json["routes"] as? [String: Any] else { return [] }
        return routes.map { prefix, paths in
            let ids = (paths as? [[String: Any]] ?? []).compactMap { $0["peerId"] as? String }
            // FRR prints prefixes with inet_ntop; vrfc's canonical text is the same (tested elsewhere).
            return (prefix, ids)
        }
    }
}
