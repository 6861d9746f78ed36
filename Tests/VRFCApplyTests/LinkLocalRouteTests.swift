import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

// The IPv6 link-local fallback of pod routes and the owned tables' names for
// iproute2, through vrfc-apply in namespaces on this kernel: the gateway
// comes from the real neighbour table (learnt by ARP, or set with `ip neigh`),
// is read back over netlink and with `ip -j`, and pod-to-pod IPv6 traffic
// follows it; the table-names file is read by the real `ip`.

private func prefix(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }
private func addr(_ s: String) -> IPAddress { IPAddress(parsing: s[...])! }
private func ifname(_ s: String) -> InterfaceName { try! InterfaceName(validating: s) }

/// Pod routes of a node to the other node's pods: IPv4 via its address,
/// IPv6 via the link-local address of that address's neighbour entry.
private func podOps(v4: String, v6: String, node: String) -> OpList {
    OpList(
        underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [],
        routes: [
            RouteSpec(table: 254, destination: prefix(v4), nexthops: [Nexthop(gateway: addr(node), device: ifname("eth1"))]),
            RouteSpec(table: 254, destination: prefix(v6), nexthops: [Nexthop(linkLocalOf: addr(node), device: ifname("eth1"))]),
        ])
}

extension Namespace {
    /// vrfc's routes of one family as `ip -j` shows them: "dst gateway dev".
    fileprivate func vrfcRoutes(_ family: String) throws -> [String] {
        let text = try ip("-j", family, "route", "show", "proto", "118")
        let routes = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
        return routes.map { "\($0["dst"] ?? "?") \($0["gateway"] ?? "-") \($0["dev"] ?? "-")" }.sorted()
    }
}

@Suite(.serialized) struct LinkLocalRouteTests {
    @Test func theIPv6GatewayIsTheNeighboursLinkLocalAddressAndFollowsItsMAC() throws {
        try Namespace.with("llnodeA") { a in
            try Namespace.with("llnodeB") { b in
                try Namespace.with("llpodA") { pa in
                    try Namespace.with("llpodB") { pb in
                        // Two nodes on eth1 with only IPv4 addresses (IPv6: link-local
                        // from the MAC, no DAD wait), each with a pod behind cbr0.
                        for ns in [a, b, pa, pb] { try ns.exec(["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"]) }
                        try a.ip(
                            "link", "add", "eth1", "address", "02:00:00:00:00:a1", "type", "veth", "peer", "name", "eth1", "netns", b.name)
                        try b.ip("link", "set", "eth1", "address", "02:00:00:00:00:b1")
                        for (n, (node, pod)) in [(1, (a, pa)), (2, (b, pb))] {
                            try node.ip("address", "add", "192.0.2.\(n)/24", "dev", "eth1")
                            try node.ip("link", "set", "eth1", "up")
                            try podBehind(node: node, pod: pod, number: n)
                        }
                        let opsA = podOps(v4: "203.0.113.0/24", v6: "2001:db8:b::/64", node: "192.0.2.2")
                        let opsB = podOps(v4: "198.51.100.0/24", v6: "2001:db8:a::/64", node: "192.0.2.1")
                        func ping6(tries: String = "10") throws -> Bool {
                            try pa.exec(["ping", "-6", "-c", tries, "-i", "0.3", "-W2", "2001:db8:b::2"]).status == 0
                        }

                        // 1. No neighbour entry yet: the IPv6 route is unresolved, the IPv4 one goes in.
                        #expect(try a.ip("-4", "neigh", "show", "dev", "eth1").isEmpty)
                        let missing =
                            "unresolved: route 2001:db8:b::/64 table 254 via link-local of 192.0.2.2 dev eth1: no neighbour entry for 192.0.2.2 on eth1, so its MAC is unknown"
                        let plan0 = try a.planOps(opsA)
                        #expect(plan0.status == 4 && plan0.stdout.contains(missing), "\(plan0)")
                        let json0 = try a.planOps(opsA, "--json")
                        let report0 = try JSONSerialization.jsonObject(with: Data(json0.stdout.utf8)) as? [String: Any]
                        #expect(json0.status == 4 && report0?["inSync"] as? Bool == false, "\(json0)")
                        #expect((report0?["unresolved"] as? [String])?.count == 1, "\(json0)")
                        let apply0 = try a.applyOps(opsA)
                        #expect(apply0.status == 0 && apply0.stdout.contains(missing), "\(apply0)")
                        #expect(apply0.stdout.contains("route add 203.0.113.0/24 table 254 via 192.0.2.2 dev eth1"), "\(apply0)")
                        #expect(try a.vrfcRoutes("-4") == ["203.0.113.0/24 192.0.2.2 eth1"])
                        #expect(try a.vrfcRoutes("-6") == [])

                        // 2. ARP learns the neighbours' MACs: each IPv6 route goes via the other's link-local address.
                        #expect(try a.exec(["ping", "-c", "3", "-i", "0.3", "-W2", "192.0.2.2"]).status == 0)
                        #expect(try a.ip("neigh", "show", "192.0.2.2", "dev", "eth1").contains("lladdr 02:00:00:00:00:b1"))
                        let apply1 = try a.applyOps(opsA)
                        #expect(
                            apply1.status == 0
                                && apply1.stdout.contains("route add 2001:db8:b::/64 table 254 via fe80::ff:fe00:b1 dev eth1")
                                && !apply1.stdout.contains("unresolved"), "\(apply1)")
                        #expect(try a.vrfcRoutes("-6") == ["2001:db8:b::/64 fe80::ff:fe00:b1 eth1"])
                        // Over netlink too, with vrfc's protocol and eth1's ifindex.
                        let eth1 = try a.netns.ifindex("eth1")
                        let live = try NetlinkSocket.open(namespace: a.name).routes().filter { $0.destination == prefix("2001:db8:b::/64") }
                        #expect(
                            live.count == 1 && live[0].protocol == 118
                                && live[0].nexthops == [KernelNexthop(gateway: addr("fe80::ff:fe00:b1"), ifindex: eth1, weight: 1)],
                            "\(live)")
                        // And it is the address the other node really has on eth1.
                        #expect(try b.ip("-6", "address", "show", "dev", "eth1", "scope", "link").contains("fe80::ff:fe00:b1/64"))
                        let again = try a.planOps(opsA)
                        #expect(again.status == 0 && again.stdout.hasPrefix("in sync: 0 links, 2 routes"), "\(again)")
                        #expect(try b.exec(["ping", "-c", "3", "-i", "0.3", "-W2", "192.0.2.1"]).status == 0)
                        #expect(try b.applyOps(opsB).status == 0)
                        #expect(try b.vrfcRoutes("-6") == ["2001:db8:a::/64 fe80::ff:fe00:a1 eth1"])

                        // Pod to pod over IPv6 follows the routes.
                        #expect(try ping6(), "IPv6 pod to pod via the link-local gateways")
                        let got = try a.ip("-6", "-j", "route", "get", "2001:db8:b::2")
                        #expect(got.contains("\"gateway\":\"fe80::ff:fe00:b1\"") && got.contains("\"dev\":\"eth1\""), "\(got)")

                        // 3. nodeB's MAC changes (new NIC): its link-local address changes with it. Once
                        //    nodeA's neighbour entry has the new MAC (nodeB's next ARP request), a rerun
                        //    converges to the new address in one replace, and traffic follows.
                        try b.ip("link", "set", "eth1", "down")
                        try b.ip("link", "set", "eth1", "address", "02:00:00:00:00:b2")
                        try b.ip("link", "set", "eth1", "up")
                        #expect(try b.exec(["ping", "-c", "3", "-i", "0.3", "-W2", "192.0.2.1"]).status == 0)
                        #expect(try a.ip("neigh", "show", "192.0.2.2", "dev", "eth1").contains("lladdr 02:00:00:00:00:b2"))
                        // nodeB's own routes went with its link; its rerun puts them back.
                        #expect(try b.applyOps(opsB).status == 0)
                        #expect(try b.vrfcRoutes("-6") == ["2001:db8:a::/64 fe80::ff:fe00:a1 eth1"])
                        let plan2 = try a.planOps(opsA)
                        #expect(plan2.status == 3, "\(plan2)")
                        let apply2 = try a.applyOps(opsA)
                        #expect(
                            apply2.status == 0
                                && apply2.stdout.contains("route replace 2001:db8:b::/64 table 254 via fe80::ff:fe00:b2 dev eth1"),
                            "\(apply2)")
                        #expect(try a.vrfcRoutes("-6") == ["2001:db8:b::/64 fe80::ff:fe00:b2 eth1"])
                        #expect(try ping6(), "IPv6 pod to pod after the MAC change")
                        #expect(try a.planOps(opsA).status == 0)

                        // 4. A neighbour entry set by hand (`ip neigh ... lladdr`) counts like a learnt one.
                        try a.ip("neigh", "replace", "192.0.2.2", "lladdr", "02:00:00:00:00:b3", "dev", "eth1", "nud", "permanent")
                        #expect(try a.applyOps(opsA).status == 0)
                        #expect(try a.vrfcRoutes("-6") == ["2001:db8:b::/64 fe80::ff:fe00:b3 eth1"])

                        // 5. The entry is gone (aged out): the route installed earlier stays, and the plan says why.
                        try a.ip("neigh", "del", "192.0.2.2", "dev", "eth1")
                        let plan3 = try a.planOps(opsA)
                        #expect(
                            plan3.status == 4
                                && plan3.stdout.contains(
                                    "no neighbour entry for 192.0.2.2 on eth1, so its MAC is unknown; any IPv4 traffic to it (e.g. ping 192.0.2.2) makes the kernel learn it; the route installed earlier (2001:db8:b::/64 table 254 via fe80::ff:fe00:b3 dev eth1) is kept as it is"
                                ), "\(plan3)")
                        let apply3 = try a.applyOps(opsA)
                        #expect(apply3.status == 0 && !apply3.stdout.contains("route delete"), "\(apply3)")
                        #expect(try a.vrfcRoutes("-6") == ["2001:db8:b::/64 fe80::ff:fe00:b3 eth1"])

                        // 6. --clean (an empty op list) removes it like any of vrfc's routes.
                        let clean = OpList(underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [])
                        #expect(try a.applyOps(clean).status == 0)
                        #expect(try a.vrfcRoutes("-6") == [] && a.vrfcRoutes("-4") == [])
                    }
                }
            }
        }
    }

    /// The fixture whose node hits the fallback: its op list applies, with
    /// vm-001's MAC in the neighbour table.
    @Test func theLinkLocalFixtureAppliesWithTheNeighboursMAC() throws {
        try Namespace.with("llfix") { ns in
            var ops = try compiledOps("pod-routes-link-local")
            ops.links = []
            ops.routerAttachments = []
            try ns.ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth1.peer")
            try ns.ip("address", "add", "192.0.2.13/24", "dev", "eth1")
            try ns.ip("-6", "address", "add", "2001:db8:ffff::13/64", "dev", "eth1", "nodad")
            try ns.ip("link", "set", "eth1", "up")
            try ns.ip("link", "set", "eth1.peer", "up")
            let first = try ns.applyOps(ops)
            #expect(first.status == 0 && first.stdout.contains("unresolved: route 2001:db8:10::/64"), "\(first)")
            try ns.ip("neigh", "replace", "192.0.2.11", "lladdr", "52:54:00:00:00:11", "dev", "eth1", "nud", "reachable")
            let r = try ns.applyOps(ops)
            #expect(r.status == 0, "\(r)")
            let v6 = try ns.vrfcRoutes("-6")
            #expect(v6 == ["2001:db8:10::/64 fe80::5054:ff:fe00:11 eth1", "2001:db8:20::/64 2001:db8:ffff::12 eth1"], "\(v6)")
            #expect(try ns.vrfcRoutes("-4") == ["198.51.100.0/26 192.0.2.11 eth1", "198.51.100.64/26 192.0.2.12 eth1"])
        }
    }

    /// The agent applies the rest, logs the unresolved route as a warning,
    /// and a later run (here a second oneshot) installs it once ARP knows the MAC.
    @Test func theAgentWarnsOfAnUnresolvedRouteAndInstallsItLater() throws {
        try Namespace.with("llagent") { ns in
            try ns.ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth1.peer")
            try ns.ip("address", "add", "192.0.2.1/24", "dev", "eth1")
            try ns.ip("link", "set", "eth1", "up")
            try ns.ip("link", "set", "eth1.peer", "up")
            let file = try ns.file("ops.json", JSONOutput.encode(podOps(v4: "203.0.113.0/24", v6: "2001:db8:b::/64", node: "192.0.2.2")))
            let first = try ns.runAgent(["--oneshot", "--ops", file])
            #expect(first.status == 0, "\(first.agent.log)")
            #expect(
                first.agent.records.contains {
                    $0["msg"] == "unresolved" && $0["level"] == "warning"
                        && ($0["route"] ?? "").hasPrefix(
                            "route 2001:db8:b::/64 table 254 via link-local of 192.0.2.2 dev eth1: no neighbour entry")
                }, "\(first.agent.log)")
            #expect(try ns.vrfcRoutes("-4") == ["203.0.113.0/24 192.0.2.2 eth1"] && ns.vrfcRoutes("-6") == [])
            try ns.ip("neigh", "replace", "192.0.2.2", "lladdr", "02:00:00:00:00:b1", "dev", "eth1", "nud", "stale")
            let second = try ns.runAgent(["--oneshot", "--ops", file])
            #expect(second.status == 0 && !second.agent.records.contains { $0["msg"] == "unresolved" }, "\(second.agent.log)")
            #expect(try ns.vrfcRoutes("-6") == ["2001:db8:b::/64 fe80::ff:fe00:b1 eth1"])
        }
    }

    @Test func theOwnedTablesNameIsWrittenForIproute2() throws {
        try Namespace.with("tblname") { ns in
            try ns.ip("link", "add", "up0", "type", "veth", "peer", "name", "up0.peer")
            try ns.ip("address", "add", "192.0.2.1/24", "dev", "up0")
            try ns.ip("link", "set", "up0", "up")
            func ops(_ name: String?) -> OpList {
                OpList(
                    underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [], ownedTables: [100],
                    routes: [
                        RouteSpec(
                            table: 100, destination: prefix("0.0.0.0/0"),
                            nexthops: [Nexthop(gateway: addr("192.0.2.2"), device: ifname("up0"))])
                    ],
                    rules: [RuleSpec(priority: 20, family: .ipv4, from: prefix("203.0.113.0/25"), table: 100)],
                    tableNames: name.map { [TableName(table: 100, name: try! RouteTableName(validating: $0))] } ?? [])
            }
            let path = ns.tableNamesFile
            let iproute2 = (path as NSString).deletingLastPathComponent.replacingOccurrences(of: "/rt_tables.d", with: "")
            #expect(!FileManager.default.fileExists(atPath: iproute2), "the test starts without the directory")

            let r = try ns.applyOps(ops("vrfc-lb"))
            #expect(r.status == 0 && r.stdout.contains("write   \(path) (table names for iproute2: 100 vrfc-lb)"), "\(r)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasPrefix("# Written by vrfc-apply") && text.hasSuffix("\n100\tvrfc-lb\n"), "\(text)")
            let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int

            // Unchanged bytes: not written again (same inode: no rename happened).
            let again = try ns.applyOps(ops("vrfc-lb"))
            #expect(again.status == 0 && again.stdout.hasPrefix("in sync:"), "\(again)")
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)

            // The real `ip` resolves the name from the file: rt_tables.d in a private mount namespace
            // (iproute2 6.1 reads only /etc/iproute2), next to a copy of the host's rt_tables.
            try Shell.check(["cp", "/etc/iproute2/rt_tables", iproute2 + "/rt_tables"])
            func ipWithTheFile(_ args: String) throws -> CommandResult {
                try Shell.run(["unshare", "-m", "sh", "-c", "mount --bind '\(iproute2)' /etc/iproute2 && ip -n \(ns.name) \(args)"])
            }
            let shown = try ipWithTheFile("-j route show table vrfc-lb")
            #expect(shown.status == 0 && shown.stdout.contains("\"dst\":\"default\"") && shown.stdout.contains("192.0.2.2"), "\(shown)")
            let rules = try ipWithTheFile("rule show")
            #expect(rules.stdout.contains("from 203.0.113.0/25 lookup vrfc-lb proto 118"), "\(rules)")
            // Without it, the name means nothing to `ip`.
            #expect(try Shell.run(["ip", "-n", ns.name, "route", "show", "table", "vrfc-lb"]).status != 0)

            // A new name rewrites the file; no name any more (and --clean) removes it.
            let renamed = try ns.applyOps(ops("vrfc-lb2"))
            #expect(renamed.status == 0 && renamed.stdout.contains("100 vrfc-lb2"), "\(renamed)")
            #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("\n100\tvrfc-lb2\n"))
            let unnamed = try ns.applyOps(ops(nil))
            #expect(unnamed.status == 0 && unnamed.stdout.contains("remove  \(path) (no owned table has a name)"), "\(unnamed)")
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(try ns.applyOps(ops("vrfc-lb")).status == 0 && FileManager.default.fileExists(atPath: path))
            let clean = try ns.applyOps(
                OpList(underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: []))
            #expect(clean.status == 0 && !FileManager.default.fileExists(atPath: path), "\(clean)")
            #expect(try ns.ip("rule", "show").contains("lookup 100") == false)
        }
    }
}
