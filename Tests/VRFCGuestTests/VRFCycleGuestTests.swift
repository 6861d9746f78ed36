import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCTestSupport

/// A VRF removed and added again, many times, with its kernel VRF device,
/// under a Debian kernel in a virtme-ng guest (this machine's kernel has no
/// VRF devices): zebra + bgpd in a namespace of the guest, `vrfc-apply
/// apply --reload delta` from all CRs to one CR fewer (the VRF and its
/// stack go, `no vrf` in the delta's commit) and back. After every step
/// zebra and bgpd must still run, and `show vrf vni` must lack the VRF
/// after each removal and map its VNI again after each re-add. (zebra 8.4
/// crashed in this cycle when it ran without EVPN, and bgpd 8.4 at the
/// re-add while a removed neighbor stayed in its peer hash; README,
/// Removing a VRF.) Each cycle is two reconciles in a guest without KVM,
/// so the cycles are few.
@Suite struct VRFCycleGuestTests {
    static let cycles = 3

    @Test(.timeLimit(.minutes(15)))
    func aVRFWithItsDeviceRemovedAndAddedAgain() throws {
        let applier = try applierPath()
        let fixture = Fixture(name: "route-targets")
        let crFiles = try FileManager.default.contentsOfDirectory(atPath: fixture.crs).sorted()
        try #require(crFiles.count >= 3)
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("vrfc-cycle-vm-\(UUID().uuidString.prefix(8))")
        defer { try? fm.removeItem(at: dir) }
        for (sub, files) in [("crs-all", crFiles), ("crs-fewer", Array(crFiles.dropFirst()))] {
            try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            for f in files { try fm.copyItem(atPath: fixture.crs + "/" + f, toPath: dir.appendingPathComponent("\(sub)/\(f)").path) }
        }
        let all = try compiledOps(config: fixture.config, crs: [fixture.crs])
        let fewer = try compiledOps(config: fixture.config, crs: [dir.appendingPathComponent("crs-fewer").path])
        let gone = Set(all.links.map(\.name.value)).subtracting(fewer.links.map(\.name.value))
        let vrf = try #require(gone.first { $0.hasPrefix("vr.") }, "crs-fewer drops a VRF: \(gone)")
        let vni = try #require(all.links.first { $0.name.value == "vx." + vrf.dropFirst(3) }?.vxlan?.vni)

        let d = dir.path
        let script = """
            #!/bin/bash
            D=\(d); A=\(applier); C=\(fixture.config); n=cyc; w=/tmp/frr-cyc
            mkdir -p $w && chown frr:frr $w && mkdir -m 700 $w/state $w/run && cp \(fixture.base) $w/frr.conf
            ip netns add $n && ip -n $n link set lo up && ip -n $n link add dum.underlay mtu 9100 type dummy &&
              ip -n $n address add 192.0.2.129/32 dev dum.underlay && ip -n $n link set dum.underlay up
            for d in zebra bgpd; do
              ip netns exec $n /usr/lib/frr/$d -d -N $n -F traditional -i $w/$d.pid --log file:$w/$d.log
              for i in $(seq 100); do [ -S /var/run/frr/$n/$d.vty ] && break; sleep 0.2; done
            done
            zp=$(cat $w/zebra.pid); bp=$(cat $w/bgpd.pid)
            alive() { kill -0 $zp || echo "zebra died $1" >>"$D/died"; kill -0 $bp || echo "bgpd died $1" >>"$D/died"; [ ! -e "$D/died" ]; }
            r="$A apply --netns $n --bpf-pin-dir /sys/fs/bpf/vrfc-$n --frr-config $w/frr.conf --frr-pathspace $n --state-dir $w/state --run-dir $w/run --hostname node-a --router-id 192.0.2.129 --config $C"
            vnis() { vtysh -N $n -d zebra -c 'show vrf vni json' >"$D/$1.vni" 2>&1; }
            $r $D/crs-all >"$D/first.out" 2>&1; echo $? >"$D/first.rc"; vnis first
            for i in $(seq \(Self.cycles)); do
              $r --reload delta $D/crs-fewer >"$D/rm-$i.out" 2>&1; echo $? >"$D/rm-$i.rc"
              alive "removing, cycle $i" || break
              vnis rm-$i; ip -n $n link show \(vrf) >"$D/rm-$i.dev" 2>&1
              $r --reload delta $D/crs-all >"$D/add-$i.out" 2>&1; echo $? >"$D/add-$i.rc"
              alive "adding again, cycle $i" || break
              vnis add-$i; ip -n $n -d link show \(vrf) >"$D/add-$i.dev" 2>&1
            done
            cp $w/zebra.log "$D/zebra.log"; cp $w/bgpd.log "$D/bgpd.log"
            """
        try Guest.run(script: script, rwdir: d, timeout: 840)

        func text(_ name: String) -> String { readText("\(d)/\(name)") ?? "" }
        func rc(_ name: String) -> String { text("\(name).rc").trimmingCharacters(in: .whitespacesAndNewlines) }
        func vnis(_ name: String) -> [String: Int] {
            let json = text("\(name).vni").split(separator: "\n").filter { !$0.hasPrefix("% Can't open") }.joined(separator: "\n")
            let obj = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
            var map: [String: Int] = [:]
            for v in obj?["vrfs"] as? [[String: Any]] ?? [] {
                if let n = v["vrf"] as? String, let x = v["vni"] as? Int { map[n] = x }
            }
            return map
        }
        let logs = "zebra: \(text("zebra.log").suffix(3000))\nbgpd: \(text("bgpd.log").suffix(3000))"
        let died = text("died")
        try #require(died.isEmpty, "\(died): \(logs)")
        try #require(rc("first") == "0", "the first reconcile: \(text("first.out"))")
        #expect(vnis("first")[vrf] == Int(vni), "\(text("first.vni"))")
        for i in 1...Self.cycles {
            #expect(
                rc("rm-\(i)") == "0" && text("rm-\(i).out").contains("reload: delta (requested")
                    && !text("rm-\(i).out").contains("falling back"), "cycle \(i), removed: \(text("rm-\(i).out"))")
            // FRR 8.4 (Debian 12): the peer hash purge ran before the removal.
            #expect(text("rm-\(i).out").contains("their addresses forgotten"), "cycle \(i), no peer hash purge: \(text("rm-\(i).out"))")
            #expect(vnis("rm-\(i)")[vrf] == nil && !vnis("rm-\(i)").isEmpty, "cycle \(i): after the removal \(text("rm-\(i).vni"))")
            #expect(text("rm-\(i).dev").contains("does not exist"), "cycle \(i): \(vrf) is still there")
            #expect(
                rc("add-\(i)") == "0" && !text("add-\(i).out").contains("falling back"), "cycle \(i), added: \(text("add-\(i).out"))")
            #expect(vnis("add-\(i)")[vrf] == Int(vni), "cycle \(i): \(vrf)'s VNI is not back: \(text("add-\(i).vni"))")
            #expect(text("add-\(i).dev").contains(" vrf "), "cycle \(i): \(vrf) is a VRF device again: \(text("add-\(i).dev"))")
        }
    }
}
