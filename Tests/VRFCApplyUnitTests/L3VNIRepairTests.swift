import Foundation
import Testing
import VRFCModel

@testable import VRFCApply

/// L3VNIRepair's reading of zebra's JSON (the lab's `fault-frr-restart` and
/// `fault-rmac-lost` phases run it against FRR 8.4 itself).
@Suite struct L3VNIRepairTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `show ip[v6] route vrf vr.vrf2 json` as zebra prints it: EVPN routes
    /// via the SVI onlink, a leaked route over the veth, a blackhole
    /// aggregate, a route that is not selected and a static one onlink via
    /// the SVI (not EVPN's).
    static let ipv4 = """
        {"203.0.113.128/28":[{"prefix":"203.0.113.128/28","protocol":"bgp","selected":true,"installed":true,
          "nexthops":[{"flags":3,"fib":true,"ip":"192.0.2.1","afi":"ipv4","interfaceIndex":14,
            "interfaceName":"br.vrf2","active":true,"onLink":true,"weight":1}]}],
         "198.51.100.0/28":[{"prefix":"198.51.100.0/28","protocol":"bgp","selected":true,
          "nexthops":[{"ip":"fe80::1","afi":"ipv6","interfaceName":"vd.vrf2","active":true}]}],
         "203.0.113.160/28":[{"prefix":"203.0.113.160/28","protocol":"bgp",
          "nexthops":[{"ip":"192.0.2.9","afi":"ipv4","interfaceName":"br.vrf2","onLink":true}]}],
         "203.0.113.176/28":[{"prefix":"203.0.113.176/28","protocol":"static","selected":true,
          "nexthops":[{"ip":"192.0.2.10","afi":"ipv4","interfaceName":"br.vrf2","onLink":true}]}]}
        """
    static let ipv6 = """
        {"2001:db8:101:1::/64":[{"prefix":"2001:db8:101:1::/64","protocol":"bgp","selected":true,
          "nexthops":[{"ip":"::ffff:192.0.2.1","afi":"ipv6","interfaceName":"br.vrf2","active":true,"onLink":true}]}],
         "2001:db8:101::/48":[{"prefix":"2001:db8:101::/48","protocol":"bgp","selected":true,
          "nexthops":[{"flags":1,"unreachable":true,"blackhole":true}]}]}
        """

    @Test func nextHopsForEveryVTEPMeanNothingToRepair() throws {
        let hops = try Self.object(
            """
            {"numNextHops":2,"192.0.2.1":{"nexthopIp":"192.0.2.1","routerMac":"f2:46:17:62:04:8a"},
             "::ffff:c000:201":{"nexthopIp":"::ffff:c000:201","routerMac":"f2:46:17:62:04:8a"}}
            """)
        let routes = [try Self.object(Self.ipv4), try Self.object(Self.ipv6)]
        #expect(L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: hops, svi: "br.vrf2").isEmpty)
    }

    @Test func lostNextHopsAreTheVTEPsOfTheSelectedEVPNRoutes() throws {
        let routes = [try Self.object(Self.ipv4), try Self.object(Self.ipv6)]
        // What FRR 8.4 left after the restart: routes, no next hops.
        #expect(
            L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: try Self.object("{}"), svi: "br.vrf2")
                == ["192.0.2.1", "::ffff:c000:201"])
        // Only the IPv6 one lost: the IPv6 routes through the VTEP need the
        // IPv4-mapped entry, the IPv4 entry does not stand in for it.
        let v4Only = try Self.object(#"{"numNextHops":1,"192.0.2.1":{"nexthopIp":"192.0.2.1"}}"#)
        #expect(L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: v4Only, svi: "br.vrf2") == ["::ffff:c000:201"])
        let mappedOnly = try Self.object(#"{"numNextHops":1,"::ffff:c000:201":{"nexthopIp":"::ffff:c000:201"}}"#)
        #expect(L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: mappedOnly, svi: "br.vrf2") == ["192.0.2.1"])
        // Another VTEP's entry does not.
        let other = try Self.object(#"{"numNextHops":1,"192.0.2.2":{"nexthopIp":"192.0.2.2"}}"#)
        #expect(
            L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: other, svi: "br.vrf2")
                == ["192.0.2.1", "::ffff:c000:201"])
        // Another VRF's SVI: none of these routes are its EVPN routes.
        #expect(L3VNIRepair.vtepsWithoutNextHop(routes: routes, nextHops: [:], svi: "br.vrf1").isEmpty)
    }

    @Test func addressesCompareByValue() {
        #expect(L3VNIRepair.addressKey("::ffff:c000:201") == L3VNIRepair.addressKey("::ffff:192.0.2.1"))
        #expect(L3VNIRepair.addressKey("192.0.2.1") != L3VNIRepair.addressKey("::ffff:192.0.2.1"))
        #expect(L3VNIRepair.addressKey("192.0.2.1") == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(L3VNIRepair.addressKey("2001:db8::c000:201") != L3VNIRepair.addressKey("192.0.2.1"))
        #expect(L3VNIRepair.addressKey("::c000:201") != L3VNIRepair.addressKey("192.0.2.1"), "IPv4-compatible is not mapped")
        #expect(L3VNIRepair.addressKey("numNextHops") == nil)
        #expect(L3VNIRepair.addressKey("") == nil)
    }
}
