import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCBPF
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// The op list format: what every fixture compiles to is valid, survives a
/// JSON round trip, and its golden file (scripts/regen-golden.sh) decodes
/// to the same value.
@Suite struct OpListTests {
    @Test(arguments: Fixture.all)
    func everyFixtureGivesAValidOpList(_ fixture: Fixture) throws {
        let ops = KernelBackend.ops(try fixture.ir())
        try ops.validate()
        let decoded = try JSONDecoder().decode(OpList.self, from: Data(JSONOutput.encode(ops).utf8))
        #expect(decoded == ops)
        let golden = try #require(
            readText(fixture.golden("ops.json")), "missing golden/\(fixture.name).ops.json; run scripts/regen-golden.sh")
        let fromGolden = try JSONDecoder().decode(OpList.self, from: Data(golden.utf8))
        try fromGolden.validate()
        #expect(fromGolden == ops, "golden/\(fixture.name).ops.json is stale; run scripts/regen-golden.sh")
    }

    @Test func tableRangesMustStayClearOfTheKernelsTables() {
        #expect(TableRange(parsing: "50-79") != nil)
        #expect(TableRange(parsing: "1000-1999") != nil)
        #expect(TableRange(parsing: "1-252") != nil)
        for bad in ["0-10", "250-260", "253-253", "79-50", "50", "50-4294967295", "x-y"] {
            #expect(TableRange(parsing: bad) == nil, "\(bad)")
        }
    }
}

/// The planner is a pure function of op list and kernel snapshot; these
/// cases pin down the decisions the kernel tests cannot reach on purpose
/// (this host has no VRF device; router states come from the attacher).
@Suite struct PlannerTests {
    let underlay = Link(index: 2, name: "dum.underlay", kind: "dummy", flags: 1, mtu: 9100)
    var addresses: [Address] { [Address(index: 2, family: UInt8(AF_INET), bytes: [192, 0, 2, 129], prefixLength: 32)] }

    func ops(_ vrfs: [String], range: TableRange = .default) throws -> OpList {
        var config = "vnimap:\n"
        var crs = ""
        for (i, v) in vrfs.enumerated() {
            config += "  \(v): \(100 + i)\n"
            crs +=
                "---\napiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\nmetadata: {name: cr-\(v)}\nspec: {vrf: \(v), seq: 10}\n"
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfca-plan-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.yaml"))
        try Data(crs.utf8).write(to: dir.appendingPathComponent("crs.yaml"))
        return try compiledOps(
            config: dir.appendingPathComponent("config.yaml").path,
            crs: [dir.appendingPathComponent("crs.yaml").path], tableRange: range)
    }

    func tables(_ plan: VRFCApply.Plan) -> [String: UInt32] {
        var out: [String: UInt32] = [:]
        for case .create(let c) in plan.steps { if let t = c.table { out[c.name] = t } }
        return out
    }

    @Test func newVRFsTakeTheLowestFreeTablesAroundOnesInUse() throws {
        let o = try ops(["a", "b", "c"])
        let foreign = Link(index: 3, name: "mgmt", kind: "vrf", mtu: 65575, vrfTable: 51)
        let snap = KernelSnapshot(links: [underlay, foreign], ipv4Addresses: addresses, ruleTables: [50, 53, 254, 255])
        let plan = Planner.plan(o, snap)
        #expect(plan.problems == [])
        #expect(tables(plan) == ["vr.a": 52, "vr.b": 54, "vr.c": 55])
    }

    @Test func anExistingVRFKeepsItsTableEvenOutsideTheRange() throws {
        let o = try ops(["a", "b"])
        let mine = Link(index: 3, name: "vr.a", kind: "vrf", mtu: 9000, alias: "vrfc:v1:a", vrfTable: 200, addrGenMode: 1)
        let plan = Planner.plan(o, KernelSnapshot(links: [underlay, mine], ipv4Addresses: addresses))
        #expect(plan.problems == [])
        #expect(tables(plan) == ["vr.b": 50])
        #expect(plan.notes.contains { $0.contains("vr.a keeps table 200") })
    }

    @Test func aFullRangeIsAProblemAndNothingIsPlanned() throws {
        let o = try ops(["a", "b", "c"], range: TableRange(first: 60, last: 61))
        let plan = Planner.plan(o, KernelSnapshot(links: [underlay], ipv4Addresses: addresses, ruleTables: [61]))
        #expect(plan.steps.isEmpty)
        #expect(plan.problems.count == 1 && plan.problems[0].contains("table range 60-61 is full"), "\(plan.problems)")
    }

    /// With an attacher, plan attaches where the program is missing or
    /// stale and detaches it from interfaces no longer listed.
    @Test func routerAttachmentsFollowTheListedInterfaces() throws {
        var o = try ops(["a"])
        o.routerAttachments = try ["br.a", "vd.a", "vx.a", "eth7"].map { try InterfaceName(validating: $0) }
        let links = [
            underlay,
            Link(index: 10, name: "eth7", kind: nil, flags: 1),
            Link(index: 11, name: "eth8", kind: nil, flags: 1),
        ]
        let states: [Int32: RouterAttachState] = [2: .none, 10: .stale, 11: .current]
        let plan = Planner.plan(o, KernelSnapshot(links: links, ipv4Addresses: addresses, routerStates: states))
        let router = plan.steps.filter { ["attach", "detach"].contains($0.action) }.map { "\($0.action) \($0.link)" }
        #expect(router == ["attach br.a", "attach vd.a", "attach vx.a", "attach eth7", "detach eth8"])
        #expect(plan.routerAvailable)

        let without = Planner.plan(o, KernelSnapshot(links: links, ipv4Addresses: addresses))
        #expect(!without.routerAvailable && without.routerAttachments == ["br.a", "vd.a", "vx.a", "eth7"])
        #expect(!without.steps.contains { $0.action == "attach" })
        #expect(Report.text(without).contains("router attachment: not read (the kernel snapshot was taken without a router attacher)"))

        // An attacher that cannot read the state (unprivileged plan) is not a snapshot without one.
        let unreadable = Planner.plan(o, KernelSnapshot(links: links, ipv4Addresses: addresses, routerStateError: "needs root"))
        #expect(!unreadable.routerAvailable && unreadable.routerStateUnreadable)
        #expect(Report.text(unreadable).contains("router attachment: its state could not be read (see above)"))
        // ... and such a plan never says "in sync": it says what it could not read.
        #expect(
            !unreadable.complete && !unreadable.inSync
                && Report.text(unreadable).contains("unreadable: the tc router program's state (needs root)"))
        #expect(!Report.text(unreadable).contains("without a router attacher"))
    }

    @Test("Kernel addresses print as inet_ntop writes them, IPv6 compressed")
    func addressDescriptions() {
        let v6 = Address(
            index: 1, family: UInt8(AF_INET6), bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
            prefixLength: 64)
        #expect(v6.description == "2001:db8::1/64")
        #expect(Address(index: 1, family: UInt8(AF_INET), bytes: [192, 0, 2, 1], prefixLength: 24).description == "192.0.2.1/24")
    }
}
