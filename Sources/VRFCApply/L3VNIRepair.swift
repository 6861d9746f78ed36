import Foundation
import Glibc
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// FRR 8.4's zebra can lose an L3 VNI's router-MAC and next-hop entries
/// while keeping the routes that need them: when bgpd withdraws a VRF's
/// EVPN routes and sends them again at once, zebra files the withdrawal's
/// cleanup behind the new routes' entries and so deletes those (FRR issue
/// 12391, fixed after 8.4). bgpd does that when a VRF's `route-target
/// import` is configured while the VRF's L3 VNI is already up: a whole
/// reload into a restarted FRR with vrfc's links up imports the routes
/// first under the automatic route target, then again under the configured
/// one. The routes stay installed (`via VTEP dev br.X onlink`), but the
/// kernel gets no neighbour (br.) or FDB (vx.) entry for the VTEP, so the
/// VRF's traffic goes nowhere, until the L3 VNI goes down and up.
///
/// So after a reconcile, an L3 VNI whose EVPN routes name a VTEP that zebra
/// holds no next hop for has its VXLAN link taken down, and up once zebra
/// has dropped the VNI's routes; zebra must then hold the next hops.
public struct L3VNIRepair {
    let frr: FRRControl
    let log: (String) -> Void
    /// How long a bounced VNI may take to have its next hops back.
    var timeout: Double = 30

    public init(frr: FRRControl, log: @escaping (String) -> Void) {
        self.frr = frr
        self.log = log
    }

    /// One VRF's L3 VNI and the links zebra ties to it.
    struct Target {
        var vni: UInt32
        var vrfDevice: String
        var svi: String
        var vxlan: String
    }

    static func targets(_ ops: OpList) -> [Target] {
        ops.links.compactMap { l in
            guard l.kind == .vxlan, let vx = l.vxlan, let svi = l.master else { return nil }
            return Target(vni: vx.vni, vrfDevice: VRFNames(l.vrf).vrfDevice.value, svi: svi.value, vxlan: l.name.value)
        }
    }

    /// Repairs every VNI of the op list that needs it; the VNIs repaired.
    @discardableResult
    public func run(ops: OpList, socket: NetlinkSocket) throws(ApplyError) -> [UInt32] {
        let targets = Self.targets(ops)
        guard !targets.isEmpty else { return [] }
        let vty: FRRVty
        do throws(ApplyError) {
            vty = try FRRVty(daemon: "zebra", pathspace: frr.pathspace, timeout: 30)
        } catch {
            log("L3 VNI check skipped: \(error.message)")
            return []
        }
        var repaired: [UInt32] = []
        for t in targets {
            // Twice, a second apart: a route that has just arrived may wait
            // a moment in zebra's queue for its next-hop entry.
            guard !(try missing(t, vty)).isEmpty else { continue }
            usleep(1_000_000)
            let lost = try missing(t, vty)
            guard !lost.isEmpty else { continue }
            log(
                "L3 VNI \(t.vni) (\(t.vrfDevice)): FRR has routes via VTEP \(lost.joined(separator: ", ")) "
                    + "but no router MAC/next hop for it; taking \(t.vxlan) down and up")
            try bounce(t, socket: socket, vty: vty)
            repaired.append(t.vni)
        }
        return repaired
    }

    /// The VTEPs the VRF's EVPN routes use (zebra's selected routes via the
    /// SVI, onlink) that zebra has no next-hop entry for. Nothing while the
    /// VNI is not up: zebra keeps no entries then.
    func missing(_ t: Target, _ vty: FRRVty) throws(ApplyError) -> [String] {
        let vni = try vty.object("show evpn vni \(t.vni) json")
        guard vni?["state"] as? String == "Up" else { return [] }
        let routes = [
            try vty.object("show ip route vrf \(t.vrfDevice) json"),
            try vty.object("show ipv6 route vrf \(t.vrfDevice) json"),
        ]
        let hops = try vty.object("show evpn next-hops vni \(t.vni) json")
        return Self.vtepsWithoutNextHop(routes: routes.compactMap { $0 }, nextHops: hops ?? [:], svi: t.svi)
    }

    /// From zebra's JSON: the VTEPs (gateways of the selected BGP routes
    /// that go via the SVI onlink, how zebra installs a route learnt over
    /// the L3 VNI) that `show evpn next-hops vni N json` has no entry for.
    static func vtepsWithoutNextHop(routes: [[String: Any]], nextHops: [String: Any], svi: String) -> [String] {
        var used = Set<IPAddress>()
        for table in routes {
            for case let entries as [[String: Any]] in table.values {
                for e in entries where e["selected"] as? Bool == true && e["protocol"] as? String == "bgp" {
                    for case let hop as [String: Any] in (e["nexthops"] as? [Any]) ?? [] {
                        guard hop["interfaceName"] as? String == svi, hop["onLink"] as? Bool == true,
                            let ip = hop["ip"] as? String, let key = addressKey(ip)
                        else { continue }
                        used.insert(key)
                    }
                }
            }
        }
        let held = Set(nextHops.keys.compactMap(addressKey))
        return used.subtracting(held).sorted().map(\.description)
    }

    /// Down; up once zebra no longer has the VNI up (it has then dropped
    /// the VNI's entries and bgpd withdraws its routes: a withdrawal and a
    /// re-send too close together would lose the entries again); then the
    /// next hops must be back.
    func bounce(_ t: Target, socket: NetlinkSocket, vty: FRRVty) throws(ApplyError) {
        var link: Link?
        do throws(NetlinkError) {
            link = try socket.links().first(where: { $0.name == t.vxlan })
            if let link { try socket.setUp(index: link.index, name: t.vxlan, up: false) }
        } catch {
            throw ApplyError("L3 VNI \(t.vni): \(error)")
        }
        guard let index = link?.index else { throw ApplyError("L3 VNI \(t.vni): \(t.vxlan) does not exist") }
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try vty.object("show evpn vni \(t.vni) json")?["state"] as? String != "Up" { break }
            usleep(200_000)
        }
        usleep(2_000_000)  // bgpd's withdrawals reach zebra
        do throws(NetlinkError) {
            try socket.setUp(index: index, name: t.vxlan)
        } catch {
            throw ApplyError("L3 VNI \(t.vni): \(error)")
        }
        var lost: [String] = []
        while Date().timeIntervalSince(start) < 2 * timeout {
            usleep(500_000)
            lost = try missing(t, vty)
            if lost.isEmpty {
                log("L3 VNI \(t.vni) (\(t.vrfDevice)): router MAC/next hops back after \(t.vxlan) went down and up")
                return
            }
        }
        throw ApplyError(
            "L3 VNI \(t.vni) (\(t.vrfDevice)): still no router MAC/next hop for VTEP \(lost.joined(separator: ", ")) "
                + "after taking \(t.vxlan) down and up")
    }

    /// An address by value, so zebra's `::ffff:c000:201` and `::ffff:192.0.2.1`
    /// compare equal; nil for a key that is no address (`numNextHops`). An
    /// IPv4-mapped gateway stays an IPv6 address: zebra keeps a next hop
    /// (and a neighbour on the SVI) for it apart from the IPv4 one, and IPv6
    /// routes through the VTEP need that one.
    static func addressKey(_ text: String) -> IPAddress? {
        IPAddress(parsing: Substring(text))
    }
}
