import Foundation
import Testing
import VRFCTestSupport

@testable import VRFCHealth

/// The healthcheck file's reader: the operator's format unchanged, and every
/// error located by line and field.
@Suite struct HealthConfigTests {
    func parse(_ text: String) throws(HealthConfigError) -> HealthConfig {
        try HealthConfigReader.parse(Data(text.utf8), file: "hc.yaml")
    }

    func error(_ text: String) -> HealthConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch { return error }
    }

    @Test func readsTheOperatorsExample() throws {
        let c = try parse(
            """
            interfaces: # list of interfaces that should have UP state
              - eth0
            reachability: # list of hosts and ports to query in reachability check
            - host: "host.domain.com"
              port: 80
            - host: "192.168.1.100"
              port: 8400
            timeout: 5s # timeout for reachability test (if not provided, default 3s will be used)
            retries: 10 # indicates how many times each host will be queried

            """)
        #expect(
            c
                == HealthConfig(
                    interfaces: ["eth0"],
                    reachability: [.init(host: "host.domain.com", port: 80), .init(host: "192.168.1.100", port: 8400)],
                    timeout: 5, retries: 10))
    }

    @Test func defaultsAndFlowLists() throws {
        #expect(try parse("") == HealthConfig())
        #expect(try parse("interfaces: []\nreachability:\n") == HealthConfig())
        let c = try parse("---\ninterfaces: [eth0, 'bond0']\ntimeout: 1m30s\nreachability:\n  - port: 443\n    host: 2001:db8::1\n")
        #expect(c.interfaces == ["eth0", "bond0"])
        #expect(c.timeout == 90 && c.retries == 3)
        #expect(c.reachability == [.init(host: "2001:db8::1", port: 443)])
        #expect(HealthConfigReader.parseDuration("500ms") == 0.5)
        #expect(HealthConfigReader.parseDuration("5") == nil)
    }

    @Test(
        arguments: [
            ("interfaces: [eth0]\nretrys: 3\n", 2, "\"retrys\"", "unknown key"),
            ("reachability:\n- host: a.example\n  port: 70000\n", 3, "reachability[0].port", "not a port"),
            ("reachability:\n- host: a.example\n  prot: 80\n", 3, "reachability[0].\"prot\"", "unknown key"),
            ("reachability:\n- host: a.example\n- host: b.example\n  port: 1\n", 2, "reachability[0].port", "missing"),
            ("timeout: 5\n", 1, "timeout", "not a duration"),
            ("timeout: 3s\ntimeout: 4s\n", 2, "timeout", "repeated"),
            ("retries: 0\n", 1, "retries", "1 to 1000"),
            ("interfaces:\n\t- eth0\n", 2, nil, "tabs"),
            ("interfaces:\n  - eth0\n  - eth0\n", 3, "interfaces", "listed twice"),
            ("interfaces:\n  - a/b\n", 2, "interfaces", "not an interface name"),
            ("interfaces:\n  - &x eth0\n", 2, "interfaces", "YAML syntax"),
            ("interfaces:\n  - eth0\n   - eth1\n", 3, "interfaces", "indented like"),
            ("reachability:\n- host: \"a b\"\n  port: 1\n", 2, "reachability[0].host", "not a host"),
        ] as [(String, Int, String?, String)])
    func errorsAreLocated(_ text: String, _ line: Int, _ field: String?, _ words: String) {
        let e = error(text)
        #expect(e?.line == line, "\(text.debugDescription): \(e.map(String.init(describing:)) ?? "accepted")")
        #expect(e?.field == field, "\(e.map(String.init(describing:)) ?? "accepted")")
        #expect(e?.message.contains(words) == true, "\(e.map(String.init(describing:)) ?? "accepted")")
        #expect(e?.description.hasPrefix("hc.yaml:\(line): ") == true)
    }

    @Test func userTextIsEscapedInMessages() {
        let e = error("interfaces:\n  - \"x\u{1b}[31m\"\n")
        #expect(e != nil)
        #expect(e?.description.contains("\u{1b}") == false, "\(String(describing: e))")
    }

    @Test func onlyShowCommandsReachVtysh() throws {
        #expect(Vtysh.isReadOnly("show bgp vrf all summary json"))
        #expect(!Vtysh.isReadOnly("configure terminal"))
        #expect(!Vtysh.isReadOnly("show version\nconfigure"))
        #expect(!Vtysh.isReadOnly("write memory"))
        #expect(throws: Vtysh.Failure.self) { try Vtysh(executable: "/bin/false").show("clear bgp *") }
        #expect(Vtysh(pathspace: "p").arguments("show zebra", daemon: "zebra") == ["-N", "p", "-d", "zebra", "-c", "show zebra"])
    }

    @Test func bgpSummaryIsReadPerSession() throws {
        let json =
            #"{"default":{"ipv4Unicast":{"peers":{"vd.red":{"state":"Established"},"192.0.2.9":{"state":"Active"}}},"l2VpnEvpn":{"peers":{"vd.red":{"state":"Established"}}}},"red":{"ipv4Unicast":{"peers":{"dv.red":{"state":"Connect"}}}}}"#
        let summary = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(
            BGPSessions.parse(summary) == [
                BGPSession(vrf: "default", peer: "192.0.2.9", state: "Active"),
                BGPSession(vrf: "default", peer: "vd.red", state: "Established"),
                BGPSession(vrf: "red", peer: "dv.red", state: "Connect"),
            ])
    }

    /// The command refuses a bad file with its location and checks nothing.
    @Test func theCommandReportsConfigErrors() throws {
        let dir = try TempDir()
        let file = try dir.write("hc.yaml", "interfaces:\n  - eth0\nreachability:\n- host: 192.0.2.1\n  port: http\n")
        let r = try Shell.run([Repo.executable("vrfc-apply"), "health", "--no-frr", "--config", file])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(file):5: reachability[0].port: \"http\" is not a port"), "\(r)")
        #expect(!r.stdout.contains("CHECK"), "\(r)")
        let env = try Shell.run(
            [Repo.executable("vrfc-apply"), "health", "--no-frr"],
            environment: ProcessInfo.processInfo.environment.merging(["OPERATOR_NETHEALTHCHECK_CONFIG": dir.path + "/none.yaml"]) { $1 })
        #expect(env.status == 1 && env.stderr.contains("none.yaml: cannot read the file"), "\(env)")
        let usage = try Shell.run([Repo.executable("vrfc-apply"), "health", "--wait", "soon"])
        #expect(usage.status == 2, "\(usage)")
    }
}
