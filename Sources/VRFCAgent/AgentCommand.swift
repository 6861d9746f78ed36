import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import VRFCApply
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

    @Option(name: .long, help: ArgumentHelp("The node config (default: $OPERATOR_CONFIG or /opt/network-operator/config.yaml).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("A ready op list (vrfc compile --emit ops), watched, instead of --config and INPUT.", valueName: "FILE"))
    var ops: String?

    @Option(name: .long, help: ArgumentHelp("A ready bundle (vrfc compile --emit bundle), watched, instead of --config and INPUT (with --frr-config).", valueName: "FILE"))
    var bundle: String?

    @Option(name: .long, help: ArgumentHelp("With --frr-config: the node's hinted base frr.conf or frr.conf.tpl (watched); default as for apply.", valueName: "FILE"))
    var template: String?

    @Option(name: .customLong("frr-config"), help: ArgumentHelp("Reconcile FRR too (as apply --frr-config): write this frr.conf, reload, verify, between links down and links up.", valueName: "PATH"))
    var frrConfig: String?

    @Option(name: .long, help: ArgumentHelp("With --frr-config: systemd, frr-reload, delta or none (default as for apply).", valueName: "STRATEGY"))
    var reload: ReloadStrategy?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("With --frr-config: where the last known good frr.conf, its IR and the base config are kept.", valueName: "DIR"))
    var stateDir = KeptState.defaultDirectory

    @Option(name: .customLong("frr-pathspace"), help: ArgumentHelp("With --frr-config: the FRR started with -N NAME.", valueName: "NAME"))
    var frrPathspace: String?

    @Option(name: .customLong("compile-user"), help: ArgumentHelp("The unprivileged account that compiles the inputs (as for apply).", valueName: "USER"))
    var compileUser = CompileRequest.defaultUser

    @Option(name: .long, help: ArgumentHelp("Router-id of the generated BGP instances (as for vrfc compile).", valueName: "IPV4"))
    var routerID: String?

    @Option(name: .long, help: ArgumentHelp("Value of {{.Hostname}} (as for vrfc compile).", valueName: "NAME"))
    var hostname: String?

    @Option(name: .long, help: ArgumentHelp("Directory of section templates replacing the shipped ones (as for vrfc compile).", valueName: "DIR"))
    var templates: String?

    @Flag(name: .long, help: "Delete vrfc's bridges and VRFs even when foreign interfaces are enslaved to them (as for apply).")
    var force = false

    @Option(name: .customLong("run-dir"), help: ArgumentHelp("Where the creation log and the clsact record live (as for apply).", valueName: "DIR"))
    var runDirectory = StateDirectory.defaultPath

    @Option(name: .long, help: ArgumentHelp("Underlay interface whose single IPv4 address is the VTEP address (default dum.underlay).", valueName: "IFNAME"))
    var underlay: String?

    @Option(name: .customLong("table-range"), help: ArgumentHelp("Routing tables for new VRFs (default 50-79).", valueName: "FIRST-LAST"))
    var tableRange: String?

    @Option(name: .customLong("bpf-interface"), help: ArgumentHelp("An interface besides vrfc's own links that the tc router may be attached to (repeatable), as for apply.", valueName: "IFNAME"))
    var bpfInterfaces: [String] = []

    @Flag(name: .long, help: "Take over links that match vrfc's settings exactly but lack its marker (see apply --help).")
    var adopt = false

    @Option(name: .long, help: ArgumentHelp("Work in the named network namespace (/run/netns/NAME), like ip -n.", valueName: "NAME"))
    var netns: String?

    @Option(name: .customLong("bpf-pin-dir"), help: ArgumentHelp("Where the tc router program's maps are pinned (bpffs).", valueName: "DIR"))
    var bpfPinDirectory = TCRouterAttacher.defaultPinDirectory

    @Option(name: .long, help: ArgumentHelp("Seconds from the first input change to the reconcile that takes in every change made meanwhile (0: at once).", valueName: "SECONDS"))
    var debounce: Double = 30

    @Option(name: .long, help: ArgumentHelp("Seconds after a reconcile before the next one without changes (0: never).", valueName: "SECONDS"))
    var interval: Double = 60

    @Option(name: .customLong("pre-hook"), help: ArgumentHelp("Executable run before each reconcile; failing vetoes it.", valueName: "PATH"))
    var preHook: String?

    @Option(name: .customLong("post-hook"), help: ArgumentHelp("Executable run after each reconcile, with its outcome in the environment.", valueName: "PATH"))
    var postHook: String?

    @Option(name: .customLong("hook-timeout"), help: ArgumentHelp("Seconds a hook may run before it (and its process group) is killed.", valueName: "SECONDS"))
    var hookTimeout: Double = 30

    @Flag(name: .long, help: "Reconcile once and exit with its status (cron, init containers).")
    var oneshot = false

    @Flag(name: .long, help: "Remove every link and router attachment vrfc owns, then exit.")
    var clean = false

    @Option(name: .customLong("log-format"), help: ArgumentHelp("Log lines on stderr: text (key=value) or json.", valueName: "FORMAT"))
    var logFormat: String = "text"

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Argument(help: ArgumentHelp("VRFRouteConfiguration files or directories, as for vrfc compile.", valueName: "INPUT"))
    var inputs: [String] = []

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["OPERATOR_CONFIG"] ?? "/opt/network-operator/config.yaml"
    }

    public func validate() throws {
        if oneshot && clean { throw ValidationError("pass --oneshot or --clean, not both") }
        if let metricsListen, ListenAddress(metricsListen) == nil {
            throw ValidationError("--metrics-listen \(metricsListen.debugDescription) is not ADDR:PORT")
        }
        if [ops != nil, bundle != nil, !inputs.isEmpty].filter({ $0 }).count > 1 {
            throw ValidationError("pass one of --ops FILE, --bundle FILE, or INPUT... (with --config FILE)")
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
        if frrConfig == nil && (reload != nil || frrPathspace != nil) {
            throw ValidationError("--reload and --frr-pathspace go with --frr-config PATH")
        }
        for b in bpfInterfaces {
            do { _ = try InterfaceName(validating: b) } catch { throw ValidationError("--bpf-interface '\(b)': expected \(error.expected)") }
        }
        if ops == "-" || inputs.contains("-") {
            throw ValidationError("'-' (stdin): the agent reads its inputs again at every reconcile; pass files or directories")
        }
        if let u = underlay {
            do { _ = try InterfaceName(validating: u) } catch { throw ValidationError("--underlay '\(u)': expected \(error.expected)") }
        }
        if let r = tableRange, TableRange(parsing: r) == nil {
            throw ValidationError("--table-range '\(r)': expected \(TableRange.rule)")
        }
        for (name, v) in [("--debounce", debounce), ("--interval", interval), ("--hook-timeout", hookTimeout)] where !(v.isFinite && v >= 0 && v <= 86_400) {
            throw ValidationError("\(name) \(v): expected seconds from 0 to 86400")
        }
        if hookTimeout == 0 { throw ValidationError("--hook-timeout 0: a hook needs some time; expected seconds above 0") }
        for hook in [preHook, postHook].compactMap({ $0 }) {
            if let why = Hook.check(hook) { throw ValidationError("hook \(why)") }
        }
        if LineLogHandler.Format(rawValue: logFormat) == nil { throw ValidationError("--log-format '\(logFormat)': expected text or json") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)': expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))") }
    }

    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp("Serve Prometheus metrics here (ADDR:PORT, e.g. :7082): the agent's reconciles and reloads and everything `vrfc-apply metrics` serves (FRR through vtysh, in --frr-pathspace if given; the router's counters; the links). The HTTP server runs in vrfc-metrics, started unprivileged.", valueName: "ADDR:PORT"))
    var metricsListen: String?

    @Option(name: .customLong("metrics-user"), help: ArgumentHelp("With --metrics-listen: who the HTTP server (vrfc-metrics) runs as when the agent runs as root; it also gets FRR's vty group (frrvty) for vtysh.", valueName: "USER"))
    var metricsUser = ExporterOptions.defaultUser

    /// Bootstraps swift-metrics into a Prometheus registry and starts the
    /// unprivileged exporter, answering it with the router's counters, the
    /// links in the agent's namespace and this registry.
    func startMetrics(_ logger: Logger) throws -> MetricsEndpoint? {
        guard let metricsListen, let address = ListenAddress(metricsListen) else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let endpoint = try MetricsEndpoint(
            ExporterOptions(listen: address, frrPathspace: frrPathspace, user: metricsUser), netns: netns,
            collectors: MetricsEndpoint.privilegedCollectors(pinDirectory: bpfPinDirectory),
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

    public func run() throws {
        let format = LineLogHandler.Format(rawValue: logFormat)!, level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
        var logger = Logger(label: "vrfc-agent")
        if let netns { logger[metadataKey: "netns"] = .string(netns) }
        guard Privileges.hasNetAdmin() else {
            logger.critical("the agent needs CAP_NET_ADMIN (run it as root or grant the capability); nothing was changed")
            throw ExitCode(AgentExit.failed)
        }
        let overrides = NodeOverrides(underlay: underlay.flatMap { try? InterfaceName(validating: $0) },
                                      tableRange: tableRange.flatMap { TableRange(parsing: $0) })
        let allowed = bpfInterfaces.compactMap { try? InterfaceName(validating: $0) }
        let trusted = config != nil || !inputs.isEmpty ? configPath : nil
        let request = CompileRequest(config: configPath, inputs: inputs, hostname: hostname, routerID: routerID,
                                     templates: templates, user: compileUser)
        let choice: ReconcilerChoice
        if let frrConfig {
            var r = ReconcileOptions(frrConfig: frrConfig, template: template, stateDirectory: stateDir, reload: reload,
                                     frr: FRRControl(pathspace: frrPathspace), adopt: adopt, overrides: overrides)
            r.force = force
            r.runDirectory = runDirectory
            choice = .frr(.init(reconcile: r, source: bundle.map { .file($0) } ?? .compile(request),
                                cleanRequest: bundle == nil || config != nil ? request : nil, compileUser: compileUser,
                                bpfInterfaces: allowed, trustedNodeConfig: trusted, pinDirectory: bpfPinDirectory))
        } else {
            var links = LinksReconciler.Options(
                source: ops.map { .file($0) } ?? .compile(request), overrides: overrides, adopt: adopt,
                bpfInterfaces: allowed, trustedNodeConfig: trusted, pinDirectory: bpfPinDirectory,
                stepDelay: ProcessInfo.processInfo.environment["VRFC_AGENT_STEP_DELAY_MS"].flatMap(Int.init).map { .milliseconds($0) })
            links.force = force
            links.runDirectory = runDirectory
            links.compileUser = compileUser
            choice = .links(links)
        }
        let setup = AgentSetup(
            reconciler: choice,
            agentOptions: AgentOptions(
                debounce: seconds(debounce), interval: interval == 0 ? nil : seconds(interval),
                preHook: preHook, postHook: postHook, hookTimeout: seconds(hookTimeout)),
            netns: netns,
            watched: (ops.map { [$0] } ?? bundle.map { [$0] } ?? [configPath] + inputs) + (template.map { [$0] } ?? []),
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
        let agent = Agent(reconciler: reconciler, options: agentOptions, logger: logger)
        let o = agentOptions

        var watcher: InputWatcher?
        if mode == .daemon {
            do throws(WatchError) {
                watcher = try InputWatcher(paths: watched) { agent.inputChanged($0) }
            } catch {
                logger.critical("cannot watch the inputs", metadata: ["error": .string(error.description)])
                return AgentExit.failed
            }
            logger.info("agent started", metadata: [
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
        let group = ServiceGroup(configuration: .init(
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

// `--reload` for both `apply` and `agent` (vrfc-apply imports this module).
extension ReloadStrategy: ExpressibleByArgument {}
