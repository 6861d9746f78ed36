import ArgumentParser
import Foundation
import VRFCCLI
import VRFCHealth
import VRFCMetrics

/// `vrfc-metrics`: the unprivileged half of the metrics endpoint. It holds
/// the HTTP server and asks FRR through read-only vtysh; the privileged
/// side that starts it (`vrfc-apply metrics`, `vrfc-apply agent
/// --metrics-listen`) answers for the tc router's maps and the links over
/// descriptor 3. It refuses to run with privileges.
@main
struct VRFCMetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrfc-metrics",
        abstract: "The unprivileged Prometheus endpoint that vrfc-apply metrics and vrfc-apply agent --metrics-listen start.",
        discussion: """
            Not meant to be run by hand: vrfc-apply starts it as an unprivileged user \
            (no capabilities, no_new_privs, FRR's vty group for vtysh) with a socket to \
            itself as descriptor 3, over which it asks for the tc router's counters and \
            the links vrfc owns at each scrape. It refuses to run as root or with any \
            effective capability.

            Exit status: 1 when it cannot listen or runs privileged, 2 usage error; \
            0 when the privileged side is gone; otherwise it runs until killed.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to listen (ADDR:PORT, [ADDR6]:PORT or :PORT).", valueName: "ADDR:PORT"))
    var listen = ":\(ListenAddress.defaultPort)"

    @Flag(name: .customLong("no-frr"), help: "No FRR collectors (bpf-only mode).")
    var noFRR = false

    @Option(name: .long, help: ArgumentHelp("The vtysh to run.", valueName: "PATH"))
    var vtysh = "vtysh"

    @Option(name: .customLong("frr-pathspace"), help: ArgumentHelp("FRR's pathspace (vtysh -N).", valueName: "NAME"))
    var frrPathspace: String?

    @Flag(name: .customLong("privileged-channel"), help: "Descriptor 3 is the channel to the privileged side (vrfc-apply passes it).")
    var channel = false

    func validate() throws {
        guard ListenAddress(listen) != nil else { throw ValidationError("--listen \(listen.debugDescription) is not ADDR:PORT") }
    }

    func run() throws {
        if let why = Self.privileged() {
            FileHandle.standardError.write(Data("vrfc-metrics: refusing to run \(why); vrfc-apply metrics starts it unprivileged\n".utf8))
            throw ExitCode(1)
        }
        let client = channel ? PrivilegedClient() : nil
        client?.exitOnHangup()
        let v = Vtysh(executable: vtysh, pathspace: frrPathspace, timeout: 10)
        let collectors: [any MetricsCollector] = noFRR ? [] : [BGPCollector(vtysh: v), RouteCollector(vtysh: v), VNICollector(vtysh: v)]
        let address = ListenAddress(listen)!
        let scrape = Scrape(collectors: collectors, privileged: client)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        Task {
            do { try await MetricsServer.serve(try MetricsServer.make(address), scrape: scrape) } catch { failure = error }
            done.signal()
        }
        done.wait()
        FileHandle.standardError.write(Data("vrfc-metrics: cannot serve on \(address): \(failure.map { "\($0)" } ?? "stopped")\n".utf8))
        throw ExitCode(1)
    }

    /// Why this process is privileged (root, or any effective capability), or nil.
    static func privileged() -> String? {
        if geteuid() == 0 || getuid() == 0 { return "as root" }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces)
            if UInt64(hex, radix: 16) != 0 { return "with effective capabilities (CapEff \(hex))" }
        }
        return nil
    }

    static func main() { runWithUsageExit() }
}
