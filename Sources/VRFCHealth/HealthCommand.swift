import ArgumentParser
import Foundation
import VRFCNetlink

/// `vrfc-apply health`: is the node network-ready (see `discussion`).
public struct HealthCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the node is network-ready: FRR answers, links are up, endpoints connect, BGP sessions are Established.",
        discussion: """
            Reads the healthcheck config (interfaces, reachability host/port, timeout, \
            retries) from --config, $OPERATOR_NETHEALTHCHECK_CONFIG or \
            /opt/network-operator/net-healthcheck-config.yaml; a missing default file means \
            no listed interfaces or endpoints. Checks: zebra and bgpd answer vtysh \
            (not with --no-frr, the bpf-only mode); every listed interface is up with \
            carrier; every link vrfc owns is up; every endpoint accepts a TCP connection \
            within the timeout in at most `retries` tries; every BGP session over vrfc's \
            dv./vd. links (with --fabric: every session) is Established; every VRF \
            whose VXLAN link vrfc owns has that link's VNI in zebra's `show vrf vni`, Up. \
            vtysh is only ever sent `show` commands.

            On success it prints the kubectl command that removes the node's \
            node.cloudprovider.kubernetes.io/uninitialized taint (vrfc does not talk \
            to the Kubernetes API).

            Exit status: 0 healthy, 1 unhealthy (the failing checks are named) or the \
            config file is invalid, 2 usage error.
            """
    )

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The healthcheck config (default: $OPERATOR_NETHEALTHCHECK_CONFIG or /opt/network-operator/net-healthcheck-config.yaml).",
            valueName: "FILE"))
    var config: String?

    @Flag(name: .customLong("no-frr"), help: "bpf-only mode: do not check FRR's daemons or BGP sessions.")
    var noFRR = false

    @Flag(name: .long, help: "Require every BGP session to be Established, not only those over vrfc's dv./vd. links.")
    var fabric = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Retry (every second) until healthy or this long has passed, e.g. 5m (Go duration syntax).", valueName: "DURATION"))
    var wait: String?

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    @OptionGroup var frr: VtyshOptions

    @Option(
        name: .long,
        help: ArgumentHelp("Check the links and endpoints of the named network namespace (/run/netns/NAME).", valueName: "NAME"))
    var netns: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The node's name in the printed kubectl command (default: $NODE_NAME, else the host name).", valueName: "NAME"))
    var node: String?

    var waitSeconds: Double? { wait.flatMap(HealthConfigReader.parseDuration) }

    public func validate() throws {
        if let wait, waitSeconds == nil || waitSeconds! > 86_400 {
            throw ValidationError("--wait \(wait.debugDescription) is not a duration up to 24h (e.g. 30s, 5m)")
        }
    }

    public func run() throws {
        let path = HealthConfig.path(explicit: config)
        let healthConfig: HealthConfig
        if config == nil && path == HealthConfig.defaultPath && !FileManager.default.fileExists(atPath: path) {
            healthConfig = HealthConfig()
        } else {
            do { healthConfig = try HealthConfig.load(path: path) } catch {
                FileHandle.standardError.write(Data("vrfc-apply health: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        if let netns {
            do { try NetlinkSocket.enterNamespace(netns) } catch {
                FileHandle.standardError.write(Data("vrfc-apply health: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        let options = HealthOptions(
            config: healthConfig, frr: !noFRR, fabric: fabric,
            vtysh: Vtysh(executable: frr.vtysh, pathspace: frr.pathspace))
        let deadline = Date().addingTimeInterval(waitSeconds ?? 0)
        var results: [CheckResult]
        var rounds = 0
        while true {
            rounds += 1
            results = HealthChecks.run(options) { try NetlinkSocket().links() }
            if results.allSatisfy(\.ok) || Date().addingTimeInterval(1) > deadline { break }
            let failing = results.filter { !$0.ok }.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("vrfc-apply health: not healthy yet (\(failing)); retrying\n".utf8))
            Thread.sleep(forTimeInterval: 1)
        }
        let healthy = results.allSatisfy(\.ok)
        let nodeName = node ?? ProcessInfo.processInfo.environment["NODE_NAME"] ?? ProcessInfo.processInfo.hostName
        let taint = "kubectl taint nodes \(nodeName) node.cloudprovider.kubernetes.io/uninitialized-"
        if json {
            print(HealthReport.json(results, healthy: healthy, rounds: rounds, taintCommand: healthy ? taint : nil))
        } else {
            print(HealthReport.table(results), terminator: "")
            if healthy {
                print("healthy; remove the node's uninitialized taint with:\n  \(taint)")
            } else {
                print("unhealthy: \(results.filter { !$0.ok }.map(\.name).joined(separator: ", "))")
            }
        }
        if !healthy { throw ExitCode(1) }
    }
}

/// The printed forms of the results.
public enum HealthReport {
    public static func table(_ results: [CheckResult]) -> String {
        let width = max(5, results.map(\.name.count).max() ?? 0)
        var out = "CHECK".padding(toLength: width, withPad: " ", startingAt: 0) + "  RESULT  DETAIL\n"
        for r in results {
            out +=
                r.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  " + (r.ok ? "ok    " : "FAIL  ") + "  " + r.detail + "\n"
        }
        return out
    }

    struct Document: Codable {
        var healthy: Bool
        var rounds: Int
        var failing: [String]
        var checks: [CheckResult]
        var taintCommand: String?
    }

    public static func json(_ results: [CheckResult], healthy: Bool, rounds: Int, taintCommand: String?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let doc = Document(
            healthy: healthy, rounds: rounds, failing: results.filter { !$0.ok }.map(\.name), checks: results, taintCommand: taintCommand)
        return String(decoding: (try? encoder.encode(doc)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
