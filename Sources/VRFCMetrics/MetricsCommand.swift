import ArgumentParser
import Foundation
import VRFCBPF
import VRFCHealth

/// `vrfc-apply metrics`: the node's Prometheus endpoint, standalone. The
/// HTTP server runs in the unprivileged `vrfc-metrics` this starts; this
/// process only answers it with the tc router's counters and the links.
public struct MetricsCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Serve Prometheus metrics: FRR's BGP sessions, routes and VNIs, the tc router's counters, vrfc's links.",
        discussion: """
            The HTTP server runs in vrfc-metrics (next to vrfc-apply), started as an \
            unprivileged child: --user (when run as root), FRR's vty group for vtysh, no \
            capabilities, no_new_privs. GET /metrics runs every collector once: FRR over \
            one vtysh call each (`show bgp vrf all summary json`, `show ip route vrf all \
            summary json`, `show ipv6 route vrf all summary json`, `show evpn vni json`; \
            only `show` commands are ever sent), and, asked of this process over a socket \
            pair, the router's pinned counters and the links vrfc owns. A collector that \
            fails is left out of that scrape, with vrfc_scrape_collector_success 0; the \
            others are still served.

            Exit status: 1 when it cannot start the exporter or the exporter cannot \
            listen, 2 usage error; otherwise it runs until killed.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to listen (ADDR:PORT, [ADDR6]:PORT or :PORT).", valueName: "ADDR:PORT"))
    var listen = ":\(ListenAddress.defaultPort)"

    @OptionGroup var sources: MetricsSources

    public func validate() throws {
        guard ListenAddress(listen) != nil else { throw ValidationError("--listen \(listen.debugDescription) is not ADDR:PORT") }
    }

    public func run() throws {
        let endpoint: MetricsEndpoint
        do {
            endpoint = try MetricsEndpoint(sources.exporter(ListenAddress(listen)!), collectors: sources.privilegedCollectors())
        } catch {
            FileHandle.standardError.write(Data("vrfc-apply metrics: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let status = endpoint.waitUntilStopped()
        FileHandle.standardError.write(Data("vrfc-apply metrics: the exporter (vrfc-metrics) exited with status \(status)\n".utf8))
        throw ExitCode(1)
    }
}

/// Where the metrics come from.
public struct MetricsSources: ParsableArguments {
    public init() {}

    @Flag(name: .customLong("no-frr"), help: "bpf-only mode: no FRR collectors.")
    var noFRR = false

    @OptionGroup var frr: VtyshOptions

    @Option(name: .customLong("bpf-pin-dir"), help: ArgumentHelp("Where the tc router's maps are pinned.", valueName: "DIR"))
    var pinDirectory = RouterStats.defaultPinDirectory

    @Option(name: .long, help: ArgumentHelp("Who the HTTP server (vrfc-metrics) runs as when vrfc-apply runs as root.", valueName: "USER"))
    var user = ExporterOptions.defaultUser

    @Option(
        name: .customLong("vty-group"),
        help: ArgumentHelp("The group of FRR's vty sockets, given to the HTTP server for vtysh.", valueName: "GROUP"))
    var vtyGroup = ExporterOptions.defaultVTYGroup

    func exporter(_ address: ListenAddress) -> ExporterOptions {
        ExporterOptions(listen: address, frr: !noFRR, vtysh: frr.vtysh, frrPathspace: frr.pathspace, user: user, vtyGroup: vtyGroup)
    }

    /// What the privileged side answers for.
    func privilegedCollectors() -> [any MetricsCollector] {
        MetricsEndpoint.privilegedCollectors(pinDirectory: pinDirectory)
    }
}
