import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCModel
import VRFCTestSupport

/// In the guest with VRF devices, on the compiled nodes of `BGPSessions`
/// (real FRR): `vrfc-apply health` passes on the good node, its VNI check
/// included (every VRF's L3 VNI known to zebra and Up); on the node with
/// the broken router-id only the BGP checks fail; and once zebra has lost
/// one VRF's VNI, exactly that VRF's VNI check fails. `vrfc-apply metrics`
/// is scraped once there, its families checked against FRR's per-VRF views,
/// the kernel's links and `vrfc-apply bpf stats`, and its exporter checked
/// to run unprivileged.
struct GuestHealthMetrics {
    let dir: String
    let ir: NodeIR
    /// The VRF whose VNI zebra loses.
    static let probeVRF = "green"

    var probeVNI: UInt32 { ir.fullVRFs.first { $0.name.value == Self.probeVRF }?.vni ?? 0 }

    func guestScript(applier: String, python: String) -> String {
        let vrfs = ["default"] + ir.fullVRFs.map { "vr.\($0.name.value)" }
        return """
            # 11. Health and metrics on the compiled nodes (real VRFs, real FRR).
            printf 'interfaces:\\n  - dum.underlay\\n' >$D/hc.yaml
            hc() { \(applier) health --netns $1 --frr-pathspace $1 --config $D/hc.yaml --json >"$D/$2.json" 2>"$D/$2.err"; echo $? >"$D/$2.rc"; }
            hc bgpgood health-good; hc bgpbad health-bad
            ip netns exec bgpgood \(applier) metrics --listen 127.0.0.1:7082 --frr-pathspace bgpgood --bpf-pin-dir /sys/fs/bpf/vrfc-bgpgood 2>"$D/metrics.err" & M=$!
            # Until one scrape has every collector (vtysh under emulation is slow), for at most 2 minutes.
            allok() { \(python) -c 'import json,sys; s=json.load(open(sys.argv[1]))["families"]["vrfc_scrape_collector_success"]["samples"]; sys.exit(0 if s and all(x["value"]==1 for x in s) else 1)' "$1"; }
            t0=$(date +%s)
            while :; do
              ip netns exec bgpgood \(python) \(Repo.path("scripts/scrape-metrics.py")) http://127.0.0.1:7082/metrics >"$D/metrics.json" 2>>"$D/metrics-scrape.err" && allok "$D/metrics.json" && break
              [ $(( $(date +%s) - t0 )) -gt 120 ] && break; sleep 2
            done
            for p in $(pgrep -P $M); do cat /proc/$p/status >"$D/exporter-status"; cat /proc/$p/cmdline | tr '\\0' ' ' >"$D/exporter-cmdline"; done
            for v in \(vrfs.joined(separator: " ")); do for f in ip ipv6; do vtysh -N bgpgood -d zebra -c "show $f route vrf $v summary json" >"$D/route-$f-$v.json" 2>/dev/null; done; done
            vtysh -N bgpgood -d zebra -c 'show evpn vni json' >"$D/metrics-evpn.json" 2>/dev/null
            ip netns exec bgpgood \(applier) bpf stats --json --pin-dir /sys/fs/bpf/vrfc-bgpgood >"$D/metrics-bpf.json" 2>&1
            ip -n bgpgood -d -j link show >"$D/metrics-links.json" 2>&1
            kill $M; wait $M
            vtysh -N bgpgood -c 'configure terminal' -c 'vrf vr.\(Self.probeVRF)' -c 'no vni \(probeVNI)' -c 'exit-vrf' >"$D/novni.out" 2>&1
            sleep 2; hc bgpgood health-novni
            """
    }

    func text(_ name: String) -> String { readText("\(dir)/\(name)") ?? "" }

    func health(_ name: String) -> (rc: String, checks: [String: (ok: Bool, detail: String)], raw: String) {
        let raw = text("\(name).json")
        var checks: [String: (Bool, String)] = [:]
        let doc = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] ?? [:]
        for c in doc["checks"] as? [[String: Any]] ?? [] {
            checks[c["name"] as? String ?? ""] = (c["ok"] as? Bool ?? false, c["detail"] as? String ?? "")
        }
        return (text("\(name).rc").trimmingCharacters(in: .whitespacesAndNewlines), checks, raw + text("\(name).err"))
    }

    func check() {
        let full = ir.fullVRFs
        #expect(!full.isEmpty && probeVNI != 0)

        // The good node: healthy, each VRF's VNI known to zebra and Up.
        let good = health("health-good")
        #expect(good.rc == "0", "\(good.raw)")
        for v in full {
            let c = good.checks["vni:vr.\(v.name.value)"]
            #expect(
                c?.ok == true && c?.detail == "VNI \(v.vni ?? 0), state Up", "vr.\(v.name.value): \(String(describing: c))\n\(good.raw)")
        }
        // The node whose sessions never come up: the BGP checks fail, and only they.
        let bad = health("health-bad")
        let badFailing = Set(bad.checks.filter { !$0.value.ok }.map(\.key))
        #expect(bad.rc == "1" && !badFailing.isEmpty && badFailing.allSatisfy { $0.hasPrefix("bgp:") }, "\(bad.raw)")
        #expect(full.allSatisfy { bad.checks["vni:vr.\($0.name.value)"]?.ok == true }, "\(bad.raw)")
        // zebra without the probe VRF's VNI: exactly that check fails, naming the VNI.
        let novni = health("health-novni")
        let failing = novni.checks.filter { !$0.value.ok }
        #expect(novni.rc == "1" && Set(failing.keys) == ["vni:vr.\(Self.probeVRF)"], "\(text("novni.out"))\n\(novni.raw)")
        #expect(failing["vni:vr.\(Self.probeVRF)"]?.detail.contains("zebra does not know VNI \(probeVNI)") == true, "\(novni.raw)")

        checkMetrics()
    }

    func checkMetrics() {
        guard let doc = (try? JSONSerialization.jsonObject(with: Data(text("metrics.json").utf8))) as? [String: Any] else {
            Issue.record("no scrape in the guest: \(text("metrics-scrape.err").suffix(2000))\n\(text("metrics.err"))")
            return
        }
        let scrape = MetricsScrape(doc: doc)
        #expect(scrape.status == 200)
        for c in ["frr_bgp", "frr_route", "frr_evpn", "router", "links"] {
            #expect(scrape.success(c) == 1, "collector \(c): \(text("metrics.err"))")
        }
        // Routes per VRF and family: each VRF's own summary (asked one by one) is the oracle.
        for v in ["default"] + ir.fullVRFs.map({ "vr.\($0.name.value)" }) {
            for (f, family) in [("ip", "ipv4"), ("ipv6", "ipv6")] {
                let own = (try? JSONSerialization.jsonObject(with: Data(text("route-\(f)-\(v).json").utf8))) as? [String: Any] ?? [:]
                let total = (own["routesTotal"] as? NSNumber)?.doubleValue
                #expect(
                    total != nil && scrape.value("frr_route_total", ["vrf": v, "family": family]) == total,
                    "\(v) \(family): scraped \(String(describing: scrape.value("frr_route_total", ["vrf": v, "family": family]))), zebra \(String(describing: total))"
                )
                for route in own["routes"] as? [[String: Any]] ?? [] {
                    let type = route["type"] as? String ?? ""
                    #expect(
                        scrape.value("frr_route_rib", ["vrf": v, "family": family, "protocol": type])
                            == (route["rib"] as? NSNumber)?.doubleValue, "\(v) \(family) \(type)")
                }
            }
        }
        // Each VRF's L3 VNI, labelled with its VRF.
        for v in ir.fullVRFs {
            #expect(
                scrape.value("frr_evpn_vni_up", ["vni": "\(v.vni ?? 0)", "type": "L3", "vrf": "vr.\(v.name.value)"]) == 1,
                "\(scrape.samples("frr_evpn_vni_up").map(\.labels))")
        }
        // Every dv./vd. session Established.
        for v in ir.fullVRFs.map(\.name.value) {
            #expect(scrape.value("frr_bgp_peer_state", ["vrf": "default", "peer": "dv.\(v)", "afi_safi": "ipv4Unicast"]) == 1, "dv.\(v)")
            #expect(scrape.value("frr_bgp_peer_state", ["vrf": "vr.\(v)", "peer": "vd.\(v)", "afi_safi": "ipv4Unicast"]) == 1, "vd.\(v)")
        }
        // The links vrfc owns, as the kernel lists them.
        let links = (try? parseIPLinks(text("metrics-links.json"))) ?? [:]
        let owned = links.filter { Ownership.hasOwnedPrefix($0.key) && ($0.value["ifalias"] as? String)?.hasPrefix("vrfc:v1:") == true }
        for kind in ["vrf", "bridge", "vxlan", "veth"] {
            let n = owned.values.filter { (($0["linkinfo"] as? [String: Any])?["info_kind"] as? String) == kind }.count
            #expect(scrape.value("vrfc_links_owned", ["kind": kind]) == Double(n), "\(kind): \(n) in the kernel")
        }
        #expect(scrape.value("vrfc_links_owned", ["kind": "vrf"]) == Double(ir.fullVRFs.count))
        // The router's counters: never more than `bpf stats` read after the scrape.
        let bpf = (try? JSONSerialization.jsonObject(with: Data(text("metrics-bpf.json").utf8))) as? [String: Any] ?? [:]
        for row in bpf["outcomes"] as? [[String: Any]] ?? [] {
            let name = row["name"] as? String ?? ""
            let after = (row["packets"] as? NSNumber)?.doubleValue ?? -1
            let scraped = scrape.value("vrfc_router_packets_total", ["outcome": name]) ?? .nan
            #expect(scraped <= after, "\(name): scraped \(scraped), bpf stats after \(after)")
        }
        // The exporter: nobody, no capabilities, no_new_privs.
        let status = text("exporter-status")
        #expect(
            status.contains("CapEff:\t0000000000000000") && status.contains("NoNewPrivs:\t1") && !status.contains("Uid:\t0\t"),
            "\(text("exporter-cmdline"))\n\(status)")
    }
}
