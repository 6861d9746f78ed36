import Testing
import VRFCAnalysis
import VRFCModel
import VRFCTestSupport

func pfx(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }

func line(_ seq: UInt32, _ action: PrefixAction, _ p: String, ge: Int? = nil, le: Int? = nil) -> ListLine {
    ListLine(
        PrefixItem(seq: seq, action: action, prefix: pfx(p), ge: ge, le: le),
        ref: ItemRef(cr: "t", direction: "import", index: Int(seq) - 1, seq: seq))
}

func list(_ lines: [ListLine]) -> PrefixList {
    PrefixList(name: "pl", family: lines.first?.prefix.family ?? .ipv4, lines: lines)
}

func permits(_ policy: Policy, _ map: String, _ p: String, tag: UInt32? = nil) -> Bool {
    policy.decide(map, Route(pfx(p), tag: tag)).permitted
}

/// FRR's semantics, case by case (lib/plist.c, lib/routemap.c).
struct EvaluatorSemanticsTests {
    func single(_ lines: [ListLine]) -> Policy {
        Policy(maps: [RouteMap(name: "m", entries: [RouteMapEntry(seq: 10, permit: true, matches: [.prefixList(list(lines))])])])
    }

    @Test func noGeNoLeIsExactLength() {
        let p = single([line(1, .permit, "203.0.113.0/24")])
        #expect(permits(p, "m", "203.0.113.0/24"))
        #expect(!permits(p, "m", "203.0.113.0/25"))
        #expect(!permits(p, "m", "203.0.112.0/23"))
    }

    @Test func leWithoutGeRunsFromThePrefixLength() {
        let p = single([line(1, .permit, "203.0.113.0/24", le: 26)])
        #expect(permits(p, "m", "203.0.113.0/24"))
        #expect(permits(p, "m", "203.0.113.64/26"))
        #expect(!permits(p, "m", "203.0.113.64/27"))
        #expect(!permits(p, "m", "203.0.112.0/22"))
    }

    @Test func geWithoutLeRunsToTheHostLength() {
        let p = single([line(1, .permit, "203.0.113.0/24", ge: 28)])
        #expect(!permits(p, "m", "203.0.113.0/24"))
        #expect(!permits(p, "m", "203.0.113.0/27"))
        #expect(permits(p, "m", "203.0.113.16/28"))
        #expect(permits(p, "m", "203.0.113.7/32"))
    }

    @Test func defaultRouteAndHostRoutes() {
        let exact = single([line(1, .permit, "0.0.0.0/0")])
        #expect(permits(exact, "m", "0.0.0.0/0"))
        #expect(!permits(exact, "m", "203.0.113.0/24"))
        let all = single([line(1, .permit, "0.0.0.0/0", le: 32)])
        #expect(permits(all, "m", "0.0.0.0/0") && permits(all, "m", "192.0.2.1/32") && permits(all, "m", "10.0.0.0/8"))
        let host = single([line(1, .permit, "192.0.2.1/32")])
        #expect(permits(host, "m", "192.0.2.1/32") && !permits(host, "m", "192.0.2.0/31"))
    }

    @Test func ipv6AndFamilies() {
        let p = single([line(1, .permit, "2001:db8::/32", ge: 48, le: 64)])
        #expect(permits(p, "m", "2001:db8:1::/48") && permits(p, "m", "2001:db8:1:2::/64"))
        #expect(!permits(p, "m", "2001:db8::/32") && !permits(p, "m", "2001:db8:1:2::1/128"))
        let v6all = single([line(1, .permit, "::/0", ge: 128)])
        #expect(permits(v6all, "m", "2001:db8::1/128") && !permits(v6all, "m", "2001:db8::/127"))
        // An IPv4 list never matches an IPv6 route.
        #expect(!permits(single([line(1, .permit, "0.0.0.0/0", le: 32)]), "m", "::/0"))
    }

    @Test func firstLineBySeqDecides() {
        // Lines are sorted by seq whatever order they are given in.
        let p = single([line(20, .permit, "203.0.113.0/24", le: 32), line(10, .deny, "203.0.113.0/26", le: 32)])
        #expect(!permits(p, "m", "203.0.113.5/32"))
        #expect(permits(p, "m", "203.0.113.200/32"))
        let d = p.decide("m", Route(pfx("203.0.113.5/32")))
        #expect(d.entry == nil && d.firstDenyLine?.seq == 10)
    }

    @Test func aDenyLineOnlySkipsTheEntryTheNextEntryMayPermit() {
        let a = RouteMapEntry(
            seq: 11, permit: true, matches: [.prefixList(list([line(1, .deny, "203.0.113.0/24", le: 32)]))],
            origin: .cr(name: "a", specSeq: 10))
        let b = RouteMapEntry(
            seq: 21, permit: true, matches: [.prefixList(list([line(1, .permit, "203.0.113.0/24", le: 32)]))],
            setCommunities: [try! Community(validating: "65000:2")], origin: .cr(name: "b", specSeq: 20))
        let p = Policy(maps: [RouteMap(name: "m", entries: [b, a])])
        let d = p.decide("m", Route(pfx("203.0.113.0/25")))
        #expect(d.permitted && d.communities?.map(\.value) == ["65000:2"] && d.entry?.origin == .cr(name: "b", specSeq: 20))
    }

    @Test func implicitDenyMatchlessEntryAndUndefinedMaps() {
        let none = Policy(maps: [
            RouteMap(
                name: "m", entries: [RouteMapEntry(seq: 5, permit: true, matches: [.prefixList(list([line(1, .permit, "192.0.2.0/24")]))])])
        ])
        #expect(!permits(none, "m", "198.51.100.0/24"))
        #expect(none.decide("m", Route(pfx("198.51.100.0/24"))).entry == nil)
        // An entry without a match clause matches every route.
        let matchless = Policy(maps: [
            RouteMap(
                name: "m", entries: [RouteMapEntry(seq: 5, permit: false, matches: []), RouteMapEntry(seq: 9, permit: true, matches: [])])
        ])
        #expect(!permits(matchless, "m", "198.51.100.0/24"))
        let permitAll = Policy(maps: [RouteMap(name: "m", entries: [RouteMapEntry(seq: 5, permit: true, matches: [])])])
        #expect(permits(permitAll, "m", "2001:db8::/32"))
        // A neighbor's undefined map denies everything.
        let d = none.decide("missing", Route(pfx("192.0.2.0/24")))
        #expect(!d.permitted && d.undefinedMap == "missing")
    }

    @Test func callOfAnUndefinedMapIsSkippedACalledDenyDenies() {
        let skip = Policy(maps: [RouteMap(name: "m", entries: [RouteMapEntry(seq: 10, permit: true, matches: [], call: "nowhere")])])
        let d = skip.decide("m", Route(pfx("192.0.2.0/24")), trace: true)
        #expect(d.permitted)
        #expect(d.steps.contains { $0.outcome == .callSkipped("nowhere") })
        let denying = Policy(maps: [
            RouteMap(name: "m", entries: [RouteMapEntry(seq: 10, permit: true, matches: [], call: "c")]),
            RouteMap(name: "c", entries: [RouteMapEntry(seq: 65535, permit: false, matches: [])]),
        ])
        #expect(!permits(denying, "m", "192.0.2.0/24"))
        let setting = Policy(maps: [
            RouteMap(
                name: "m",
                entries: [
                    RouteMapEntry(seq: 10, permit: true, matches: [], setCommunities: [try! Community(validating: "65000:1")], call: "c")
                ]),
            RouteMap(
                name: "c",
                entries: [RouteMapEntry(seq: 1, permit: true, matches: [], setCommunities: [try! Community(validating: "no-export")])]),
        ])
        #expect(setting.decide("m", Route(pfx("192.0.2.0/24"))).communities?.map(\.value) == ["no-export"])
    }

    @Test func generatedExportMapsDenyTheFabricTagFirst() throws {
        let ir = try Fixture(name: "dual-stack").ir()
        let policy = Policy(ir: ir)
        #expect(permits(policy, "rm_tenant-a_export", "198.51.100.0/25"))
        #expect(!permits(policy, "rm_tenant-a_export", "198.51.100.0/25", tag: 20000))
        #expect(permits(policy, "rm_tenant-a_export", "198.51.100.0/25", tag: 20001))
        #expect(policy.decide("rm_tenant-a_export", Route(pfx("198.51.100.0/25"))).communities?.map(\.value) == ["65000:2001"])
        // No CR of tenant-b has IPv4 imports: the map is still defined, by a
        // match-less deny 65535, so it denies as a neighbor's map and as a call target.
        let empty = try #require(policy.maps["rm_tenant-b_import"])
        #expect(empty.entries.map(\.seq) == [Policy.noEntriesSeq] && empty.entries.allSatisfy { !$0.permit && $0.matches.isEmpty })
        let d = policy.decide("rm_tenant-b_import", Route(pfx("203.0.113.0/25")))
        #expect(!d.permitted && d.undefinedMap == nil)
        let calling = Policy(
            maps: Array(policy.maps.values) + [
                RouteMap(name: "base", entries: [RouteMapEntry(seq: 20, permit: true, matches: [], call: "rm_tenant-b_import")])
            ])
        #expect(!permits(calling, "base", "203.0.113.0/25"))
        // The shipped templates name the maps the same way.
        let conf = try Fixture(name: "dual-stack").frr()
        for name in policy.maps.keys { #expect(conf.contains("route-map \(name) "), "\(name) not in the compiled config") }
    }
}
