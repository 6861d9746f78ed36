import Foundation
import Testing
import VRFCBPF
import VRFCBPFTestSupport
import VRFCTestSupport

@testable import VRFCMetrics

/// `vrfc-apply metrics` over real HTTP while real FRR carries a real BGP
/// session and the tc router forwards real packets; the exposition is read
/// with Prometheus' own Python parser and checked against FRR's JSON and
/// `vrfc-apply bpf stats --json`.
@Suite(.serialized) struct MetricsEndpointTests {
    func scrape(_ netns: String, port: Int) throws -> MetricsScrape {
        try MetricsScrape.get("http://127.0.0.1:\(port)/metrics", netns: netns)
    }

    func establish(_ a: FRRInstance, _ b: FRRInstance, dir: TempDir) throws {
        try Shell.check(["ip", "-n", a.name, "link", "add", "m.a", "type", "veth", "peer", "name", "m.b", "netns", b.name])
        try Shell.check(["ip", "-n", a.name, "address", "add", "192.0.2.1/30", "dev", "m.a"])
        try Shell.check(["ip", "-n", b.name, "address", "add", "192.0.2.2/30", "dev", "m.b"])
        try Shell.check(["ip", "-n", b.name, "address", "add", "203.0.113.9/32", "dev", "lo"])
        try Shell.check(["ip", "-n", a.name, "link", "set", "m.a", "up"])
        try Shell.check(["ip", "-n", b.name, "link", "set", "m.b", "up"])
        for (frr, asn, me, peer, peerAS) in [(a, 64501, "192.0.2.1", "192.0.2.2", 64502), (b, 64502, "192.0.2.2", "192.0.2.1", 64501)] {
            let file = try dir.write(
                "\(frr.name).conf",
                """
                router bgp \(asn)
                 bgp router-id \(me)
                 no bgp ebgp-requires-policy
                 neighbor \(peer) remote-as \(peerAS)
                 neighbor \(peer) timers 1 3
                 neighbor \(peer) timers connect 1
                 address-family ipv4 unicast
                  redistribute connected
                 exit-address-family

                """)
            let r = try frr.load(file)
            guard r.clean else { throw SetupError("FRR refused the test's config: \(r.problems)") }
        }
        for _ in 0..<300 {
            let s = try a.showJSON("show bgp vrf all summary json")
            let peer =
                ((s["default"] as? [String: Any])?["ipv4Unicast"] as? [String: Any]).flatMap { $0["peers"] as? [String: Any] }?["192.0.2.2"]
                as? [String: Any]
            if peer?["state"] as? String == "Established", (peer?["pfxRcd"] as? Int ?? 0) >= 2 { return }
            usleep(200_000)
        }
        throw SetupError("the BGP session did not come up within 60 s: \(a.logs().suffix(2000))")
    }

    func peer(_ a: FRRInstance) throws -> [String: Any] {
        let s = try a.showJSON("show bgp vrf all summary json")
        return try #require(
            ((s["default"] as? [String: Any])?["ipv4Unicast"] as? [String: Any]).flatMap { $0["peers"] as? [String: Any] }?["192.0.2.2"]
                as? [String: Any])
    }

    @Test func scrapeAgreesWithFRRAndTheRouter() throws {
        let a = try FRRInstance(tag: "metA", bgpdArgs: [])
        let b = try FRRInstance(tag: "metB", bgpdArgs: [])
        defer {
            a.stop()
            b.stop()
        }
        let dir = try TempDir()
        try establish(a, b, dir: dir)

        try RouterTopology.with(staticNeighbours: true) { topo in
            let pin = "/sys/fs/bpf/\(topo.router.name)"
            defer { BPFFS.remove(directory: pin) }
            let (ra, rb) = (topo.a, topo.b)
            try topo.router.run {
                let attacher = TCRouterAttacher(pinDirectory: pin)
                try attacher.attach(ifindex: ra, name: "ra")
                try attacher.attach(ifindex: rb, name: "rb")
            }
            let echoed = try Traffic.udpEcho(from: topo.h1, to: topo.h2, address: RouterTopology.h2v4, count: 40)
            #expect(echoed == 40)

            // The endpoint lives in the router's namespace; FRR is reached by its pathspace.
            let server = try MetricsServer(netns: topo.router.name, listen: "127.0.0.1:7082", frrPathspace: a.name, pinDirectory: pin)
            defer { server.stop() }

            let before = try peer(a)
            let scraped = try scrape(topo.router.name, port: 7082)
            let after = try peer(a)
            #expect(scraped.doc["status"] as? Int == 200)
            #expect((scraped.doc["contentType"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
            for c in ["frr_bgp", "frr_route", "frr_evpn", "router", "links"] {
                #expect(scraped.success(c) == 1, "collector \(c)")
                #expect(scraped.value("vrfc_scrape_collector_duration_seconds", ["collector": c]).map { $0 >= 0 } == true)
            }

            // BGP: the session as FRR reports it around the scrape.
            let labels = ["vrf": "default", "afi_safi": "ipv4Unicast", "peer": "192.0.2.2", "peer_as": "64502"]
            #expect(scraped.value("frr_bgp_peer_state", labels) == 1)
            #expect(scraped.value("frr_bgp_peer_prefixes_received", labels) == (after["pfxRcd"] as? NSNumber)?.doubleValue)
            #expect(scraped.value("frr_bgp_peer_prefixes_sent", labels) == (after["pfxSnt"] as? NSNumber)?.doubleValue)
            for (metric, key) in [
                ("frr_bgp_peer_messages_received_total", "msgRcvd"), ("frr_bgp_peer_messages_sent_total", "msgSent"),
                ("frr_bgp_peer_uptime_seconds", "peerUptimeMsec"),
            ] {
                let scale = key == "peerUptimeMsec" ? 1000.0 : 1
                let low = ((before[key] as? NSNumber)?.doubleValue ?? .nan) / scale
                let high = ((after[key] as? NSNumber)?.doubleValue ?? .nan) / scale
                let v = scraped.value(metric, labels) ?? .nan
                #expect(v >= low && v <= high, "\(metric) \(v) not within FRR's \(low)...\(high)")
            }
            #expect((scraped.value("frr_bgp_peer_messages_received_total", labels) ?? 0) > 0)

            // Routes: zebra's summary (stable while nothing changes).
            let summary = try a.showJSON("show ip route summary json", daemon: "zebra")
            for route in summary["routes"] as? [[String: Any]] ?? [] {
                let type = route["type"] as? String ?? ""
                #expect(
                    scraped.value("frr_route_rib", ["vrf": "default", "family": "ipv4", "protocol": type])
                        == (route["rib"] as? NSNumber)?.doubleValue, "rib \(type)")
                #expect(
                    scraped.value("frr_route_fib", ["vrf": "default", "family": "ipv4", "protocol": type])
                        == (route["fib"] as? NSNumber)?.doubleValue, "fib \(type)")
            }
            #expect(
                scraped.value("frr_route_rib", ["vrf": "default", "family": "ipv4", "protocol": "ebgp"]) == 1,
                "203.0.113.9/32 from B (B's other prefix, 192.0.2.0/30, is A's own connected route)")
            #expect(
                scraped.value("frr_route_total", ["vrf": "default", "family": "ipv4"]) == (summary["routesTotal"] as? NSNumber)?.doubleValue
            )

            // The router: the counters `vrfc-apply bpf stats --json` reads just before
            // and after the scrape (the hosts' own ND/MLD chatter may still tick the
            // pass_* rows in between; nothing is forwarded meanwhile).
            let statsBefore = try routerStats(topo.router.name)
            let routerScrape = try scrape(topo.router.name, port: 7082)
            let statsAfter = try routerStats(topo.router.name)
            for (key, metric, label) in [("outcomes", "vrfc_router", "outcome"), ("fibResults", "vrfc_router_fib", "result")] {
                let rows = statsAfter[key] ?? [:]
                #expect(!rows.isEmpty)
                for (name, after) in rows {
                    let before = statsBefore[key]?[name] ?? (0, 0)
                    let packets = routerScrape.value("\(metric)_packets_total", [label: name]) ?? .nan
                    let bytes = routerScrape.value("\(metric)_bytes_total", [label: name]) ?? .nan
                    #expect(
                        packets >= before.0 && packets <= after.0,
                        "\(metric) \(name): \(packets) packets, bpf stats \(before.0)...\(after.0)")
                    #expect(bytes >= before.1 && bytes <= after.1, "\(metric) \(name): \(bytes) bytes, bpf stats \(before.1)...\(after.1)")
                    if name == "routed" { #expect(before.0 == after.0 && packets == after.0) }
                }
            }
            #expect(
                (routerScrape.value("vrfc_router_packets_total", ["outcome": "routed"]) ?? 0)
                    + (routerScrape.value("vrfc_router_packets_total", ["outcome": "routed_neigh"]) ?? 0) >= 80,
                "40 echoes cross the router twice")

            // zebra dies: its collectors fail, the others and the endpoint stay.
            let zebra = try #require(a.pid(of: "zebra"))
            kill(zebra, SIGKILL)
            var waited = 0
            while kill(zebra, 0) == 0 && waited < 200 {
                usleep(50_000)
                waited += 1
            }
            let partial = try scrape(topo.router.name, port: 7082)
            #expect(partial.doc["status"] as? Int == 200)
            #expect(partial.success("frr_route") == 0 && partial.success("frr_evpn") == 0)
            #expect(partial.success("frr_bgp") == 1 && partial.success("router") == 1 && partial.success("links") == 1)
            #expect(partial.samples("frr_route_rib").isEmpty)
            #expect(partial.value("frr_bgp_peer_state", labels) != nil)
            #expect(
                partial.value("vrfc_router_packets_total", ["outcome": "routed"])
                    == scraped.value("vrfc_router_packets_total", ["outcome": "routed"]))
            #expect(server.process.isRunning)
        }
    }

    /// `vrfc-apply bpf stats --json` in the namespace: table → row name → (packets, bytes).
    func routerStats(_ netns: String) throws -> [String: [String: (Double, Double)]] {
        let r = try Shell.run(["ip", "netns", "exec", netns, Repo.executable("vrfc-apply"), "bpf", "stats", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
        var out: [String: [String: (Double, Double)]] = [:]
        for key in ["outcomes", "fibResults"] {
            for row in json[key] as? [[String: Any]] ?? [] {
                out[key, default: [:]][row["name"] as? String ?? ""] =
                    ((row["packets"] as? NSNumber)?.doubleValue ?? .nan, (row["bytes"] as? NSNumber)?.doubleValue ?? .nan)
            }
        }
        return out
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(":7082") == ListenAddress("0.0.0.0:7082"))
        #expect(ListenAddress("[2001:db8::1]:9000")?.host == "2001:db8::1")
        #expect(ListenAddress("192.0.2.1:9000")?.description == "192.0.2.1:9000")
        #expect(ListenAddress("2001:db8::1:9000") == nil)
        #expect(ListenAddress("host.example:80") == nil)
        #expect(ListenAddress("192.0.2.1:70000") == nil)
    }
}
