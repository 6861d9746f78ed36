import ArgumentParser
import Foundation
import VRFCBPF
import VRFCHealth

/// `vrfc-apply metrics`: the node's Prometheus endpoint, standalone.
public struct MetricsCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Serve Prometheus metrics: FRR's BGP sessions, routes and VNIs, the tc router's counters.",
        discussion: """
        GET /metrics runs every collector once: FRR over one vtysh call each \
        (`show bgp vrf all summary json`, `show ip route vrf all summary json`, \
        `show ipv6 route vrf all summary json`, `show evpn vni json`; only `show` \
        commands are ever sent) and the router's pinned counters. A collector that \
        fails is left out of that scrape, with vrfc_scrape_collector_success 0; the \
        others are still served.

        Exit status: 1 when it cannot listen, 2 usage error; otherwise it runs until killed.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Where to listen (ADDR:PORT, [ADDR6]:PORT or :PORT).", valueName: "ADDR:PORT"))
    var listen = ":\(ListenAddress.defaultPort)"

    @OptionGroup var sources: MetricsSources

    public func validate() throws {
        guard ListenAddress(listen) != nil else { throw ValidationError("--listen \(listen.debugDescription) is not ADDR:PORT") }
    }

    public func run() throws {
        let address = ListenAddress(listen)!
        let scrape = Scrape(collectors: sources.collectors())
        let server: HTTPServerHandle
        do { server = try HTTPServerHandle(address, scrape: scrape) } catch {
            FileHandle.standardError.write(Data("vrfc-apply metrics: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let error = server.waitUntilStopped()
        FileHandle.standardError.write(Data("vrfc-apply metrics: cannot serve on \(address): \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Where the metrics come from; shared by `metrics` and the agent.
public struct MetricsSources: ParsableArguments {
    public init() {}

    @Flag(name: .customLong("no-frr"), help: "bpf-only mode: no FRR collectors.")
    var noFRR = false

    @Option(name: .long, help: ArgumentHelp("The vtysh to run.", valueName: "PATH"))
    var vtysh = "vtysh"

    @Option(name: .customLong("frr-pathspace"), help: ArgumentHelp("FRR's pathspace (vtysh -N), for daemons started with -N NAME.", valueName: "NAME"))
    var frrPathspace: String?

    @Option(name: .customLong("bpf-pin-dir"), help: ArgumentHelp("Where the tc router's maps are pinned.", valueName: "DIR"))
    var pinDirectory = RouterStats.defaultPinDirectory

    public func collectors() -> [any MetricsCollector] {
        let v = Vtysh(executable: vtysh, pathspace: frrPathspace, timeout: 5)
        var all: [any MetricsCollector] = []
        if !noFRR { all += [BGPCollector(vtysh: v), RouteCollector(vtysh: v), VNICollector(vtysh: v)] }
        all.append(RouterCollector(pinDirectory: pinDirectory))
        return all
    }
}

/// A running server on its own task; the synchronous commands wait on it.
public final class HTTPServerHandle: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: (any Error)?

    public init(_ address: ListenAddress, scrape: Scrape) throws {
        let server = try MetricsServer.make(address)
        Task {
            do { try await MetricsServer.serve(server, scrape: scrape) } catch { self.error = error }
            self.done.signal()
        }
    }

    /// Blocks until the server stops (it only does on an error).
    public func waitUntilStopped() -> String {
        done.wait()
        return error.map { "\($0)" } ?? "stopped"
    }
}
