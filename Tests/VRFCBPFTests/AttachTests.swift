import CBPF
import Foundation
import Testing
import VRFCBPFTestSupport
import VRFCTestSupport

@testable import VRFCBPF

/// A filter on clsact ingress as iproute2 reports it: an independent view
/// of what TCRouterAttacher did.
struct TCFilter: Equatable {
    var priority: Int
    var handle: String
    var programID: Int
    var programName: String
    /// `tc filter add ... bpf da`: the program's return value is the action.
    var directAction = true
    /// The name tc shows, "NAME:[ID]" as tc and libbpf label it.
    var labelled = true
}

func tcFilters(_ ns: Netns, _ dev: String) throws -> [TCFilter] {
    let json = try ns.exec(["tc", "-j", "filter", "show", "dev", dev, "ingress"])
    let entries = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
    var result: [TCFilter] = []
    for e in entries {
        guard let options = e["options"] as? [String: Any], let prog = options["prog"] as? [String: Any] else { continue }
        let name = (options["bpf_name"] as? String ?? "").split(separator: ":").first.map(String.init) ?? ""
        let id = prog["id"] as? Int ?? -1
        result.append(
            TCFilter(
                priority: e["pref"] as? Int ?? -1, handle: options["handle"] as? String ?? "",
                programID: id, programName: name,
                directAction: options["direct-action"] as? Bool ?? false,
                labelled: options["bpf_name"] as? String == "\(name):[\(id)]"))
    }
    return result
}

/// A namespace with a quiet veth pair x0/x1 (IPv6 off: no autoconf chatter
/// reaching the program) and a pin directory of the test's own.
func withLink<R>(_ body: (Netns, String) throws -> R) throws -> R {
    try withNamespaces(["att"]) { namespaces in
        let ns = namespaces[0]
        try ns.sysctl("net.ipv6.conf.default.disable_ipv6=1")
        try ns.ip("link", "add", "x0", "type", "veth", "peer", "name", "x1")
        try ns.ip("link", "set", "x0", "up")
        try ns.ip("link", "set", "x1", "up")
        return try withPinDirectory { pin in try body(ns, pin) }
    }
}

let slotPriority = Int(TCRouterAttacher.priority)
let slotHandle = "0x" + String(TCRouterAttacher.handle, radix: 16)

@Suite("Attaching the router with libbpf on clsact ingress")
struct AttachTests {
    @Test("Attaching twice leaves exactly one instance, untouched the second time")
    func attachTwice() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let (states, first, second) = try ns.run { () throws -> ([RouterAttachState], [AttachedRouter], [AttachedRouter]) in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                let s0 = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                let first = try attacher.instances(ifindex: x0, name: "x0")
                let s1 = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                let second = try attacher.instances(ifindex: x0, name: "x0")
                // Another attacher (a later vrfc-apply run) agrees without loading pins.
                let s2 = try TCRouterAttacher(pinDirectory: pin).state(ifindex: x0)
                return ([s0, s1, s2], first, second)
            }
            #expect(states == [.none, .current, .current])
            #expect(first.count == 1)
            #expect(second == first, "the second attach must not replace the program")
            let tc = try tcFilters(ns, "x0")
            #expect(
                tc == [
                    TCFilter(
                        priority: slotPriority, handle: slotHandle, programID: Int(first[0].programID),
                        programName: "vrfc_router")
                ])
        }
    }

    @Test("An older build at vrfc's slot is swapped in place for the current one")
    func olderBuildAtSlot() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let older = try RouterProgram(object: RouterVariant.olderBuild(), pinDirectory: nil)
            let (before, after, instances) = try ns.run { () throws -> (RouterAttachState, RouterAttachState, [AttachedRouter]) in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                try TCIngress.ensureClsact(ifindex: x0, name: "x0")
                try TCIngress.attach(
                    programFD: older.programFD, ifindex: x0, name: "x0",
                    priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                let before = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                return (before, try attacher.state(ifindex: x0), try attacher.instances(ifindex: x0, name: "x0"))
            }
            #expect(before == .stale)
            #expect(after == .current)
            let olderID = try ProgramInfo.read(fd: older.programFD).id
            let tc = try tcFilters(ns, "x0")
            #expect(tc.count == 1)
            #expect(tc.first?.programID == Int(instances.first?.programID ?? 0))
            #expect(tc.first?.programID != Int(olderID))
            #expect(tc.first?.priority == slotPriority)
        }
    }

    @Test("An older build elsewhere and duplicates are removed once the current one runs")
    func olderBuildElsewhereAndDuplicates() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let older = try RouterProgram(object: RouterVariant.olderBuild(), pinDirectory: nil)
            let states = try ns.run { () throws -> [RouterAttachState] in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                try TCIngress.ensureClsact(ifindex: x0, name: "x0")
                try TCIngress.attach(programFD: older.programFD, ifindex: x0, name: "x0", priority: 10, handle: 1)
                let s0 = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                let s1 = try attacher.state(ifindex: x0)
                // The current program a second time, at another priority.
                try TCIngress.attach(programFD: attacher.program().programFD, ifindex: x0, name: "x0", priority: 20, handle: 1)
                let s2 = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                return [s0, s1, s2, try attacher.state(ifindex: x0)]
            }
            #expect(states == [.stale, .current, .stale, .current])
            let tc = try tcFilters(ns, "x0")
            #expect(tc.count == 1)
            #expect(tc.first?.priority == slotPriority)
        }
    }

    @Test("Foreign filters stay through attach and detach; vrfc's slot taken by one is an error")
    func foreignFilters() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let x1 = try ns.ifindex("x1")
            let foreign = try RouterProgram(object: RouterVariant.foreign(), pinDirectory: nil)
            let (state, slotError) = try ns.run { () throws -> (RouterAttachState, BPFError?) in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                try TCIngress.ensureClsact(ifindex: x0, name: "x0")
                try TCIngress.attach(programFD: foreign.programFD, ifindex: x0, name: "x0", priority: 5, handle: 1)
                let state = try attacher.state(ifindex: x0)
                try attacher.attach(ifindex: x0, name: "x0")
                try attacher.detach(ifindex: x0, name: "x0")
                // x1: the foreign program sits in vrfc's slot.
                try TCIngress.ensureClsact(ifindex: x1, name: "x1")
                try TCIngress.attach(
                    programFD: foreign.programFD, ifindex: x1, name: "x1",
                    priority: TCRouterAttacher.priority, handle: TCRouterAttacher.handle)
                do {
                    try attacher.attachRouter(ifindex: x1, name: "x1")
                    return (state, nil)
                } catch let error as BPFError {
                    return (state, error)
                }
            }
            #expect(state == .none, "a foreign program is not vrfc's")
            let onX0 = try tcFilters(ns, "x0")
            #expect(onX0.count == 1 && onX0.first?.programName == "other_prog" && onX0.first?.priority == 5)
            guard case .slotTaken(let interface, _, _, _)? = slotError else {
                Issue.record("attaching over a foreign filter in vrfc's slot must fail, got \(String(describing: slotError))")
                return
            }
            #expect(interface == "x1")
            #expect(slotError?.description.contains("x1") == true)
            let onX1 = try tcFilters(ns, "x1")
            #expect(onX1.count == 1 && onX1.first?.programName == "other_prog")
        }
    }

    @Test("Detach removes the program, twice is harmless, and a vanished interface has nothing to detach")
    func detach() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let states = try ns.run { () throws -> [RouterAttachState] in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                try attacher.attach(ifindex: x0, name: "x0")
                let s0 = try attacher.state(ifindex: x0)
                try attacher.detach(ifindex: x0, name: "x0")
                let s1 = try attacher.state(ifindex: x0)
                try attacher.detach(ifindex: x0, name: "x0")
                return [s0, s1, try attacher.state(ifindex: x0)]
            }
            #expect(states == [.current, .none, .none])
            #expect(try tcFilters(ns, "x0").isEmpty)
            try ns.ip("link", "del", "x0")
            try ns.run { try TCRouterAttacher(pinDirectory: pin).detach(ifindex: x0, name: "x0") }
        }
    }

    @Test("A recreated interface (new ifindex) starts without the program and gets it again")
    func recreatedInterface() throws {
        try withLink { ns, pin in
            let old = try ns.ifindex("x0")
            _ = try ns.run { try TCRouterAttacher(pinDirectory: pin).attach(ifindex: old, name: "x0") }
            try ns.ip("link", "del", "x0")
            try ns.ip("link", "add", "x0", "type", "veth", "peer", "name", "x1")
            try ns.ip("link", "set", "x0", "up")
            let new = try ns.ifindex("x0")
            #expect(new != old)
            let (fresh, oldError, after, x1Error) = try ns.run {
                () throws -> (RouterAttachState, BPFError?, RouterAttachState, BPFError?) in
                let attacher = TCRouterAttacher(pinDirectory: pin)
                let fresh = try attacher.state(ifindex: new)
                var oldError: BPFError?
                do { try attacher.attachRouter(ifindex: old, name: "x0") } catch let e as BPFError { oldError = e }
                try attacher.attach(ifindex: new, name: "x0")
                let x1 = try ns.ifindexInThread("x1")
                var x1Error: BPFError?
                do { try attacher.attachRouter(ifindex: x1, name: "x0") } catch let e as BPFError { x1Error = e }
                return (fresh, oldError, try attacher.state(ifindex: new), x1Error)
            }
            #expect(fresh == .none)
            #expect(oldError == .interfaceNotFound(name: "x0", ifindex: old))
            #expect(after == .current)
            guard case .interfaceMismatch(let name, _, let actual)? = x1Error else {
                Issue.record("attaching by x1's ifindex under the name x0 must fail, got \(String(describing: x1Error))")
                return
            }
            #expect(name == "x0" && actual == "x1")
            #expect(try tcFilters(ns, "x0").count == 1)
        }
    }

    @Test("Pinned counters survive the attacher; a later attacher finds its program current")
    func pinnedCountersSurvive() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let arp = Frame.arpRequest(srcMAC: [2, 0, 0, 0, 0, 9], senderIP: "192.0.2.9", targetIP: "192.0.2.10")
            let (firstID, secondState, secondID, counts) = try ns.run {
                () throws -> (UInt32, RouterAttachState, UInt32, [UInt64]) in
                var counts: [UInt64] = []
                let firstID: UInt32
                do {
                    let first = TCRouterAttacher(pinDirectory: pin)
                    try first.attach(ifindex: x0, name: "x0")
                    firstID = try first.instances(ifindex: x0, name: "x0")[0].programID
                    for _ in 0..<3 { _ = try first.program().testRun(frame: arp, ifindex: x0) }
                }
                // The first attacher and its program object are gone; tc and the pins remain.
                counts.append(try RouterStats.read(pinDirectory: pin)[.passNotIP].packets)
                let second = TCRouterAttacher(pinDirectory: pin)
                let state = try second.state(ifindex: x0)
                try second.attach(ifindex: x0, name: "x0")
                let secondID = try second.instances(ifindex: x0, name: "x0")[0].programID
                for _ in 0..<2 { _ = try second.program().testRun(frame: arp, ifindex: x0) }
                counts.append(try RouterStats.read(pinDirectory: pin)[.passNotIP].packets)
                return (firstID, state, secondID, counts)
            }
            #expect(counts == [3, 5])
            #expect(secondState == .current)
            #expect(secondID == firstID)
        }
    }

    /// Pins are a convenience: with them gone, the kernel still says which
    /// program runs and which maps it counts into, so the attached instance
    /// stays current, nothing is replaced, and its maps are pinned again
    /// with their counts.
    @Test("Without its pinned maps an attached program is still current; its maps are pinned again")
    func lostPins() throws {
        try withLink { ns, pin in
            let x0 = try ns.ifindex("x0")
            let arp = Frame.arpRequest(srcMAC: [2, 0, 0, 0, 0, 9], senderIP: "192.0.2.9", targetIP: "192.0.2.10")
            let (firstID, state, secondID) = try ns.run { () throws -> (UInt32, RouterAttachState, UInt32) in
                let firstID: UInt32
                do {
                    let first = TCRouterAttacher(pinDirectory: pin)
                    try first.attach(ifindex: x0, name: "x0")
                    firstID = try first.instances(ifindex: x0, name: "x0")[0].programID
                    for _ in 0..<3 { _ = try first.program().testRun(frame: arp, ifindex: x0) }
                }
                BPFFS.remove(directory: pin)
                let second = TCRouterAttacher(pinDirectory: pin)
                let state = try second.state(ifindex: x0)
                try second.attach(ifindex: x0, name: "x0")
                return (firstID, state, try second.instances(ifindex: x0, name: "x0")[0].programID)
            }
            #expect(state == .current)
            #expect(secondID == firstID, "nothing to replace")
            let onX0 = try tcFilters(ns, "x0")
            #expect(onX0.count == 1 && onX0.first?.programID == Int(firstID))
            let stats = try RouterStats.read(pinDirectory: pin)
            #expect(stats[.passNotIP].packets == 3, "the attached program's maps, pinned again, with their counts")
        }
    }
}

extension Netns {
    /// if_nametoindex from a thread already inside this namespace.
    func ifindexInThread(_ name: String) throws -> Int32 {
        let i = if_nametoindex(name)
        guard i > 0 else { throw SetupError("no interface \(name) in \(self.name)") }
        return Int32(i)
    }
}
