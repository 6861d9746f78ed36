import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import VRFCApply
import VRFCApplyCLI
import VRFCBPF
import VRFCHealth
import VRFCKernel
import VRFCMetrics
import VRFCModel

/// Exit statuses of the agent (vrfc-apply's contract: 2 is a usage error).
enum AgentExit {
    static let failed: Int32 = 1
}

/// `vrfc-apply agent`: keeps the node converged (see `discussion`).
public struct AgentCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Keep the node converged: reconcile at start, on input changes and periodically (needs CAP_NET_ADMIN).",
        discussion: """
            Watches the node config, the CR inputs (files and directories, recursively, \
            including a ConfigMap mount's ..data symlink swap) and the base config with \
            inotify. Changes within --debounce seconds of the first one make one reconcile; \
            --interval reconciles also without changes (repairing, e.g., a deleted link). \
            A reconcile is today's `vrfc-apply apply` (links and router attachments).

            Invalid inputs never tear anything down: every error is logged and the node is \
            held at the last valid inputs seen by this agent (repaired towards them if it drifts).

            Hooks (--pre-hook, --post-hook) are executables run before and after each \
            reconcile with VRFC_HOOK (pre|post) and VRFC_TRIGGER (start|change|timer|signal|oneshot|clean); \
            the post hook also gets VRFC_RESULT (ok|invalid|failed|stopped|skipped), VRFC_CHANGES, \
            VRFC_ERROR and VRFC_DURATION_MS. A pre hook that fails (non-zero exit, signal or \
            timeout) vetoes that reconcile: nothing is changed, the result is 'skipped' and the \
            next trigger tries again. A failing post hook is logged and changes nothing.

            SIGHUP: reconcile now. SIGTERM/SIGINT: the agent stops between steps. A reconcile that has started changing \
            the kernel finishes first (a few netlink requests); one that has not is abandoned.

            Exit status: 0 stopped by a signal, or --oneshot/--clean succeeded; 1 --oneshot/--clean \
            failed (invalid input, refused or failed apply, a failing pre hook) or the agent could \
            not start; 2 usage error.
            """
    )

    @OptionGroup var node: NodeInputs

    @OptionGroup var frr: FRROptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds from the first input change to the reconcile that takes in every change made meanwhile (0: at once).",
            valueName: "SECONDS"))
    var debounce: Double = 30

    @Option(
        name: .long, help: ArgumentHelp("Seconds after a reconcile before the next one without changes (0: never).", valueName: "SECONDS"))
    var interval: Double = 60

    @Option(
        name: .customLong("pre-hook"), help: ArgumentHelp("Executable run before each reconcile; failing vetoes it.", valueName: "PATH"))
    var preHook: String?

    @Option(
        name: .customLong("post-hook"),
        help: ArgumentHelp("Executable run after each reconcile, with its outcome in the environment.", valueName: "PATH"))
    var postHook: String?

    @Option(
        name: .customLong("hook-timeout"),
        help: ArgumentHelp("Seconds a hook may run before it (and its process group) is killed.", valueName: "SECONDS"))
    var hookTimeout: Double = 30

    @Flag(name: .long, help: "Reconcile once and exit with its status (cron, init containers).")
    var oneshot = false

    @Flag(name: .long, help: "Remove every link and router attachment vrfc owns, then exit.")
    var clean = false

    @Option(name: .customLong("log-format"), help: ArgumentHelp("Log lines on stderr: text (key=value) or json.", valueName: "FORMAT"))
    var logFormat: String = "text"

    @Option(
        name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    public func validate() throws {
        let ops = node.ops
        let bundle = node.bundle
        let config = node.config
        let inputs = node.inputs
        let frrConfig = frr.frrConfig
        if oneshot && clean { throw ValidationError("pass --oneshot or --clean, not both") }
        if let metricsListen, ListenAddress(metricsListen) == nil {
            throw ValidationError("--metrics-listen \(metricsListen.debugDescription) is not ADDR:PORT")
        }
        if ops != nil && config != nil {
            throw ValidationError("pass either --ops FILE or --config FILE with INPUT..., not both")
        }
        if ops == nil && bundle == nil && inputs.isEmpty && !clean {
            throw ValidationError("no inputs: pass --config FILE and INPUT... (CR files or directories), or --ops FILE")
        }
        if frrConfig != nil && ops != nil {
            throw ValidationError("--frr-config needs the inputs or a bundle (--ops carries no frr.conf)")
        }
        if bundle != nil && frrConfig == nil {
            throw ValidationError("--bundle goes with --frr-config PATH")
        }
        if frrConfig == nil && (frr.reload != nil || frr.frrPathspace != nil) {
            throw ValidationError("--reload and --frr-pathspace go with --frr-config PATH")
        }
        if ops == "-" || inputs.contains("-") {
            throw ValidationError("'-' (stdin): the agent reads its inputs again at every reconcile; pass files or directories")
        }
        for (name, v) in [("--debounce", debounce), ("--interval", interval), ("--hook-timeout", hookTimeout)]
        where !(v.isFinite && v >= 0 && v <= 86_400) {
            throw ValidationError("\(name) \(v): expected seconds from 0 to 86400")
        }
        if hookTimeout == 0 { throw ValidationError("--hook-timeout 0: a hook needs some time; expected seconds above 0") }
        for hook in [preHook, postHook].compactMap({ $0 }) {
            if let why = Hook.check(hook) { throw ValidationError("hook \(why)") }
        }
        if LineLogHandler.Format(rawValue: logFormat) == nil { throw ValidationError("--log-format '\(logFormat)': expected text or json") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError(
                "--log-level '\(logLevel)': expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    @Option(
        name: .customLong("metrics-listen"),
        help: ArgumentHelp(
            "Serve Prometheus metrics here (ADDR:PORT, e.g. :7082): the agent's reconciles and reloads and everything `vrfc-apply metrics` serves (FRR through vtysh, in --frr-pathspace if given; the router's counters; the links). The HTTP server runs in vrfc-metrics, started unprivileged.",
            valueName: "ADDR:PORT"))
    var metricsListen: String?

    @Option(
        name: .customLong("metrics-user"),
        help: ArgumentHelp(
            "With --metrics-listen: who the HTTP server (vrfc-metrics) runs as when the agent runs as root; it also gets FRR's vty group (frrvty) for vtysh.",
            valueName: "USER"))
    var metricsUser = ExporterOptions.defaultUser

    /// Bootstraps swift-metrics into a Prometheus registry and starts the
    /// unprivileged exporter, answering it with the router's counters, the
    /// links in the agent's namespace and this registry.
    func startMetrics(_ logger: Logger) throws -> MetricsEndpoint? {
        guard let metricsListen, let address = ListenAddress(metricsListen) else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let endpoint = try MetricsEndpoint(
            ExporterOptions(listen: address, frrPathspace: frr.frrPathspace, user: metricsUser), netns: node.netns,
            collectors: MetricsEndpoint.privilegedCollectors(pinDirectory: node.bpfPinDirectory),
            persistent: { registry.emitToString() },
            stderrLine: { logger.warning("metrics exporter", metadata: ["line": .string($0)]) })
        logger.info("serving metrics", metadata: ["listen": .string(address.description), "exporter_pid": "\(endpoint.pid)"])
        // The endpoint only stops on an error (e.g. the port is taken): say so; the agent goes on reconciling.
        Thread {
            let status = endpoint.waitUntilStopped()
            if !endpoint.stopRequested { logger.error("metrics server stopped", metadata: ["status": "\(status)"]) }
        }.start()
        return endpoint
    }

    public func run() throws { try run(onChange: nil) }

    /// `onChange` is told each kernel change of a links-only reconcile as it
    /// is made (test tools pause there; the shipped command passes nothing).
    public func run(onChange: (@Sendable (Step) -> Void)?) throws {
        let format = LineLogHandler.Format(rawValue: logFormat)!
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
        var logger = Logger(label: "vrfc-agent")
        if let netns = node.netns { logger[metadataKey: "netns"] = .string(netns) }
        guard Privileges.hasNetAdmin() else {
            logger.critical("the agent needs CAP_NET_ADMIN (run it as root or grant the capability); nothing was changed")
            throw ExitCode(AgentExit.failed)
        }
        let request = node.compileRequest
        let choice: ReconcilerChoice
        if let frrConfig = frr.frrConfig {
            choice = .frr(
                .init(
                    reconcile: frr.reconcileOptions(frrConfig, node), source: node.bundle.map { .file($0) } ?? .compile(request),
                    cleanRequest: node.bundle == nil || node.config != nil ? request : nil,
                    trust: node.trustSources, pinDirectory: node.bpfPinDirectory))
        } else {
            var links = LinksReconciler.Options(
                source: node.ops.map { .file($0) } ?? .compile(request), overrides: node.overrides,
                adopt: node.adopt, trust: node.trustSources, pinDirectory: node.bpfPinDirectory)
            links.force = node.force
            links.runDirectory = node.runDirectory
            links.tableNames = node.tableNamesFile
            links.onChange = onChange
            choice = .links(links)
        }
        let setup = AgentSetup(
            reconciler: choice,
            agentOptions: AgentOptions(
                debounce: seconds(debounce), interval: interval == 0 ? nil : seconds(interval),
                preHook: preHook, postHook: postHook, hookTimeout: seconds(hookTimeout)),
            netns: node.netns,
            watched: (node.ops.map { [$0] } ?? node.bundle.map { [$0] } ?? [node.nodeConfig] + node.inputs)
                + (frr.template.map { [$0] } ?? []),
            mode: clean ? .clean : oneshot ? .oneshot : .daemon)
        let metrics: MetricsEndpoint?
        do { metrics = try startMetrics(logger) } catch {
            logger.critical("cannot serve metrics", metadata: ["error": .string("\(error)")])
            throw ExitCode(AgentExit.failed)
        }
        let log = logger
        let code = blockingAsync { await setup.run(log) }
        metrics?.stop()
        if code != 0 { throw ExitCode(code) }
    }

    func seconds(_ s: Double) -> Duration { .nanoseconds(Int64((s * 1e9).rounded())) }
}

/// Everything the agent needs, taken from the command line before going async.
enum ReconcilerChoice: Sendable {
    /// Links and router attachments only (no --frr-config).
    case links(LinksReconciler.Options)
    /// The whole node: links and FRR.
    case frr(FRRReconciler.Options)
}

struct AgentSetup: Sendable {
    var reconciler: ReconcilerChoice
    var agentOptions: AgentOptions
    var netns: String?
    var watched: [String]
    var mode: AgentService.Mode

    func run(_ logger: Logger) async -> Int32 {
        let thread: KernelThread
        do {
            thread = try KernelThread(namespace: netns)
        } catch {
            logger.critical("cannot start", metadata: ["error": .string("\(error)")])
            return AgentExit.failed
        }
        // The reconcile behind the seam: the whole node with --frr-config, else links only.
        let reconciler: any Reconciler
        switch self.reconciler {
        case .links(let o): reconciler = LinksReconciler(options: o, thread: thread, logger: logger)
        case .frr(let o): reconciler = FRRReconciler(options: o, thread: thread, logger: logger)
        }
        // The daemon tells systemd when it is ready (Type=notify); nothing without $NOTIFY_SOCKET.
        let daemon = mode == .daemon
        let agent = Agent(reconciler: reconciler, options: agentOptions, logger: logger) { lines in
            if daemon { SystemdNotify.send(lines) }
        }
        let o = agentOptions

        var watcher: InputWatcher?
        if mode == .daemon {
            do throws(WatchError) {
                watcher = try InputWatcher(paths: watched) { agent.inputChanged($0) }
            } catch {
                logger.critical("cannot watch the inputs", metadata: ["error": .string(error.description)])
                return AgentExit.failed
            }
            logger.info(
                "agent started",
                metadata: [
                    "inputs": .array(watched.map { .string($0) }),
                    "watching": .array(watcher!.watchedDirectories.map { .string($0) }),
                    "debounce": "\(o.debounce)", "interval": .string(o.interval.map { "\($0)" } ?? "off"),
                    "pre_hook": .string(o.preHook ?? ""), "post_hook": .string(o.postHook ?? ""),
                ])
            // Watching starts before the first reconcile, so no change slips between them.
            watcher!.start()
        }
        // SIGHUP reconciles at once (the daemon only; ignored otherwise).
        signal(SIGHUP, SIG_IGN)
        var hup: (any DispatchSourceSignal)?
        if mode == .daemon {
            hup = DispatchSource.makeSignalSource(signal: SIGHUP)
            hup!.setEventHandler { agent.requestReconcile() }
            hup!.resume()  // a source is released only once resumed: Dispatch traps otherwise
        }
        defer { hup?.cancel() }

        let service = AgentService(agent: agent, mode: mode)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("agent failed", metadata: ["error": .string("\(error)")])
            return AgentExit.failed
        }
        watcher?.stop()
        return service.exitCode.load(ordering: .sequentiallyConsistent)
    }
}

/// The agent as a ServiceLifecycle service: the group turns SIGTERM/SIGINT
/// into a graceful shutdown, which becomes the agent's stop request.
final class AgentService: Service, Sendable {
    enum Mode: Sendable { case daemon, oneshot, clean }
    let agent: Agent
    let mode: Mode
    let exitCode = Atomic<Int32>(0)

    init(agent: Agent, mode: Mode) {
        self.agent = agent
        self.mode = mode
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            switch mode {
            case .daemon:
                await agent.run()
            case .oneshot, .clean:
                let outcome = await agent.reconcileOnce(mode == .clean ? .clean : .oneshot)
                exitCode.store(outcome.succeeded ? 0 : AgentExit.failed, ordering: .sequentiallyConsistent)
            }
        } onGracefulShutdown: { [agent] in
            agent.requestStop()
        }
    }
}

/// Runs async work from the synchronous command (the root command stays a
/// plain ParsableCommand) and waits for it on this thread.
func blockingAsync(_ body: @escaping @Sendable () async -> Int32) -> Int32 {
    let done = DispatchSemaphore(value: 0)
    let result = Atomic<Int32>(0)
    Task.detached {
        result.store(await body(), ordering: .sequentiallyConsistent)
        done.signal()
    }
    done.wait()
    return result.load(ordering: .sequentiallyConsistent)
}
