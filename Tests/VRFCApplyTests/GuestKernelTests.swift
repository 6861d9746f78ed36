import Foundation
import Testing
import VRFCApply
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCTestSupport

/// The complete per-VRF stack, VRF device and table included, under a
/// Debian kernel in a virtme-ng guest (this machine's kernel has no VRF).
/// One boot runs every scenario; the guest writes each step's output to a
/// directory shared with the host, and the checks run here.
@Suite struct GuestKernelTests {
    /// A Debian kernel whose modules include vrf.ko; VRFC_TEST_KERNEL overrides.
    static func kernel() throws -> String {
        if let k = ProcessInfo.processInfo.environment["VRFC_TEST_KERNEL"] { return k }
        let boot = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        for image in boot.filter({ $0.hasPrefix("vmlinuz-") }).sorted().reversed() {
            let version = String(image.dropFirst("vmlinuz-".count))
            let dir = "/lib/modules/\(version)/kernel/drivers/net"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            if files.contains(where: { $0.hasPrefix("vrf.ko") }) { return "/boot/" + image }
        }
        throw SetupError("no Debian kernel with vrf.ko under /boot (package linux-image-amd64); run scripts/install-deps.sh")
    }

    @Test(.timeLimit(.minutes(20)))
    func completeStacksUnderADebianKernel() throws {
        let kernel = try Self.kernel()
        let vng = try Shell.which("vng")
        let applier = try applierPath()
        let fixture = Fixture(name: "route-targets")
        let crFiles = try FileManager.default.contentsOfDirectory(atPath: fixture.crs).sorted()
        try #require(crFiles.count >= 3)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfca-vm-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for (sub, files) in [("crs-all", crFiles), ("crs-fewer", Array(crFiles.dropFirst())), ("crs-none", [])] {
            try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            for f in files { try fm.copyItem(atPath: fixture.crs + "/" + f, toPath: dir.appendingPathComponent("\(sub)/\(f)").path) }
        }
        let all = try compiledOps(config: fixture.config, crs: [fixture.crs])
        let fewer = try compiledOps(config: fixture.config, crs: [dir.appendingPathComponent("crs-fewer").path])
        let goFirstTable = 100
        try Data(try ipBatch(all, marker: false, extra: ["--first-table", String(goFirstTable)]).utf8)
            .write(to: dir.appendingPathComponent("go.batch"))

        // The VRF device of the stack that crs-fewer drops: a foreign port on it blocks its deletion.
        let goneVRF = try #require(Set(all.links.map(\.name.value)).subtracting(fewer.links.map(\.name.value)).first { $0.hasPrefix("vr.") })
        let d = dir.path, c = fixture.config
        let script = """
        #!/bin/bash
        # Runs inside the guest, as root. Each step: NAME.out, NAME.err, NAME.rc; NAME.json = ip -d -j link.
        D=\(d); A=\(applier); C=\(c)
        run() { local n=$1; shift; "$@" >"$D/$n.out" 2>"$D/$n.err"; echo $? >"$D/$n.rc"; }
        links() { ip -d -j link show >"$D/$1.json" 2>&1; }
        uname -r >"$D/uname"
        # A dummy underlay, the provisioned management VRF on table 50, and a
        # policy rule into table 52 (someone else's table: not free either).
        run setup sh -c 'ip link add dum.underlay mtu 9100 type dummy && ip address add 192.0.2.129/32 dev dum.underlay && ip link set dum.underlay up && ip link add vr.mgmt_vrf type vrf table 50 && ip rule add pref 900 from 198.51.100.0/24 lookup 52'
        tcs() { for i in \(all.routerAttachments.map(\.value).joined(separator: " ")); do tc -j filter show dev $i ingress >"$D/$1-tc-$i.json" 2>&1; done; }
        run apply1 $A apply --config $C $D/crs-all; links apply1; tcs apply1
        run plan1 $A plan --config $C $D/crs-all
        run apply2 $A apply --config $C $D/crs-all; links apply2; tcs apply2
        run apply3 $A apply --config $C $D/crs-fewer; links apply3
        run plan3 $A plan --config $C $D/crs-fewer
        run apply4 $A apply --config $C $D/crs-all; links apply4
        run port sh -c 'ip link add fp0 type dummy && ip link set fp0 master \(goneVRF)'
        run ports $A apply --config $C $D/crs-fewer; links ports
        run forced $A apply --force --config $C $D/crs-fewer; links forced
        run apply5 $A apply --config $C $D/crs-all
        run none $A apply --config $C $D/crs-none; links none
        run full $A apply --table-range 50-52 --config $C $D/crs-all; links full
        run go ip -batch $D/go.batch; links go
        run planGo $A plan --config $C $D/crs-all
        run adopt $A apply --adopt --config $C $D/crs-all; links adopt
        run planAdopt $A plan --json --config $C $D/crs-all
        echo ok >"$D/finished"
        """
        let scriptURL = dir.appendingPathComponent("guest.sh")
        try Data(script.utf8).write(to: scriptURL)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scriptURL.path)

        let boot = try runWithTimeout([vng, "-r", kernel, "--disable-microvm", "--disable-kvm", "--rwdir", d,
                                       "--memory", "2G", "--", scriptURL.path], seconds: 900)
        try #require(fm.fileExists(atPath: d + "/finished"), "the guest did not finish its script:\n\(boot)")

        func step(_ n: String) -> (rc: Int32, out: String, err: String) {
            let rc = Int32((readText("\(d)/\(n).rc") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            return (rc, readText("\(d)/\(n).out") ?? "", readText("\(d)/\(n).err") ?? "")
        }
        func links(_ n: String) throws -> [String: [String: Any]] { try parseIPLinks(readText("\(d)/\(n).json") ?? "") }
        func vrfTables(_ l: [String: [String: Any]]) -> [String: Int] {
            l.compactMapValues { (($0["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any])?["table"] as? Int }
        }
        func ifindexes(_ l: [String: [String: Any]]) -> [String: Int] { l.compactMapValues { $0["ifindex"] as? Int } }

        #expect(readText("\(d)/uname")?.hasPrefix(URL(fileURLWithPath: kernel).lastPathComponent.replacingOccurrences(of: "vmlinuz-", with: "")) == true)
        #expect(step("setup").rc == 0, "\(step("setup"))")

        // 1. From empty: every link as compiled, new VRFs on the lowest free
        //    tables in op-list order (50: the provisioned VRF's, 52: a rule's).
        let a1 = step("apply1")
        #expect(a1.rc == 0, "\(a1)")
        let vrfNames = all.links.filter { $0.kind == .vrf }.map(\.name.value)
        var expectedTables: [String: Int] = [:]
        var free = (Int(all.tableRange.first)...Int(all.tableRange.last)).filter { $0 != 50 && $0 != 52 }.makeIterator()
        for n in vrfNames { expectedTables[n] = free.next() }
        let l1 = try links("apply1")
        #expect(checkIPLinks(all, l1, tables: expectedTables) == [])
        #expect(vrfTables(l1)["vr.mgmt_vrf"] == 50, "the foreign VRF keeps its table")
        let p1 = step("plan1")
        #expect(p1.rc == 0 && p1.out.contains("in sync") && p1.out.contains("left alone: vr.mgmt_vrf"), "\(p1)")

        // Every br./vd./vx. of every VRF runs exactly one instance of the tc router.
        func routerInstances(_ n: String, _ dev: String) -> Int {
            let filters = (try? JSONSerialization.jsonObject(with: Data((readText("\(d)/\(n)-tc-\(dev).json") ?? "").utf8))) as? [[String: Any]] ?? []
            return filters.filter { (($0["options"] as? [String: Any])?["bpf_name"] as? String)?.hasPrefix("vrfc_router") == true }.count
        }
        #expect(all.routerAttachments.count == 3 * vrfNames.count)
        for dev in all.routerAttachments.map(\.value) {
            #expect(routerInstances("apply1", dev) == 1, "\(dev): \(readText("\(d)/apply1-tc-\(dev).json") ?? "")")
        }

        // 2. Idempotent.
        let a2 = step("apply2")
        #expect(a2.rc == 0 && a2.out.contains("nothing to change"), "\(a2)")
        #expect(ifindexes(try links("apply2")) == ifindexes(l1))
        for dev in all.routerAttachments.map(\.value) { #expect(routerInstances("apply2", dev) == 1, "\(dev) after a second apply") }

        // 3. One CR fewer: exactly that VRF's stack goes; the rest keep ifindex and table.
        let gone = Set(all.links.map(\.name.value)).subtracting(fewer.links.map(\.name.value))
        #expect(gone.count == 5, "one stack: \(gone)")
        let a3 = step("apply3")
        #expect(a3.rc == 0, "\(a3)")
        let l3 = try links("apply3")
        #expect(Set(l3.keys) == Set(l1.keys).subtracting(gone))
        for (name, index) in ifindexes(l1) where !gone.contains(name) {
            #expect(ifindexes(l3)[name] == index, "\(name) must stay as it is")
        }
        #expect(checkIPLinks(fewer, l3, tables: expectedTables) == [])
        #expect(step("plan3").rc == 0)

        // 4. The CR back: its VRF gets the lowest free table again.
        let a4 = step("apply4")
        #expect(a4.rc == 0, "\(a4)")
        #expect(checkIPLinks(all, try links("apply4"), tables: expectedTables) == [])

        // 4b. A foreign interface enslaved to the VRF device of a stack that
        //     goes: reported and the deletion refused; --force detaches it.
        #expect(step("port").rc == 0, "\(step("port"))")
        let ports = step("ports")
        #expect(ports.rc == 1 && ports.out.contains("\(goneVRF) is to be deleted") && ports.out.contains("fp0 is a port of it and not vrfc's"), "\(ports)")
        #expect(try links("ports")[goneVRF] != nil && links("ports")["fp0"]?["master"] as? String == goneVRF)
        let forced = step("forced")
        #expect(forced.rc == 0 && forced.out.contains("--force: detaches fp0"), "\(forced)")
        #expect(try links("forced")[goneVRF] == nil && links("forced")["fp0"] != nil && links("forced")["fp0"]?["master"] == nil)
        #expect(step("apply5").rc == 0, "\(step("apply5"))")

        // 5. No CRs: all of vrfc's links go, the foreign VRF stays.
        #expect(step("none").rc == 0)
        let ln = try links("none")
        #expect(!ln.keys.contains { Ownership.hasOwnedPrefix($0) && $0 != "vr.mgmt_vrf" }, "\(ln.keys.sorted())")
        #expect(ln["vr.mgmt_vrf"] != nil && ln["dum.underlay"] != nil)

        // 6. A table range too small: refused before any change.
        let full = step("full")
        #expect(full.rc == 1 && full.out.contains("table range 50-52 is full"), "\(full)")
        #expect(Set(try links("full").keys) == Set(ln.keys), "nothing may be created")

        // 7. A node made the Go operator's way (ip, no marker, tables from 100):
        //    plan refuses without --adopt, apply --adopt takes it over in place.
        #expect(step("go").rc == 0, "\(step("go"))")
        let lg = try links("go")
        let pg = step("planGo")
        #expect(pg.rc == 1 && pg.out.contains("rerun with --adopt"), "\(pg)")
        let ad = step("adopt")
        #expect(ad.rc == 0 && ad.out.contains("adopt"), "\(ad)")
        #expect(ad.out.contains("keeps table \(goFirstTable)"), "a table outside the range is kept and noted\n\(ad)")
        let la = try links("adopt")
        #expect(ifindexes(la) == ifindexes(lg), "adoption must not re-create links")
        var goTables: [String: Int] = [:]
        for (i, n) in vrfNames.enumerated() { goTables[n] = goFirstTable + i }
        #expect(checkIPLinks(all, la, tables: goTables) == [])
        let pa = step("planAdopt")
        let report = try JSONDecoder().decode(PlanReport.self, from: Data(pa.out.utf8))
        #expect(pa.rc == 0 && report.inSync, "\(pa)")
    }
}

/// Runs a command, killing it (by its PID) after `seconds`.
func runWithTimeout(_ args: [String], seconds: Double) throws -> String {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("vrfca-vng-\(UUID().uuidString.prefix(8)).log")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    let h = try FileHandle(forWritingTo: out)
    p.standardOutput = h
    p.standardError = h
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(seconds)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.5) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        throw SetupError("\(args[0]) did not finish within \(Int(seconds)) s:\n\(readText(out.path) ?? "")")
    }
    return "exit \(p.terminationStatus)\n" + (readText(out.path) ?? "")
}
