import Foundation
import Testing
import VRFCApply
import VRFCKernel
import VRFCModel
import VRFCNetlink

// The pure half of the link-local fallback and of the table-names file: how
// the op list carries them (read strictly, validated), and what the planner
// makes of a given neighbour table and file. The kernel half is in
// VRFCApplyTests/LinkLocalRouteTests.swift.

private func prefix(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }
private func addr(_ s: String) -> IPAddress { IPAddress(parsing: s[...])! }
private func ifname(_ s: String) -> InterfaceName { try! InterfaceName(validating: s) }

@Suite struct LinkLocalPlanTests {
    let eth1 = Link(index: 7, name: "eth1", kind: "veth", flags: 1, mtu: 1500)

    /// A pod route via the link-local address of 192.0.2.11 on eth1, and an IPv4 one beside it.
    var ops: OpList {
        OpList(
            underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [],
            routes: [
                RouteSpec(
                    table: 254, destination: prefix("198.51.100.0/26"),
                    nexthops: [Nexthop(gateway: addr("192.0.2.11"), device: ifname("eth1"))]),
                RouteSpec(
                    table: 254, destination: prefix("2001:db8:10::/64"),
                    nexthops: [Nexthop(linkLocalOf: addr("192.0.2.11"), device: ifname("eth1"))]),
            ])
    }

    func plan(_ neighbours: [KernelNeighbour]?, ops: OpList? = nil) -> VRFCApply.Plan {
        var snap = KernelSnapshot(links: [eth1])
        snap.neighbours = neighbours
        if neighbours == nil { snap.neighbourError = "listing neighbours: permission denied" }
        return Planner.plan(ops ?? self.ops, snap)
    }

    func neighbour(_ a: String, _ mac: [UInt8]?, state: NeighbourState = .reachable, ifindex: Int32 = 7) -> KernelNeighbour {
        KernelNeighbour(ifindex: ifindex, address: addr(a), linkLayerAddress: mac, state: state)
    }

    func routeTexts(_ p: VRFCApply.Plan) -> [String] {
        p.steps.compactMap { if case .route(let r) = $0 { "\(r.kind) \(r.text)" } else { nil } }
    }

    @Test func theEUI64AddressFlipsTheUniversalBitAndPutsFFFEInTheMiddle() {
        #expect(IPv6Address.linkLocal(mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56])?.description == "fe80::5054:ff:fe12:3456")
        #expect(IPv6Address.linkLocal(mac: [0x02, 0, 0, 0, 0, 0xbb])?.description == "fe80::ff:fe00:bb")
        #expect(IPv6Address.linkLocal(mac: [0, 1, 2, 3, 4]) == nil)
    }

    @Test func theNeighboursMACGivesTheGateway() {
        for state: NeighbourState in [.reachable, .stale, .delay, .probe, .permanent] {
            let p = plan([
                neighbour("192.0.2.12", [2, 0, 0, 0, 0, 0x12]), neighbour("192.0.2.11", [0x52, 0x54, 0, 0x12, 0x34, 0x56], state: state),
            ])
            #expect(p.unresolved.isEmpty && p.problems.isEmpty, "\(p.unresolved) \(p.problems)")
            #expect(
                routeTexts(p) == [
                    "add 198.51.100.0/26 table 254 via 192.0.2.11 dev eth1",
                    "add 2001:db8:10::/64 table 254 via fe80::5054:ff:fe12:3456 dev eth1",
                ], "\(state.name): \(routeTexts(p))")
        }
    }

    @Test func anUnresolvableNeighbourSkipsOnlyItsRouteAndSaysWhy() {
        let cases: [(String, [KernelNeighbour]?)] = [
            ("no neighbour entry for 192.0.2.11 on eth1, so its MAC is unknown; any IPv4 traffic to it (e.g. ping 192.0.2.11)", []),
            // Same address on another interface: not this route's neighbour.
            ("no neighbour entry for 192.0.2.11 on eth1", [neighbour("192.0.2.11", [2, 0, 0, 0, 0, 1], ifindex: 9)]),
            ("the neighbour entry for 192.0.2.11 on eth1 is INCOMPLETE, without a MAC", [neighbour("192.0.2.11", nil, state: .incomplete)]),
            ("the neighbour entry for 192.0.2.11 on eth1 is FAILED, without a MAC", [neighbour("192.0.2.11", nil, state: .failed)]),
            ("has a 4-byte link-layer address, not a MAC", [neighbour("192.0.2.11", [192, 0, 2, 1], state: .permanent)]),
            ("has 01:00:5e:00:00:01, not a unicast MAC", [neighbour("192.0.2.11", [1, 0, 0x5e, 0, 0, 1])]),
            ("has 00:00:00:00:00:00, not a unicast MAC", [neighbour("192.0.2.11", [0, 0, 0, 0, 0, 0], state: .noARP)]),
            ("the neighbour table could not be read (listing neighbours: permission denied)", nil),
        ]
        for (why, table) in cases {
            let p = plan(table)
            #expect(p.problems.isEmpty, "\(p.problems)")
            #expect(routeTexts(p) == ["add 198.51.100.0/26 table 254 via 192.0.2.11 dev eth1"], "the other route is still planned")
            #expect(p.unresolved.count == 1 && p.unresolved[0].contains(why), "\(p.unresolved)")
            #expect(
                p.unresolved.first?.hasPrefix("route 2001:db8:10::/64 table 254 via link-local of 192.0.2.11 dev eth1: ") == true
                    && p.unresolved.first?.hasSuffix("not installed until a later run finds the MAC") == true, "\(p.unresolved)")
            // Nothing to change, but not in sync for machines: --json says so.
            let report = PlanReport(p)
            #expect(!report.inSync && report.unresolved == p.unresolved)
            #expect(Report.text(p).contains("unresolved: route 2001:db8:10::/64"), "\(Report.text(p))")
        }
    }

    @Test func aMissingDeviceRefusesThePlanAsForAnyRoute() {
        var o = ops
        o.routes[1].nexthops[0].device = ifname("eth9")
        let p = plan([], ops: o)
        #expect(p.problems == ["route 2001:db8:10::/64 table 254 via link-local of 192.0.2.11 dev eth9: device eth9 does not exist"])
        #expect(p.steps.isEmpty)
    }

    // MARK: The op list

    func refused(_ o: OpList) -> String {
        do {
            try o.validate()
            return "(accepted)"
        } catch {
            return error.description
        }
    }

    @Test func linkLocalOfIsValidatedStrictly() {
        #expect(refused(ops) == "(accepted)")
        func with(_ change: (inout Nexthop) -> Void) -> String {
            var o = ops
            change(&o.routes[1].nexthops[0])
            return refused(o)
        }
        #expect(with { $0.device = nil }.contains("linkLocalOf 192.0.2.11 needs its device"))
        #expect(with { $0.gateway = addr("fe80::1") }.contains("has both gateway and linkLocalOf"))
        #expect(with { $0.linkLocalOf = addr("2001:db8::1") }.contains("is not an IPv4 address"))
        for bad in ["0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255"] {
            #expect(with { $0.linkLocalOf = addr(bad) }.contains("is not a unicast address"), "\(bad)")
        }
        var v4 = ops
        v4.routes[0].nexthops[0] = Nexthop(linkLocalOf: addr("192.0.2.11"), device: ifname("eth1"))
        #expect(refused(v4).contains("linkLocalOf gives an IPv6 gateway, and the destination is ipv4"))
    }

    @Test func theReaderTakesLinkLocalOfAndTableNamesAndRefusesWhatIsWrong() throws {
        var o = ops
        o.ownedTables = [200]
        o.tableNames = [TableName(table: 200, name: try RouteTableName(validating: "metallb-nra"))]
        let text = JSONOutput.encode(o)
        #expect(try OpListReader.decode(Array(text.utf8)) == o)
        func reading(_ from: String, _ to: String) -> String {
            do {
                _ = try OpListReader.decode(Array(text.replacingOccurrences(of: from, with: to).utf8))
                return "(read)"
            } catch {
                return "\(error)"
            }
        }
        #expect(reading("\"linkLocalOf\" : \"192.0.2.11\"", "\"linkLocalOf\" : \"192.0.2.011\"").contains("linkLocalOf"))
        #expect(reading("\"linkLocalOf\" : \"192.0.2.11\"", "\"linkLocalOf\" : 3").contains("routes[1].nexthops[0].linkLocalOf"))
        #expect(reading("\"name\" : \"metallb-nra\"", "\"name\" : \"main\"").contains("tableNames[0].name: 'main' is not a table name"))
        #expect(reading("\"name\" : \"metallb-nra\"", "\"name\" : \"a b\"").contains("is not a table name"))
        #expect(reading("\"name\" : \"metallb-nra\"", "\"name\" : \"x\", \"extra\" : 1").contains("extra"))

        func refusedNames(_ names: [(UInt32, String)]) throws -> String {
            var n = o
            n.tableNames = try names.map { TableName(table: $0.0, name: try RouteTableName(validating: $0.1)) }
            return refused(n)
        }
        #expect(try refusedNames([(201, "x")]).contains("table 201 is not one of ownedTables"))
        #expect(try refusedNames([(200, "x"), (200, "y")]).contains("table 200 is named twice"))
        o.ownedTables = [200, 201]
        #expect(try refusedNames([(200, "x"), (201, "x")]).contains("the name x is given to two tables"))
    }

    // MARK: The table-names file

    @Test func theTableNamesFileIsWrittenOnlyWhenItsBytesChange() throws {
        let name = try RouteTableName(validating: "metallb-nra")
        var o = OpList(
            underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [], ownedTables: [200],
            tableNames: [TableName(table: 200, name: name)])
        let want = try #require(TableNamesFile.contents(o.tableNames))
        #expect(String(decoding: want, as: UTF8.self).hasSuffix("\n200\tmetallb-nra\n"))
        let file = TableNamesFile("/nonexistent/vrfc.conf")
        func steps(_ state: TableNamesFile.State, _ o: OpList) -> [String] {
            var snap = KernelSnapshot(links: [eth1])
            snap.tableNames = (file, state)
            let p = Planner.plan(o, snap)
            return p.steps.map { $0.report.description } + p.unreadable
        }
        #expect(steps(.absent, o) == ["write   /nonexistent/vrfc.conf (table names for iproute2: 200 metallb-nra)"])
        #expect(steps(.contents(Array("200 other\n".utf8)), o).count == 1)
        #expect(steps(.contents(want), o) == [])
        #expect(steps(.unreadable("EACCES"), o) == ["the table names for iproute2 (EACCES)"])
        o.tableNames = []
        #expect(steps(.contents(want), o) == ["remove  /nonexistent/vrfc.conf (no owned table has a name)"])
        #expect(steps(.absent, o) == [])
    }
}
