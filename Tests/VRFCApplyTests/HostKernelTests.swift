import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// vrfc-apply against this machine's kernel, in namespaces the tests create.
/// Nothing is mocked: the applier binary runs in the namespace, and every
/// result is read back over netlink (vrfc's parser) and with `ip -d -j link`.
/// This kernel has no VRF device, so the op lists here are the compiled ones
/// without their `vr.` links (see `withoutVRFDevices`); GuestKernelTests
/// applies complete stacks under a Debian kernel.
@Suite struct HostKernelTests {
    @Test func createsEveryLinkWithItsSettingsAndThenPlansInSync() throws {
        let ops = try compiledOps("route-targets").withoutVRFDevices
        #expect(ops.links.count >= 12, "the fixture should give several stacks")
        try Namespace.with("create") { ns in
            try ns.addUnderlay()
            let before = try ns.planOps(ops)
            #expect(before.status == 3, "plan before apply: changes pending\n\(before)")

            let r = try ns.applier(["apply", "--ops", try ns.file("ops.json", JSONOutput.encode(ops))])
            #expect(r.status == 0, "\(r)")
            #expect(checkIPLinks(ops, try ns.ipLinks()) == [])
            #expect(checkNetlinkLinks(ops, try ns.links()) == [])

            let plan = try ns.planOps(ops)
            #expect(plan.status == 0 && plan.stdout.contains("in sync"), "\(plan)")
            let json = try ns.planOps(ops, "--json")
            let report = try JSONDecoder().decode(PlanReport.self, from: Data(json.stdout.utf8))
            #expect(json.status == 0 && report.inSync && report.changes.isEmpty, "\(json)")
        }
    }

    @Test func aSecondApplyChangesNothing() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("idem") { ns in
            try ns.addUnderlay()
            try #require(try ns.applyOps(ops).status == 0)
            let links = try ns.links()
            let ipBefore = try ns.ipLinks()
            let again = try ns.applyOps(ops)
            #expect(again.status == 0 && again.stdout.contains("nothing to change"), "\(again)")
            #expect(identities(try ns.links()) == identities(links))
            let ipAfter = try ns.ipLinks()
            for name in ipBefore.keys {
                #expect(stableDescription(ipAfter[name]) == stableDescription(ipBefore[name]), "\(name) changed")
            }
        }
    }

    /// Done criterion: removing a CR and re-applying removes exactly that
    /// VRF's stack and nothing else.
    @Test func removingACRRemovesExactlyThatStack() throws {
        let fixture = Fixture(name: "route-targets")
        let crs = try FileManager.default.contentsOfDirectory(atPath: fixture.crs).sorted().map { fixture.crs + "/" + $0 }
        try #require(crs.count >= 3)
        let all = try compiledOps(config: fixture.config, crs: crs).withoutVRFDevices
        let fewer = try compiledOps(config: fixture.config, crs: Array(crs.dropFirst())).withoutVRFDevices
        let goneNames = Set(all.links.map(\.name.value)).subtracting(fewer.links.map(\.name.value))
        try #require(goneNames.count == 4, "dropping \(crs[0]) should drop one stack, drops \(goneNames)")

        try Namespace.with("remove") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "br.mgmt_vrf", "type", "bridge")  // provisioned by someone else
            try #require(try ns.applyOps(all).status == 0)
            let before = identities(try ns.links())

            let r = try ns.applyOps(fewer)
            #expect(r.status == 0, "\(r)")
            let after = identities(try ns.links())
            for (name, index) in before {
                if goneNames.contains(name) {
                    #expect(after[name] == nil, "\(name) should be gone")
                } else {
                    #expect(
                        after[name] == index,
                        "\(name) should be untouched (ifindex \(index)), now \(after[name].map(String.init) ?? "gone")")
                }
            }
            #expect(Set(after.keys) == Set(before.keys).subtracting(goneNames))
            #expect(checkIPLinks(fewer, try ns.ipLinks()) == [])
            #expect(try ns.planOps(fewer).status == 0)
        }
    }

    @Test func foreignLinksAreReportedAndLeftAlone() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("foreign") { ns in
            try ns.addUnderlay()
            // vrfc's prefixes without its marker, a foreign alias, and a plain link.
            try ns.ip("link", "add", "br.mgmt_vrf", "mtu", "1500", "type", "bridge")
            try ns.ip("link", "add", "vx.200", "type", "vxlan", "id", "200", "local", "192.0.2.129", "dstport", "4789")
            try ns.ip("link", "add", "vd.legacy", "type", "veth", "peer", "name", "dv.legacy")
            try ns.ip("link", "set", "dv.legacy", "alias", "owned by someone else")
            try ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
            try ns.ip("link", "set", "eth0", "alias", "vrfc:v1:eth0")  // a marker, but not one of vrfc's names
            let foreign = ["br.mgmt_vrf", "vx.200", "vd.legacy", "dv.legacy", "eth0", "eth1"]
            let before = try ns.ipLinks()

            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            for name in ["br.mgmt_vrf", "vx.200", "vd.legacy", "dv.legacy"] {
                #expect(r.stdout.contains("left alone: \(name)"), "apply should report \(name)\n\(r)")
            }
            let after = try ns.ipLinks()
            for name in foreign {
                #expect(stableDescription(after[name]) == stableDescription(before[name]), "\(name) was changed")
                #expect((after[name]?["flags"] as? [String])?.contains("UP") == false, "\(name) was brought up")
            }
            #expect(checkIPLinks(ops, after) == [])
            // A fresh plan still reports them and is in sync.
            let plan = try ns.planOps(ops)
            #expect(plan.status == 0 && plan.stdout.contains("left alone: vx.200"), "\(plan)")
        }
    }

    @Test func aSquattedNameIsRefusedBeforeAnyChange() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("squat") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "br.vrf2", "type", "bridge")
            let before = try ns.ipLinks()
            for extra in [[], ["--adopt"]] {
                let r = try ns.applier(["apply", "--ops", try ns.file("ops.json", JSONOutput.encode(ops))] + extra)
                #expect(r.status == 1, "\(r)")
                #expect(r.stdout.contains("br.vrf2 exists (bridge) but is not vrfc's"), "\(r)")
                #expect(r.stdout.contains("nothing would be changed"), "\(r)")
                let after = try ns.ipLinks()
                #expect(Set(after.keys) == Set(before.keys), "links were created or deleted: \(after.keys.sorted())")
                #expect(stableDescription(after["br.vrf2"]) == stableDescription(before["br.vrf2"]))
            }
            let plan = try ns.planOps(ops)
            #expect(plan.status == 1 && plan.stdout.contains("--adopt"), "\(plan)")
        }
    }

    /// A node the Go network-operator set up: the same links and settings,
    /// made with iproute2, without vrfc's marker. --adopt takes them over in
    /// place (same ifindexes), writing only the marker.
    @Test func adoptTakesOverExactMatchesInPlace() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("adopt") { ns in
            try ns.addUnderlay()
            let batch = try ipBatch(ops, marker: false)
            try #require(try ns.exec(["ip", "-batch", try ns.file("go.batch", batch)]).status == 0)
            let before = identities(try ns.links())

            let plain = try ns.applyOps(ops)
            #expect(plain.status == 1 && plain.stdout.contains("rerun with --adopt"), "\(plain)")

            let adopt = try ns.applyOps(ops, "--adopt")
            #expect(adopt.status == 0, "\(adopt)")
            #expect(adopt.stdout.contains("adopt  vx.vrf1") || adopt.stdout.contains("adopt   vx.vrf1"), "\(adopt)")
            #expect(identities(try ns.links()) == before, "adoption must not re-create links")
            #expect(checkIPLinks(ops, try ns.ipLinks()) == [])
            #expect(try ns.planOps(ops).status == 0)
        }
    }

    @Test func adoptRefusesLinksThatDifferFromVrfcsSettings() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("adoptx") { ns in
            try ns.addUnderlay()
            var batch = try ipBatch(ops, marker: false)
            batch += "link set dev vx.vrf1 type bridge_slave learning on\n"
            try #require(try ns.exec(["ip", "-batch", try ns.file("go.batch", batch)]).status == 0)
            let before = try ns.ipLinks()
            let r = try ns.applyOps(ops, "--adopt")
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.contains("vx.vrf1") && r.stdout.contains("learning on, want off"), "\(r)")
            #expect(try ns.ipLinks().mapValues(stableDescription) == before.mapValues(stableDescription))
        }
    }

    @Test func driftIsRepairedInPlaceOrByRecreating() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("drift") { ns in
            try ns.addUnderlay()
            try #require(try ns.applyOps(ops).status == 0)
            let before = identities(try ns.links())
            try ns.ip("link", "set", "br.vrf1", "mtu", "1500", "address", "02:00:00:00:00:01")
            try ns.ip("link", "set", "vx.vrf1", "type", "bridge_slave", "hairpin", "off", "learning", "on", "neigh_suppress", "on")
            try ns.ip("link", "set", "vd.vrf1", "addrgenmode", "none")
            try ns.ip("link", "set", "dv.vrf1", "down")
            try ns.ip("link", "set", "vx.vrf2", "nomaster")
            // A VNI cannot change in place: vrfc must re-create vx.vrf2.
            try ns.ip("link", "del", "vx.vrf2")
            try ns.ip("link", "add", "vx.vrf2", "type", "vxlan", "id", "4242", "local", "192.0.2.129", "dstport", "4789")
            try ns.ip("link", "set", "vx.vrf2", "alias", "vrfc:v1:vrf2")
            let plan = try ns.planOps(ops)
            #expect(plan.status == 3, "\(plan)")
            for needle in [
                "mtu 1500 → 9000", "hairpin off → on", "neigh_suppress on → off", "addrgenmode none → eui64",
                "up      dv.vrf1", "delete  vx.vrf2", "id 4242, want",
            ] {
                #expect(plan.stdout.contains(needle), "plan should say '\(needle)'\n\(plan)")
            }
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            #expect(checkIPLinks(ops, try ns.ipLinks()) == [])
            let after = identities(try ns.links())
            for name in ["br.vrf1", "vx.vrf1", "vd.vrf1", "dv.vrf1", "br.vrf2"] {
                #expect(after[name] == before[name], "\(name) should be repaired in place")
            }
            #expect(try ns.planOps(ops).status == 0)
        }
    }

    /// A tampered op list never reaches the kernel: not for eth0, not for an
    /// out-of-range VNI or table range, not for a name outside the scheme.
    @Test(arguments: TamperCase.all)
    func aTamperedOpListIsRefused(_ tamper: TamperCase) throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        var json = try #require(try JSONSerialization.jsonObject(with: Data(JSONOutput.encode(ops).utf8)) as? [String: Any])
        tamper.apply(&json)
        let text = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        try Namespace.with("tamper") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "eth0", "mtu", "1500", "type", "veth", "peer", "name", "eth1")
            let before = try ns.ipLinks()
            let r = try ns.applier("apply", "--ops", try ns.file("ops.json", text))
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains(tamper.expect), "stderr should mention '\(tamper.expect)'\n\(r)")
            #expect(r.stderr.contains("nothing was changed"), "\(r)")
            #expect(try ns.ipLinks().mapValues(stableDescription) == before.mapValues(stableDescription))
        }
    }

    @Test func withoutCapNetAdminApplyExitsBeforeDoingAnything() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("nocap") { ns in
            try ns.addUnderlay()
            let file = try ns.file("ops.json", JSONOutput.encode(ops))
            let before = try ns.ipLinks()
            // root, but without CAP_NET_ADMIN in any set
            let r = try ns.exec([
                "setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", try applierPath(), "apply", "--ops", file,
            ])
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("needs CAP_NET_ADMIN") && r.stderr.contains("nothing was changed"), "\(r)")
            #expect(Set(try ns.ipLinks().keys) == Set(before.keys))
            // plan needs no privileges at all
            let plan = try ns.exec(
                [
                    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", try applierPath(), "plan", "--ops", file,
                ] + Namespace.operatorFlags)
            #expect(plan.status == 3 && plan.stdout.contains("create  vx.vrf1"), "\(plan)")
        }
    }

    @Test(arguments: UnderlayCase.allCases)
    func underlayProblemsStopApplyBeforeAnyChange(_ c: UnderlayCase) throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("under") { ns in
            switch c {
            case .missing: break
            case .noAddress: try ns.addUnderlay(addresses: [])
            case .twoAddresses: try ns.addUnderlay(addresses: ["192.0.2.129/32", "192.0.2.130/32"])
            case .smallMTU: try ns.addUnderlay(mtu: 9000)
            }
            let before = try ns.ipLinks()
            let r = try ns.applyOps(ops)
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.contains(c.expect), "should say '\(c.expect)'\n\(r)")
            #expect(Set(try ns.ipLinks().keys) == Set(before.keys), "nothing may be created")
        }
    }

    @Test func anotherUnderlayCanBeNamed() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("underx") { ns in
            try ns.addUnderlay(name: "fabric0")
            let r = try ns.applyOps(ops, "--underlay", "fabric0")
            #expect(r.status == 0, "\(r)")
            #expect(checkIPLinks(ops, try ns.ipLinks(), underlay: "fabric0") == [])
        }
    }

    @Test func aForeignVXLANWithTheSameVNIIsAProblemNotAnEEXIST() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        let vni = try #require(ops.links.first { $0.kind == .vxlan }?.vxlan)
        try Namespace.with("vni") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "vxlan-other", "type", "vxlan", "id", String(vni.vni), "dstport", "4789", "local", "192.0.2.129")
            let r = try ns.applyOps(ops)
            #expect(r.status == 1 && r.stdout.contains("VNI \(vni.vni) (dstport 4789)") && r.stdout.contains("vxlan-other"), "\(r)")
        }
    }

    /// kill -9 anywhere in an apply, then rerun: the rerun converges to the
    /// same state. The kill delay adapts to the machine's speed (the suite
    /// runs in parallel with a VM), and only kills that landed strictly
    /// mid-transition count: the test insists on several of them.
    @Test func killedAnywhereTheRerunConverges() throws {
        let ops = try compiledOps("fifty-vrfs").withoutVRFDevices
        let keep = Set(ops.links.prefix(40).map(\.vrf))
        let fewer = ops.keeping { keep.contains($0) }
        try Namespace.with("kill") { ns in
            try ns.addUnderlay()
            let files = [try ns.file("ops.json", JSONOutput.encode(ops)), try ns.file("fewer.json", JSONOutput.encode(fewer))]
            let targets = [ops, fewer]
            let start = Date()
            try #require(try ns.applier("apply", "--ops", files[0]).status == 0)
            let full = Date().timeIntervalSince(start)
            try #require(try ns.applier("apply", "--ops", files[1]).status == 0)

            var fraction = 0.3
            var mid = 0
            var round = 0
            while mid < 5 && round < 30 {
                // Alternate: build up to all stacks, tear down to a few.
                let t = round % 2 == 0 ? 0 : 1
                let before = try ns.links().filter { Ownership.hasOwnedPrefix($0.name) }.count
                let wasRunning = try killMidway(ns, ["apply", "--ops", files[t]], after: full * fraction)
                let after = try ns.links().filter { Ownership.hasOwnedPrefix($0.name) }.count
                let pending = try ns.applier("plan", "--ops", files[t]).status == 3
                if !wasRunning || !pending {
                    fraction = max(0.02, fraction * 0.6)  // too late: it had finished
                } else if after == before {
                    fraction = min(0.95, fraction + 0.15)  // too early: nothing had changed yet
                } else {
                    mid += 1
                }
                let rerun = try ns.applier("apply", "--ops", files[t])
                #expect(rerun.status == 0, "round \(round): rerun after kill -9\n\(rerun)")
                #expect(try ns.applier("plan", "--ops", files[t]).status == 0, "round \(round): not in sync after the rerun")
                #expect(checkIPLinks(targets[t], try ns.ipLinks()) == [], "round \(round)")
                let ours = Set(try ns.links().filter { Ownership.hasOwnedPrefix($0.name) }.map(\.name))
                #expect(ours == Set(targets[t].links.map(\.name.value)), "round \(round): exactly the wanted links")
                round += 1
            }
            #expect(mid >= 5, "only \(mid) of \(round) kills landed mid-apply; the test did not test interruption")
        }
    }
}

/// Starts `vrfc-apply ARGS` in the namespace and SIGKILLs it after `delay`.
/// Returns whether it was still running when killed.
func killMidway(_ ns: Namespace, _ args: [String], after delay: TimeInterval) throws -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Shell.which("ip"))
    p.arguments = ["netns", "exec", ns.name, try applierPath()] + args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    Thread.sleep(forTimeInterval: delay)
    // `ip netns exec` execs the applier in place: this PID is the applier.
    let wasRunning = p.isRunning
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    return wasRunning && p.terminationReason == .uncaughtSignal
}

struct TamperCase: Sendable, CustomStringConvertible {
    let description: String
    let expect: String
    let change: @Sendable (inout [String: Any]) -> Void

    func apply(_ json: inout [String: Any]) { change(&json) }

    static func link(_ json: inout [String: Any], _ i: Int, _ body: (inout [String: Any]) -> Void) {
        var links = json["links"] as! [[String: Any]]
        body(&links[i])
        json["links"] = links
    }

    static func first(_ json: [String: Any], kind: String) -> Int {
        (json["links"] as! [[String: Any]]).firstIndex { $0["kind"] as? String == kind }!
    }

    static let all: [TamperCase] = [
        TamperCase(description: "a link named eth0", expect: "eth0") { j in
            let i = first(j, kind: "bridge")
            link(&j, i) { $0["name"] = "eth0" }
        },
        TamperCase(description: "a name longer than IFNAMSIZ", expect: "1 to 15 characters") { j in
            link(&j, 0) { $0["name"] = "br.abcdefghijklm" }
        },
        TamperCase(description: "a bridge named like a VXLAN", expect: "must be named br.") { j in
            let i = first(j, kind: "bridge")
            link(&j, i) { $0["name"] = "vx.\($0["vrf"]!)" }
        },
        TamperCase(description: "VNI 0", expect: "VNI 0 is outside 1...16777215") { j in
            let i = first(j, kind: "vxlan")
            link(&j, i) {
                var v = $0["vxlan"] as! [String: Any]
                v["vni"] = 0
                $0["vxlan"] = v
            }
        },
        TamperCase(description: "VNI 2^24", expect: "VNI 16777216 is outside") { j in
            let i = first(j, kind: "vxlan")
            link(&j, i) {
                var v = $0["vxlan"] as! [String: Any]
                v["vni"] = 16_777_216
                $0["vxlan"] = v
            }
        },
        TamperCase(description: "a table range over the kernel's tables", expect: "tableRange 200-300 is not valid") { j in
            j["tableRange"] = ["first": 200, "last": 300]
        },
        TamperCase(description: "a master outside the stack", expect: "master eth1") { j in
            let i = first(j, kind: "vxlan")
            link(&j, i) { $0["master"] = "eth1" }
        },
        TamperCase(description: "an underlay with vrfc's prefix", expect: "carries vrfc's own prefix") { j in
            j["underlay"] = "vx.vrf1"
        },
        TamperCase(description: "another format version", expect: "version 2 is not supported") { j in
            j["version"] = 2
        },
    ]
}

enum UnderlayCase: String, CaseIterable, Sendable {
    case missing, noAddress, twoAddresses, smallMTU

    var expect: String {
        switch self {
        case .missing: "underlay dum.underlay does not exist"
        case .noAddress: "underlay dum.underlay has no IPv4 address"
        case .twoAddresses: "underlay dum.underlay has 2 IPv4 addresses"
        case .smallMTU: "need at least 9050"
        }
    }
}

/// Every point between two kernel changes, deterministically: the applier
/// ends like kill -9 right after its k-th change (vrfc-apply-faults apply),
/// for every k of a run, and a plain rerun must converge. Covers creating
/// (the window between creating a link and marking it: the creation log),
/// deleting, re-creating and repairing.
@Suite struct CrashPointTests {
    func crashAt(_ ns: Namespace, _ file: String, after k: Int) throws -> CommandResult {
        try ns.crashingApply(file, after: k)
    }

    func everyCrashPointConverges(from start: OpList, to target: OpList, tag: String) throws {
        try Namespace.with(tag) { ns in
            try ns.addUnderlay()
            let startFile = try ns.file("start.json", JSONOutput.encode(start))
            let targetFile = try ns.file("target.json", JSONOutput.encode(target))
            try #require(try ns.applier("apply", "--ops", startFile).status == 0)
            let steps = try ns.applier("plan", "--ops", targetFile).stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }.count
            try #require(steps > 3, "the transition should take several steps")
            var k = 1
            while true {
                let crashed = try crashAt(ns, targetFile, after: k)
                if crashed.status == 0 { break }  // fewer changes than k: the whole run fit
                #expect(crashed.status == 137, "k=\(k): \(crashed)")
                let mid = try ns.applier("plan", "--ops", targetFile)
                #expect(
                    mid.status == 3 || mid.status == 0, "k=\(k): after the crash, plan must see vrfc's own links, not squatters\n\(mid)")
                #expect(!mid.stdout.contains("not vrfc's"), "k=\(k): \(mid)")
                let rerun = try ns.applier("apply", "--ops", targetFile)
                #expect(rerun.status == 0, "k=\(k): rerun\n\(rerun)")
                #expect(checkIPLinks(target, try ns.ipLinks()) == [], "k=\(k)")
                let ours = Set(try ns.links().map(\.name).filter(Ownership.hasOwnedPrefix))
                #expect(ours == Set(target.links.map(\.name.value)), "k=\(k): exactly the wanted links")
                #expect(try ns.applier("plan", "--ops", targetFile).status == 0, "k=\(k)")
                // Back to the start for the next crash point.
                try #require(try ns.applier("apply", "--ops", startFile).status == 0, "k=\(k): reset")
                k += 1
            }
            #expect(k > steps, "crashes must have covered every step (\(k - 1) crash points, \(steps) steps)")
        }
    }

    @Test func creatingFromEmpty() throws {
        let empty = try compiledOps("mgmt-vrf").withoutVRFDevices.keeping { _ in false }
        try everyCrashPointConverges(from: empty, to: try compiledOps("mgmt-vrf").withoutVRFDevices, tag: "crashc")
    }

    /// One stack goes, one comes, one VNI changes (its VXLAN is re-created),
    /// and an MTU is repaired.
    @Test func deletingRecreatingAndRepairing() throws {
        let base = try compiledOps("route-targets").withoutVRFDevices
        let vrfs = Array(Set(base.links.map(\.vrf))).sorted()
        try #require(vrfs.count >= 4)
        let start = base.keeping { $0 != vrfs[0] }
        var target = base.keeping { $0 != vrfs[1] }
        target.links = target.links.map { l in
            var l = l
            if l.vrf == vrfs[2], l.kind == .vxlan { l.vxlan!.vni = 7_000_000 }
            if l.vrf == vrfs[3], l.kind == .bridge { l.mtu = 1500 }
            return l
        }
        try everyCrashPointConverges(from: start, to: target, tag: "crashd")
    }
}
