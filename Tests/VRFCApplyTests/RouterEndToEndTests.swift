import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCKernel
import VRFCTestSupport

/// The applier and the tc router together: `vrfc-apply apply` leaves every
/// interface the op list names with exactly one instance of the program,
/// and real traffic between two hosts is routed by it and counted.
@Suite struct RouterEndToEndTests {
    /// Instances of vrfc's program on an interface's clsact ingress, per tc.
    static func routerInstances(_ ns: Namespace, _ dev: String) throws -> Int {
        let r = try ns.exec(["tc", "-j", "filter", "show", "dev", dev, "ingress"])
        guard r.status == 0 else { throw SetupError("tc filter show dev \(dev): \(r)") }
        let filters = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        return filters.filter { (($0["options"] as? [String: Any])?["bpf_name"] as? String)?.hasPrefix("vrfc_router") == true }.count
    }

    /// Echoes UDP datagrams on port 7007 until killed by its timeout.
    static let echoServer = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], 7007))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)
        """

    /// Sends N datagrams (retrying while the server starts) and exits 0 when
    /// every one came back.
    static let echoClient = """
        import socket, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        ok = 0
        for i in range(int(sys.argv[2])):
            for attempt in range(20):
                s.sendto(b"vrfc-%d" % i, (sys.argv[1], 7007))
                try:
                    if s.recvfrom(2048)[0] == b"vrfc-%d" % i:
                        ok += 1
                        break
                except socket.timeout:
                    pass
        print(ok)
        sys.exit(0 if ok == int(sys.argv[2]) else 1)
        """

    @Test func applyAttachesOneProgramPerInterfaceAndTheRouterCarriesTraffic() throws {
        // A node with one tenant VRF and one provisioned uplink in bpfInterfaces;
        // the applier trusts that uplink from the root-owned node config.
        let dir = try TempDir()
        let config = try dir.write("config.yaml", "vnimap:\n  t: 100\nbpfInterfaces: [up0]\n")
        let cr = try dir.write(
            "cr.yaml",
            """
            apiVersion: network.schiff.telekom.de/v1alpha1
            kind: VRFRouteConfiguration
            metadata: {name: t}
            spec: {vrf: t, seq: 10, import: [{cidr: 198.51.100.0/24, action: permit}]}
            """)
        let ops = try compiledOps(config: config, crs: [cr]).withoutVRFDevices
        #expect(ops.routerAttachments.map(\.value) == ["br.t", "vd.t", "vx.t", "up0"])

        try Namespace.with("e2e-node") { node in
            try Namespace.with("e2e-a") { a in
                try Namespace.with("e2e-b") { b in
                    try node.addUnderlay()
                    // Host A sits on the tenant bridge, host B behind the uplink.
                    try node.ip("link", "add", "a1", "mtu", "9000", "type", "veth", "peer", "name", "a0", "mtu", "9000", "netns", a.name)
                    try node.ip("link", "add", "up0", "type", "veth", "peer", "name", "b0", "netns", b.name)

                    let first = try node.applyOps(ops, "--config", config)
                    try #require(first.status == 0, "\(first)")
                    for dev in ops.routerAttachments.map(\.value) {
                        #expect(try Self.routerInstances(node, dev) == 1, "\(dev)")
                    }

                    try node.ip("link", "set", "a1", "master", "br.t", "up")
                    try node.ip("address", "add", "203.0.113.1/24", "dev", "br.t")
                    try node.ip("address", "add", "198.51.100.1/24", "dev", "up0")
                    try node.ip("link", "set", "up0", "up")
                    try #require(try node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]).status == 0)
                    try a.ip("address", "add", "203.0.113.2/24", "dev", "a0")
                    try a.ip("link", "set", "a0", "up")
                    try a.ip("route", "add", "default", "via", "203.0.113.1")
                    try b.ip("address", "add", "198.51.100.2/24", "dev", "b0")
                    try b.ip("link", "set", "b0", "up")
                    try b.ip("route", "add", "default", "via", "198.51.100.1")

                    // Five UDP datagrams from A to an echo server on B, and back.
                    let server = try dir.write("echo.py", Self.echoServer)
                    let client = try dir.write("send.py", Self.echoClient)
                    try #require(try b.exec(["sh", "-c", "timeout 20 python3 \(server) 198.51.100.2 >/dev/null 2>&1 &"]).status == 0)
                    let sent = try a.exec(["python3", client, "198.51.100.2", "5"])
                    #expect(sent.status == 0, "A reaches B across the node and back: \(sent)")

                    let stats = try node.applier(["bpf", "stats", "--json", "--pin-dir", node.pinDirectory])
                    try #require(stats.status == 0, "\(stats)")
                    let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
                    let outcomes = (json?["outcomes"] as? [[String: Any]]) ?? []
                    let routed = outcomes.filter { ($0["name"] as? String)?.hasPrefix("routed") == true }
                        .reduce(0) { $0 + ((($1["packets"] as? NSNumber)?.intValue) ?? 0) }
                    // Five requests through br.t and five replies through up0
                    // (more if a datagram was sent again while the server started).
                    #expect(routed >= 10, "the router's own counters account for the pings: \(stats.stdout)")

                    // Idempotent with the program in place: nothing to change, still one each.
                    let again = try node.applyOps(ops, "--config", config)
                    #expect(again.status == 0 && again.stdout.contains("nothing to change"), "\(again)")
                    for dev in ops.routerAttachments.map(\.value) {
                        #expect(try Self.routerInstances(node, dev) == 1, "\(dev) after a second apply")
                    }
                }
            }
        }
    }
}
