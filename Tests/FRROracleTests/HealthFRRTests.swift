import Foundation
import Testing
import VRFCTestSupport

/// `vrfc-apply health` against real FRR (zebra and bgpd in namespaces of
/// their own), real links and a real TCP listener: each check passes, then
/// fails for its own reason and no other.
@Suite(.serialized) struct HealthFRRTests {
    struct Run {
        let result: CommandResult
        let doc: [String: Any]
        var failing: [String] { doc["failing"] as? [String] ?? ["<no JSON>"] }
        var checks: [String: [String: Any]] {
            Dictionary(
                ((doc["checks"] as? [[String: Any]]) ?? []).map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        }
        func detail(_ name: String) -> String { checks[name]?["detail"] as? String ?? "<no check \(name)>" }
    }

    func health(_ frr: FRRInstance, _ config: String, _ extra: [String] = []) throws -> Run {
        let r = try Shell.run(
            [
                Repo.executable("vrfc-apply"), "health", "--json", "--config", config,
                "--netns", frr.name, "--frr-pathspace", frr.name,
            ] + extra, timeout: 120)
        let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(doc["healthy"] as? Bool == (r.status == 0), "\(r)")
        return Run(result: r, doc: doc)
    }

    /// A TCP listener inside the namespace, ended by PID when the test ends.
    final class Listener {
        let process = Process()
        init(netns: String, port: Int) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = [
                "netns", "exec", netns, "python3", "-c",
                "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',\(port)))\ns.listen(64)\nprint('ready',flush=True)\ntime.sleep(600)",
            ]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = out.fileHandleForReading.availableData
            guard String(decoding: line, as: UTF8.self).contains("ready") else { throw SetupError("the TCP listener did not start") }
        }
        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// A daemon that dies (SIGKILL, as a crash), waited for.
    func stopHard(_ pid: Int32) throws {
        kill(pid, SIGKILL)
        var waited = 0
        while kill(pid, 0) == 0 && waited < 200 {
            usleep(50_000)
            waited += 1
        }
        guard kill(pid, 0) != 0 else { throw SetupError("process \(pid) outlived SIGKILL for 10 s") }
    }

    @Test func eachCheckPassesAndFailsForItsReason() throws {
        let a = try FRRInstance(tag: "hlthA", bgpdArgs: [])
        let b = try FRRInstance(tag: "hlthB", bgpdArgs: [])
        defer {
            a.stop()
            b.stop()
        }
        // A cable between the two nodes, and a pair of vrfc's own links (name and marker) on A.
        try Shell.check(["ip", "-n", a.name, "link", "add", "hc.a", "type", "veth", "peer", "name", "hc.b", "netns", b.name])
        try Shell.check(["ip", "-n", a.name, "address", "add", "192.0.2.1/30", "dev", "hc.a"])
        try Shell.check(["ip", "-n", b.name, "address", "add", "192.0.2.2/30", "dev", "hc.b"])
        try Shell.check(["ip", "-n", a.name, "link", "set", "hc.a", "up"])
        try Shell.check(["ip", "-n", b.name, "link", "set", "hc.b", "up"])
        try Shell.check(["ip", "-n", a.name, "link", "add", "dv.t", "type", "veth", "peer", "name", "vd.t"])
        for l in ["dv.t", "vd.t"] {
            try Shell.check(["ip", "-n", a.name, "link", "set", l, "alias", "vrfc:v1:t", "up"])
        }
        // A link with vrfc's name but not its marker is not vrfc's: never checked.
        try Shell.check(["ip", "-n", a.name, "link", "add", "dv.x", "type", "veth", "peer", "name", "vd.x"])
        let listener = try Listener(netns: a.name, port: 7999)
        _ = listener

        let dir = try TempDir()
        func bgp(_ frr: FRRInstance, _ lines: [String]) throws {
            let file = try dir.write("\(frr.name).conf", lines.joined(separator: "\n") + "\n")
            let r = try frr.load(file)
            guard r.clean else { throw SetupError("FRR refused the test's config: \(r.problems)") }
        }
        try bgp(
            a,
            [
                "router bgp 64501", " bgp router-id 192.0.2.1", " no bgp ebgp-requires-policy",
                " neighbor 192.0.2.2 remote-as 64502", " neighbor 192.0.2.2 timers 1 3", " neighbor 192.0.2.2 timers connect 1",
            ])
        try bgp(
            b,
            [
                "router bgp 64502", " bgp router-id 192.0.2.2", " no bgp ebgp-requires-policy",
                " neighbor 192.0.2.1 remote-as 64501", " neighbor 192.0.2.1 timers 1 3", " neighbor 192.0.2.1 timers connect 1",
            ])
        let config = try dir.write(
            "hc.yaml", "interfaces: [hc.a]\nreachability:\n- host: 127.0.0.1\n  port: 7999\ntimeout: 1s\nretries: 2\n")

        // Healthy, once the fabric session is up (--wait retries until then).
        let up = try health(a, config, ["--fabric", "--wait", "90s", "--node", "node-1"])
        #expect(up.result.status == 0, "\(up.result)")
        #expect(
            Set(up.checks.keys) == [
                "frr:zebra", "frr:bgpd", "interface:hc.a", "link:dv.t", "link:vd.t",
                "tcp:127.0.0.1:7999", "bgp:default/192.0.2.2",
            ], "\(up.result)")
        #expect(up.detail("bgp:default/192.0.2.2") == "Established")
        #expect(up.doc["taintCommand"] as? String == "kubectl taint nodes node-1 node.cloudprovider.kubernetes.io/uninitialized-")
        let table = try Shell.run([
            Repo.executable("vrfc-apply"), "health", "--config", config, "--netns", a.name, "--frr-pathspace", a.name,
        ])
        #expect(table.status == 0 && table.stdout.contains("tcp:127.0.0.1:7999") && table.stdout.contains("uninitialized-"), "\(table)")

        // One of vrfc's links down.
        try Shell.check(["ip", "-n", a.name, "link", "set", "dv.t", "down"])
        let linkDown = try health(a, config)
        #expect(linkDown.result.status == 1 && linkDown.failing == ["link:dv.t"], "\(linkDown.result)")
        #expect(linkDown.result.stdout.contains("\"detail\" : \"down\""))
        try Shell.check(["ip", "-n", a.name, "link", "set", "dv.t", "up"])

        // A closed port, tried `retries` times.
        let closed = try dir.write(
            "closed.yaml", "reachability:\n- host: 127.0.0.1\n  port: 7999\n- host: 127.0.0.1\n  port: 7998\nretries: 2\n")
        let refused = try health(a, closed)
        #expect(refused.result.status == 1 && refused.failing == ["tcp:127.0.0.1:7998"], "\(refused.result)")
        #expect(refused.detail("tcp:127.0.0.1:7998") == "2 tries failed, last: Connection refused")
        let plain = try Shell.run([
            Repo.executable("vrfc-apply"), "health", "--config", closed, "--netns", a.name, "--frr-pathspace", a.name,
        ])
        #expect(plain.status == 1 && plain.stdout.contains("unhealthy: tcp:127.0.0.1:7998"), "\(plain)")

        // The peer shuts the session: not Established. Without --fabric only
        // vrfc's own (dv./vd.) sessions count, so the node is healthy.
        _ = try Shell.check([
            "vtysh", "-N", b.name, "-c", "configure terminal", "-c", "router bgp 64502", "-c", "neighbor 192.0.2.1 shutdown",
        ])
        let down = try health(a, config, ["--fabric"])
        #expect(down.result.status == 1 && down.failing == ["bgp:default/192.0.2.2"], "\(down.result)")
        #expect(down.detail("bgp:default/192.0.2.2").hasPrefix("state "), "\(down.result)")
        #expect(try health(a, config).result.status == 0)
        // A session over vrfc's link that never comes up counts without --fabric.
        _ = try Shell.check([
            "vtysh", "-N", a.name, "-c", "configure terminal", "-c", "router bgp 64501", "-c", "neighbor dv.t interface remote-as external",
        ])
        let vrfcSession = try health(a, config)
        #expect(vrfcSession.result.status == 1 && vrfcSession.failing == ["bgp:default/dv.t"], "\(vrfcSession.result)")

        // A listed interface down.
        try Shell.check(["ip", "-n", a.name, "link", "set", "hc.a", "down"])
        let ifDown = try health(a, config, ["--no-frr"])
        #expect(
            ifDown.result.status == 1 && ifDown.failing == ["interface:hc.a"] && ifDown.detail("interface:hc.a") == "down",
            "\(ifDown.result)")
        #expect(!ifDown.checks.keys.contains { $0.hasPrefix("frr:") || $0.hasPrefix("bgp:") })
        try Shell.check(["ip", "-n", a.name, "link", "set", "hc.a", "up"])

        // A daemon down: zebra, then bgpd.
        let empty = try dir.write("empty.yaml", "interfaces: []\n")
        let zebra = try #require(a.pid(of: "zebra"))
        try stopHard(zebra)
        let noZebra = try health(a, empty)
        #expect(noZebra.failing.contains("frr:zebra") && !noZebra.failing.contains("frr:bgpd"), "\(noZebra.result)")
        #expect(noZebra.detail("frr:zebra").contains("failed"), "\(noZebra.result)")
        let bgpd = try #require(a.pid(of: "bgpd"))
        try stopHard(bgpd)
        let noFRR = try health(a, empty)
        #expect(noFRR.failing == ["frr:zebra", "frr:bgpd"], "\(noFRR.result)")
        // bpf-only mode does not ask FRR.
        let bpfOnly = try health(a, empty, ["--no-frr"])
        #expect(bpfOnly.result.status == 0 && bpfOnly.failing.isEmpty, "\(bpfOnly.result)")
    }

    /// --wait gives up at its deadline, unhealthy, after retrying.
    @Test func waitTimesOut() throws {
        let a = try FRRInstance(tag: "hlthW")
        defer { a.stop() }
        let dir = try TempDir()
        let config = try dir.write("hc.yaml", "reachability:\n- host: 127.0.0.1\n  port: 7997\nretries: 1\n")
        let start = Date()
        let r = try health(a, config, ["--wait", "3s"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.result.status == 1 && r.failing == ["tcp:127.0.0.1:7997"], "\(r.result)")
        #expect((r.doc["rounds"] as? Int ?? 0) >= 2, "\(r.result)")
        #expect(r.result.stderr.contains("not healthy yet (tcp:127.0.0.1:7997); retrying"), "\(r.result)")
        #expect(elapsed >= 2 && elapsed < 60, "\(elapsed)")
    }
}
