import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCTestSupport

/// The complete per-VRF stack, VRF device and table included, under a
/// Debian kernel in a virtme-ng guest (this machine's kernel has no VRF).
/// One boot runs every scenario; the guest writes each step's output to a
/// directory shared with the host, and the checks run here.
@Suite struct GuestKernelTests {
    @Test(.timeLimit(.minutes(30)))
    func completeStacksUnderADebianKernel() throws {
        let kernel = try Guest.kernel()
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
        let sessions = try BGPSessions(fixture: fixture, dir: dir)
        let healthMetrics = GuestHealthMetrics(dir: dir.path, ir: sessions.ir)
        let python = try Shell.check(["python3", "-c", "import sys; print(sys.executable)"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)

        // The VRF device of the stack that crs-fewer drops: a foreign port on it blocks its deletion.
        let goneVRF = try #require(
            Set(all.links.map(\.name.value)).subtracting(fewer.links.map(\.name.value)).first { $0.hasPrefix("vr.") })
        let d = dir.path
        let c = fixture.config
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
            \(sessions.guestScript(applier: applier))
            \(healthMetrics.guestScript(applier: applier, python: python))
            \(VRFRemoval.guestScript(base: fixture.base))
            """
        // Under emulation on a loaded machine one boot with every scenario takes 15-20 minutes.
        try Guest.run(script: script, rwdir: d, timeout: 1500)

        func step(_ n: String) -> (rc: Int32, out: String, err: String) {
            let rc = Int32((readText("\(d)/\(n).rc") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            return (rc, readText("\(d)/\(n).out") ?? "", readText("\(d)/\(n).err") ?? "")
        }
        func links(_ n: String) throws -> [String: [String: Any]] { try parseIPLinks(readText("\(d)/\(n).json") ?? "") }
        func vrfTables(_ l: [String: [String: Any]]) -> [String: Int] {
            l.compactMapValues { (($0["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any])?["table"] as? Int }
        }
        func ifindexes(_ l: [String: [String: Any]]) -> [String: Int] { l.compactMapValues { $0["ifindex"] as? Int } }

        #expect(
            readText("\(d)/uname")?.hasPrefix(URL(fileURLWithPath: kernel).lastPathComponent.replacingOccurrences(of: "vmlinuz-", with: ""))
                == true)
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
            let filters =
                (try? JSONSerialization.jsonObject(with: Data((readText("\(d)/\(n)-tc-\(dev).json") ?? "").utf8))) as? [[String: Any]] ?? []
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
        #expect(
            ports.rc == 1 && ports.out.contains("\(goneVRF) is to be deleted") && ports.out.contains("fp0 is a port of it and not vrfc's"),
            "\(ports)")
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

        // 8./9. Real FRR on the compiled node: sessions up, own-ASN routes refused on vd.
        sessions.check()
        healthMetrics.check()

        // 10. A reconcile that removes a VRF, FRR running: nothing rolled back,
        //     no trace of the VRF in FRR, its links gone.
        VRFRemoval(dir: d, vrf: String(goneVRF.dropFirst(3)), links: gone).check()
    }
}

/// `vrfc-apply apply --frr-config` removing a VRF whose kernel device
/// exists, as on every real node: FRR refuses `no vrf NAME` while the
/// device is there, so the VRF's block may only go after the links (a
/// kernel without VRF devices cannot show it). Each reload strategy on a
/// namespace of its own with zebra+bgpd: crs-all (first run: a full
/// reload), then crs-fewer with `--reload delta` / `--reload frr-reload`.
struct VRFRemoval {
    let dir: String
    /// The bare name (blue) and the link names of its stack.
    let vrf: String
    let links: Set<String>
    static let strategies = ["delta", "frr-reload"]

    static func guestScript(base: String) -> String {
        """
        # 10. Reconcile with FRR, then remove a VRF with each reload strategy.
        rmnode() { # NAME RELOAD
          local n=$1 w=/tmp/frr-$1
          mkdir -p $w && chown frr:frr $w && mkdir -m 700 $w/state $w/run && cp \(base) $w/frr.conf
          ip netns add $n && ip -n $n link set lo up && ip -n $n link add dum.underlay mtu 9100 type dummy &&
            ip -n $n address add 192.0.2.129/32 dev dum.underlay && ip -n $n link set dum.underlay up
          for d in zebra bgpd; do
            ip netns exec $n /usr/lib/frr/$d -d -N $n -F traditional -i $w/$d.pid --log file:$w/$d.log
            for i in $(seq 100); do [ -S /var/run/frr/$n/$d.vty ] && break; sleep 0.2; done
          done
          local r="$A apply --netns $n --bpf-pin-dir /sys/fs/bpf/vrfc-$n --frr-config $w/frr.conf --frr-pathspace $n --state-dir $w/state --run-dir $w/run --hostname node-a --router-id 192.0.2.129 --config $C"
          nslinks() { ip -n $n -d -j link show >"$D/$1.json" 2>&1; }
          run $n-all $r $D/crs-all; nslinks $n-all; vtysh -N $n -c 'show running-config' >"$D/$n-all.conf" 2>&1
          run $n-fewer $r --reload $2 $D/crs-fewer; nslinks $n-fewer
          vtysh -N $n -c 'show running-config' >"$D/$n-fewer.conf" 2>&1; vtysh -N $n -c 'show vrf' >"$D/$n-fewer.vrfs" 2>&1
          cp $w/frr.conf "$D/$n-fewer.disk"; cp $w/zebra.log "$D/$n-zebra.log"
        }
        \(strategies.map { "rmnode rm\($0.replacingOccurrences(of: "-", with: "")) \($0)" }.joined(separator: "; "))
        """
    }

    func text(_ name: String) -> String { readText("\(dir)/\(name)") ?? "" }

    /// Lines naming the VRF: its links, its route-maps and prefix-lists.
    func traces(_ config: String) -> [String] {
        config.split(separator: "\n").map(String.init).filter { line in
            line.split(whereSeparator: { $0 == " " }).contains { word in
                links.contains(String(word)) || word.contains("_\(vrf)_")
            }
        }
    }

    func check() {
        #expect(links.contains("vr.\(vrf)"), "\(links)")
        for strategy in Self.strategies {
            let n = "rm" + strategy.replacingOccurrences(of: "-", with: "")
            func step(_ s: String) -> (rc: String, out: String) {
                (text("\(n)-\(s).rc").trimmingCharacters(in: .whitespacesAndNewlines), text("\(n)-\(s).out") + text("\(n)-\(s).err"))
            }
            let all = step("all")
            let fewer = step("fewer")
            #expect(all.rc == "0", "\(strategy): the first reconcile: \(all.out)")
            #expect(
                text("\(n)-all.conf").contains("\nvrf vr.\(vrf)\n") && !traces(text("\(n)-all.conf")).isEmpty,
                "\(strategy): FRR runs vr.\(vrf) before (the check can fail): \(text("\(n)-all.conf"))")
            #expect(
                fewer.rc == "0" && !fewer.out.contains("rolling back"),
                "\(strategy): removing vr.\(vrf): \(fewer.out)\nzebra: \(text("\(n)-zebra.log").suffix(2000))")
            #expect(
                fewer.out.contains("reload: \(strategy) (requested") && !fewer.out.contains("delta failed"),
                "\(strategy) itself, no fallback: \(fewer.out)")
            let running = text("\(n)-fewer.conf")
            #expect(
                running.contains("router bgp ") && traces(running).isEmpty,
                "\(strategy): FRR still names vr.\(vrf): \(traces(running))\n\(running)")
            #expect(!text("\(n)-fewer.vrfs").contains("vr.\(vrf) "), "\(strategy): zebra still lists vr.\(vrf): \(text("\(n)-fewer.vrfs"))")
            #expect(traces(text("\(n)-fewer.disk")).isEmpty, "\(strategy): frr.conf on disk is the final config")
            let before = (try? parseIPLinks(text("\(n)-all.json"))) ?? [:]
            let after = (try? parseIPLinks(text("\(n)-fewer.json"))) ?? [:]
            #expect(links.isSubset(of: before.keys), "\(strategy): the stack exists before: \(before.keys.sorted())")
            #expect(
                links.isDisjoint(with: after.keys) && after.keys.contains { $0.hasPrefix("vr.") },
                "\(strategy): its links are gone, the others stay: \(after.keys.sorted())")
        }
    }
}

/// The compiled node in real FRR (zebra+bgpd in a namespace of the guest,
/// its links made by vrfc-apply): every dv./vd. session must reach
/// Established, and the same config with the default instance on the VRF
/// instances' router-id (what the fixtures had before) must not — it loads
/// without an error, so only a session check can catch it. Then, on the
/// good node, a route carrying the node's own ASN offered on vd.green must
/// be refused by the VRF instance (its AS-path loop check; vrfc sets no
/// allowas-in on vd.), while a plain one is accepted; with allowas-in on
/// vd. (vrfc's earlier template) the same route gets in, so the check can fail.
struct BGPSessions {
    let fixture: Fixture
    let ir: NodeIR
    let dir: String
    /// vrf/peer as `show bgp vrf all summary json` names them.
    let peers: [String]
    static let control = "203.0.113.1/32", ownASN = "203.0.113.2/32", probeVRF = "green"

    init(fixture: Fixture, dir: URL) throws {
        self.fixture = fixture
        self.dir = dir.path
        ir = try fixture.ir()
        peers = ir.fullVRFs.flatMap { ["default/dv.\($0.name)", "vr.\($0.name)/vd.\($0.name)"] }
        try #require(ir.fullVRFs.contains { $0.name.value == Self.probeVRF }, "the probe VRF's export map permits the probes")
        let good = try fixture.frr()
        let rid = try #require(Fixture.options.routerID).description
        let own = try #require(good.components(separatedBy: "\n").first { $0.hasPrefix(" bgp router-id ") && !$0.hasSuffix(rid) })
        try #require(good.components(separatedBy: own + "\n").count == 2, "one default-instance router-id line")
        let bad = good.replacingOccurrences(of: own + "\n", with: " bgp router-id \(rid)\n")
        try Data(good.utf8).write(to: dir.appendingPathComponent("good.conf"))
        try Data(bad.utf8).write(to: dir.appendingPathComponent("bad.conf"))
        try Data(Self.upScript.utf8).write(to: dir.appendingPathComponent("bgp-up.py"))
    }

    /// Exit 0 when every named vrf/peer is Established in every family listing it.
    static let upScript = """
        import json, sys
        text = "\\n".join(l for l in sys.stdin.read().splitlines() if not l.startswith("%"))
        try:
            d = json.loads(text)
        except ValueError:
            sys.exit(1)
        want, seen = set(sys.argv[1:]), {}
        for vrf, afs in d.items():
            for af in afs.values():
                if isinstance(af, dict):
                    for p, s in (af.get("peers") or {}).items():
                        seen.setdefault(vrf + "/" + p, []).append(s.get("state"))
        sys.exit(0 if want and all(seen.get(k) and set(seen[k]) == {"Established"} for k in want) else 1)
        """

    func guestScript(applier: String) -> String {
        let asn = ir.asn
        let v = Self.probeVRF
        return """
            # 8. Each netns: the compiled links (vrfc-apply) and zebra+bgpd loaded with a config.
            mkdir -p /var/run/frr && chown frr:frr /var/run/frr
            bgpnode() {
              local n=$1 w=/tmp/frr-$1
              mkdir -p $w && chown frr:frr $w
              ip netns add $n && ip -n $n link set lo up && ip -n $n link add dum.underlay mtu 9100 type dummy &&
                ip -n $n address add 192.0.2.129/32 dev dum.underlay && ip -n $n link set dum.underlay up
              \(applier) apply --netns $n --bpf-pin-dir /sys/fs/bpf/vrfc-$n --config \(fixture.config) $D/crs-all >"$D/$n-apply.out" 2>&1
              echo $? >"$D/$n-apply.rc"
              for d in zebra bgpd; do
                ip netns exec $n /usr/lib/frr/$d -d -N $n -F traditional -i $w/$d.pid --log file:$w/$d.log
                for i in $(seq 100); do [ -S /var/run/frr/$n/$d.vty ] && break; sleep 0.2; done
              done
              vtysh -N $n -f $D/$2 >"$D/$n-load.out" 2>&1; echo $? >"$D/$n-load.rc"
            }
            summary() { vtysh -N $1 -d bgpd -c 'show bgp vrf all summary json' 2>/dev/null; }
            up() { summary $1 | python3 $D/bgp-up.py \(peers.joined(separator: " ")); }
            bgpnode bgpgood good.conf; bgpnode bgpbad bad.conf
            t0=$(date +%s); for i in $(seq 100); do up bgpgood && break; [ $(( $(date +%s) - t0 )) -gt 300 ] && break; sleep 3; done
            echo $(( $(date +%s) - t0 )) >"$D/bgp-up-seconds"
            # 9. Two routes offered to vr.\(v) on vd.\(v): one plain, one carrying the node's ASN.
            vtysh -N bgpgood -c 'configure terminal' -c 'router bgp \(asn)' -c 'no bgp network import-check' \\
              -c 'address-family ipv4 unicast' -c 'network \(Self.control)' -c 'network \(Self.ownASN) route-map vrfc_test_own_asn' \\
              -c 'exit-address-family' -c 'exit' -c 'route-map vrfc_test_own_asn permit 10' -c 'set as-path prepend \(asn)' >"$D/inject.out" 2>&1
            rib() { vtysh -N bgpgood -d bgpd -c 'show bgp vrf vr.\(v) ipv4 unicast json' 2>/dev/null; }
            for i in $(seq 40); do rib | grep -q '"\(Self.control)"' && break; sleep 3; done
            sleep 5; rib >"$D/rib.json"
            vtysh -N bgpgood -d bgpd -c 'show bgp ipv4 unicast neighbors dv.\(v) advertised-routes json' >"$D/offered.json" 2>/dev/null
            vtysh -N bgpgood -c 'configure terminal' -c 'router bgp \(asn) vrf vr.\(v)' -c 'address-family ipv4 unicast' \\
              -c 'neighbor vd.\(v) allowas-in origin' -c 'end' -c 'clear bgp vrf vr.\(v) vd.\(v) soft in' >>"$D/inject.out" 2>&1
            for i in $(seq 40); do rib | grep -q '"\(Self.ownASN)"' && break; sleep 3; done
            rib >"$D/rib-allowas.json"
            summary bgpgood >"$D/good-summary.json"; summary bgpbad >"$D/bad-summary.json"
            for n in bgpgood bgpbad; do for d in zebra bgpd; do cp /tmp/frr-$n/$d.log "$D/$n-$d.log"; done; done
            """
    }

    func text(_ name: String) -> String { readText("\(dir)/\(name)") ?? "" }

    func json(_ name: String) -> [String: Any] {
        let t = text(name).split(separator: "\n").filter { !$0.hasPrefix("%") }.joined(separator: "\n")
        return (try? JSONSerialization.jsonObject(with: Data(t.utf8))) as? [String: Any] ?? [:]
    }

    /// vrf/peer → state, for the expected peers not Established (in any family).
    func notEstablished(_ summary: [String: Any]) -> [String: String] {
        var states: [String: [String]] = [:]
        for (vrf, afs) in summary {
            for case let af as [String: Any] in (afs as? [String: Any] ?? [:]).values {
                for (peer, s) in af["peers"] as? [String: Any] ?? [:] {
                    states["\(vrf)/\(peer)", default: []].append((s as? [String: Any])?["state"] as? String ?? "?")
                }
            }
        }
        var out: [String: String] = [:]
        for p in peers where states[p].map({ Set($0) != ["Established"] }) ?? true {
            out[p] = states[p]?.joined(separator: ",") ?? "missing"
        }
        return out
    }

    func check() {
        for n in ["bgpgood", "bgpbad"] {
            #expect(text("\(n)-apply.rc").hasPrefix("0"), "\(n): vrfc-apply: \(text("\(n)-apply.out"))")
            let problems = text("\(n)-load.out").split(separator: "\n").filter { !FRRInstance.isBenign($0) }
            #expect(text("\(n)-load.rc").hasPrefix("0") && problems.isEmpty, "\(n): vtysh -f: \(problems)")
        }
        #expect(peers.count == 2 * ir.fullVRFs.count && !peers.isEmpty)
        let good = notEstablished(json("good-summary.json"))
        #expect(
            good.isEmpty,
            "dv./vd. sessions not Established after \(text("bgp-up-seconds")) s: \(good)\nbgpd: \(text("bgpgood-bgpd.log").suffix(3000))")
        // Equal router-ids load cleanly but no session ever comes up.
        let bad = notEstablished(json("bad-summary.json"))
        #expect(Set(bad.keys) == Set(peers), "with one router-id on both ends every session must stay down: \(bad)")
        #expect(text("bgpbad-bgpd.log").contains("Bad BGP Identifier"), "FRR says why: \(text("bgpbad-bgpd.log").suffix(2000))")

        func routes(_ name: String, _ key: String = "routes") -> Set<String> { Set((json(name)[key] as? [String: Any] ?? [:]).keys) }
        let offered = routes("offered.json", "advertisedRoutes")
        #expect(
            offered.isSuperset(of: [Self.control, Self.ownASN]),
            "both probes offered on dv.\(Self.probeVRF): \(offered); \(text("inject.out"))")
        let rib = routes("rib.json")
        #expect(rib.contains(Self.control), "the plain route is accepted by vr.\(Self.probeVRF): \(rib)")
        #expect(!rib.contains(Self.ownASN), "a route carrying the node's own ASN must not be accepted on vd.\(Self.probeVRF): \(rib)")
        #expect(
            routes("rib-allowas.json").contains(Self.ownASN),
            "with allowas-in on vd. it would be accepted (the check can fail): \(routes("rib-allowas.json"))")
    }
}
