import ArgumentParser
import Foundation
import VRFCAgent
import VRFCApply
import VRFCBPF
import VRFCCLI
import VRFCHealth
import VRFCMetrics
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// Exit codes are a contract for scripts: 0 done / in sync, 1 refused or
/// failed (nothing changed when refused), 2 usage (VRFCCLI), 3 `plan`:
/// changes pending, 4 `plan`: part of the state could not be read, so it
/// cannot say whether the node is in sync.
enum Exit {
    static let failed: Int32 = 1
    static let pending: Int32 = 3
    static let incomplete: Int32 = 4
}

@main
struct VRFCApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrfc-apply",
        abstract: "Make the kernel's links match vrfc's op list (the privileged half of vrfc).",
        discussion: """
        vrfc-apply compares the op list (compiled from the node config and CRs, or read \
        with --ops from `vrfc compile --emit ops`) with the live kernel over netlink and \
        changes only the difference. It owns only links named \(StackLink.prefixes.joined(separator: "/"))<vrf> \
        that carry its marker (alias \(VRFNames.markerPrefix)<vrf>); other links are reported, never changed.

        Exit status: 0 done or in sync, 1 refused or failed, 2 usage error, \
        3 (plan) changes pending, 4 (plan) part of the state could not be read.
        """,
        subcommands: [Plan.self, Apply.self, AgentCommand.self, BPFCommand.self, HealthCommand.self, MetricsCommand.self]
    )

    static func main() { runWithUsageExit() }
}

struct Inputs: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node config, as for vrfc compile (default: $OPERATOR_CONFIG or /opt/network-operator/config.yaml). It must be owned by root and not writable by group or others: its bpfInterfaces are the interfaces besides vrfc's own that the tc router may be attached to. With --ops or --bundle, only that list is read from it.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("A ready op list (vrfc compile --emit ops), or '-' for stdin, instead of compiling INPUT.", valueName: "FILE"))
    var ops: String?

    @Option(name: .long, help: ArgumentHelp("A ready bundle (vrfc compile --emit bundle: op list, frr.conf, IR) instead of compiling INPUT.", valueName: "FILE"))
    var bundle: String?

    @Option(name: .customLong("bpf-interface"), help: ArgumentHelp("An interface besides vrfc's own links that the tc router may be attached to (repeatable). The op list's router attachments must be vrfc's links, these, or the --config file's bpfInterfaces.", valueName: "IFNAME"))
    var bpfInterfaces: [String] = []

    @Flag(name: .long, help: "Delete vrfc's bridges and VRFs that are no longer wanted even when interfaces that are not vrfc's are enslaved to them (they are detached).")
    var force = false

    @Option(name: .customLong("run-dir"), help: ArgumentHelp("Where the creation log and the clsact record live (tmpfs: they describe this boot's links); a root-owned directory of mode 0700 (created so).", valueName: "DIR"))
    var runDirectory = StateDirectory.defaultPath

    @Option(name: .long, help: ArgumentHelp("Underlay interface whose single IPv4 address is the VTEP address (default: the op list's, dum.underlay).", valueName: "IFNAME"))
    var underlay: String?

    @Option(name: .customLong("table-range"), help: ArgumentHelp("Routing tables for new VRFs (default: the op list's, 50-79). Widen it for many VRFs, e.g. 1000-1999.", valueName: "FIRST-LAST"))
    var tableRange: String?

    @Flag(name: .long, help: "Take over links with vrfc's names that match its settings exactly but lack its marker (e.g. made by the Go network-operator).")
    var adopt = false

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Work in the named network namespace (/run/netns/NAME), like ip -n. Unlike `ip netns exec`, whose private /sys hides the host's bpffs, it keeps the router's maps pinned (without pins vrfc finds them through the kernel).", valueName: "NAME"))
    var netns: String?

    @Option(name: .customLong("bpf-pin-dir"), help: ArgumentHelp("Where the tc router program's maps are pinned (bpffs).", valueName: "DIR"))
    var bpfPinDirectory = TCRouterAttacher.defaultPinDirectory

    @Option(name: .customLong("compile-user"), help: ArgumentHelp("The unprivileged account that compiles the inputs when vrfc-apply runs as root (vrfc next to vrfc-apply, as a child without capabilities).", valueName: "USER"))
    var compileUser = CompileRequest.defaultUser

    @Option(name: .long, help: ArgumentHelp("Router-id of the generated BGP instances and {{.UnderlayRouterID}} (as for vrfc compile).", valueName: "IPV4"))
    var routerID: String?

    @Option(name: .long, help: ArgumentHelp("Value of {{.Hostname}} in the base config (as for vrfc compile).", valueName: "NAME"))
    var hostname: String?

    @Option(name: .long, help: ArgumentHelp("Directory of section templates replacing the shipped ones (as for vrfc compile).", valueName: "DIR"))
    var templates: String?

    @Argument(help: ArgumentHelp("VRFRouteConfiguration files or directories, as for vrfc compile.", valueName: "INPUT"))
    var inputs: [String] = []

    func validate() throws {
        if [ops != nil, bundle != nil, !inputs.isEmpty].filter({ $0 }).count > 1 {
            throw ValidationError("pass one of --ops FILE, --bundle FILE, or INPUT... (with --config FILE)")
        }
        for b in bpfInterfaces {
            do { _ = try InterfaceName(validating: b) } catch { throw ValidationError("--bpf-interface '\(b)': expected \(error.expected)") }
        }
        if ops == nil && bundle == nil && inputs.isEmpty {
            throw ValidationError("no op list: pass --ops FILE, or --config FILE and INPUT... (CR files or directories)")
        }
        if let u = underlay {
            do { _ = try InterfaceName(validating: u) } catch { throw ValidationError("--underlay '\(u)': expected \(error.expected)") }
        }
        if let r = tableRange, TableRange(parsing: r) == nil {
            throw ValidationError("--table-range '\(r)': expected \(TableRange.rule)")
        }
    }

    var source: OpListSource {
        if let ops { return .file(ops) }
        if let bundle { return .bundle(bundle) }
        return .compile(compileRequest)
    }

    var nodeConfig: String {
        config ?? ProcessInfo.processInfo.environment["OPERATOR_CONFIG"] ?? "/opt/network-operator/config.yaml"
    }

    var compileRequest: CompileRequest {
        CompileRequest(config: nodeConfig, inputs: inputs, hostname: hostname, routerID: routerID, templates: templates, user: compileUser)
    }

    /// What the op list's router attachments may name besides vrfc's links:
    /// only what root controls (--bpf-interface, the root-owned node config,
    /// compiled alone by the unprivileged child).
    func trusted() -> (AttachmentTrust, Data?) {
        do throws(ApplyError) {
            return try AttachmentTrust.read(bpfInterfaces: bpfInterfaces.compactMap { try? InterfaceName(validating: $0) },
                                            nodeConfig: config != nil || !inputs.isEmpty ? nodeConfig : nil,
                                            compileUser: compileUser)
        } catch {
            fail(error.message)
        }
    }

    var overrides: NodeOverrides {
        NodeOverrides(underlay: underlay.flatMap { try? InterfaceName(validating: $0) },
                      tableRange: tableRange.flatMap { TableRange(parsing: $0) })
    }

    /// Enters --netns before any socket (netlink, lock) is opened.
    func enterNamespace() {
        guard let netns else { return }
        do throws(NetlinkError) {
            try NetlinkSocket.enterNamespace(netns)
        } catch {
            fail("\(error)")
        }
    }

    func loadOps() throws -> OpList {
        do throws(ApplyError) {
            let (trust, text) = trusted()
            // The op list is compiled from the very bytes the trust was read from.
            return try OpListLoader.load(source.withConfig(text, readFrom: nodeConfig), overrides: overrides, trust: trust)
        } catch {
            fail(error.message)
        }
    }
}

func fail(_ message: String, code: Int32 = Exit.failed) -> Never {
    FileHandle.standardError.write(Data(("vrfc-apply: " + message + "\n").utf8))
    exit(code)
}

func printOut(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

extension Inputs {
    /// The tc router program (bpf/router.c, embedded at build time). One
    /// instance per run, so the snapshot, the executor and the read-back
    /// share one loaded program.
    func routerAttacher() -> any RouterAttacher {
        TCRouterAttacher(pinDirectory: bpfPinDirectory)
    }

    func session(_ ops: OpList, exclusive: Bool) throws(ApplyError) -> LinkSession {
        try LinkSession(ops: ops, adopt: adopt, force: force, attacher: routerAttacher(), runDirectory: runDirectory, exclusive: exclusive)
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what apply would change (needs no privileges).",
        discussion: "Exit status: 0 in sync, 3 changes pending, 1 refused (apply would change nothing and the messages say why), 2 usage error, 4 part of the state could not be read (e.g. the tc router's state or the creation log without privileges; the output says what), so the plan cannot say whether the node is in sync."
    )

    @OptionGroup var inputs: Inputs

    func run() throws {
        let ops = try inputs.loadOps()
        inputs.enterNamespace()
        let plan: VRFCApply.Plan
        do throws(ApplyError) {
            plan = try inputs.session(ops, exclusive: false).snapshotAndPlan().1
        } catch {
            fail(error.message)
        }
        if inputs.json {
            printOut(JSONOutput.encode(PlanReport(plan)))
        } else {
            printOut(Report.text(plan))
        }
        if !plan.problems.isEmpty { throw ExitCode(Exit.failed) }
        if !plan.complete { throw ExitCode(Exit.incomplete) }
        if !plan.inSync { throw ExitCode(Exit.pending) }
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change the kernel's links to match the op list, and with --frr-config write frr.conf and reload FRR (needs CAP_NET_ADMIN).",
        discussion: """
        Order: delete links that must be re-created (type or VXLAN settings changed, or \
        their VNI moves to another VRF); create missing links (down, with every setting; each creation is logged first in \
        /run/vrfc so an interrupted run's links are recognised) and fix attributes, masters first; attach the tc router program; bring the links \
        up; delete vrfc's links that are no longer wanted.

        With --frr-config PATH the run is the whole reconcile: compile (as an unprivileged \
        child) → vtysh --dryrun on the new frr.conf → links created and fixed, down → \
        frr.conf written atomically → FRR reloaded (--reload; default delta where vrfc knows \
        what FRR runs, else frr-reload) → FRR verified to run it → links up → links no \
        longer wanted deleted. A failed reload or verification restores the last known \
        good frr.conf (kept in --state-dir) and its links, and exits 1. Without \
        --frr-config, links are brought up at the end of the run.

        Safe to interrupt: a rerun converges. A second apply changes nothing.
        Exit status: 0 done (or nothing to do), 1 refused or failed, 2 usage error.
        """
    )

    @OptionGroup var inputs: Inputs

    @Option(name: .customLong("frr-config"), help: ArgumentHelp("Also write this frr.conf and reload FRR, between creating the links (down) and bringing them up.", valueName: "PATH"))
    var frrConfig: String?

    @Option(name: .long, help: ArgumentHelp("With --frr-config: the hinted base config (default: the file at --frr-config while it has hint lines, else the base kept in --state-dir).", valueName: "FILE"))
    var template: String?

    @Option(name: .long, help: ArgumentHelp("With --frr-config: systemd (ReloadUnit frr.service over D-Bus, waiting for the job's result), frr-reload (FRR's frr-reload.py), delta (vrfc's own difference from the config FRR runs, one vtysh -f) or none (write only). Default: delta where vrfc knows what FRR runs, else systemd on systemd hosts, else frr-reload.", valueName: "systemd|frr-reload|delta|none"))
    var reload: ReloadStrategy?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where the last known good frr.conf, its IR and the base config are kept (root only, 0700).", valueName: "DIR"))
    var stateDir = KeptState.defaultDirectory

    @Option(name: .customLong("frr-pathspace"), help: ArgumentHelp("Talk to the FRR started with -N NAME (vtysh -N NAME), e.g. a second instance.", valueName: "NAME"))
    var frrPathspace: String?

    func validate() throws {
        if frrConfig == nil && (template != nil || reload != nil || frrPathspace != nil) {
            throw ValidationError("--template, --reload and --frr-pathspace go with --frr-config PATH")
        }
    }

    func run() throws {
        guard Privileges.hasNetAdmin() else {
            fail("apply needs CAP_NET_ADMIN (run it as root); nothing was changed. 'vrfc-apply plan' shows the changes without privileges")
        }
        if let frrConfig { return try reconcile(frrConfig) }
        var timer = PhaseTimer()
        let ops = try inputs.loadOps()
        timer.mark("op list")
        inputs.enterNamespace()
        let json = inputs.json
        let outcome: LinkApplyOutcome
        do throws(ApplyError) {
            let session = try inputs.session(ops, exclusive: true)
            outcome = try LinkApply.run(session, announce: { plan in
                if !json { printOut("applying \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s"):\n") }
            }, onStep: { step in
                if !json { printOut("  \(step.report)\n") }
            })
        } catch {
            fail(error.message)
        }
        switch outcome {
        case .refused(let plan):
            if json { printOut(JSONOutput.encode(PlanReport(plan))) } else { printOut(Report.text(plan)) }
            throw ExitCode(Exit.failed)
        case .inSync(let plan):
            if json { printOut(JSONOutput.encode(PlanReport(plan))) } else { printOut(Report.text(plan)) }
        case .applied(let plan, let after):
            if json {
                printOut(JSONOutput.encode(PlanReport(plan)))
            } else {
                printOut("done: \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") applied; links brought up at the end (no --frr-config: FRR not touched)\n")
                printOut(Report.trailer(after))
            }
            if !after.inSync {
                fail("after applying, the kernel still differs from the op list:\n" + Report.text(after))
            }
        }
    }
}


extension Apply {
    /// `apply --frr-config`: the whole node, links and FRR (Reconcile).
    func reconcile(_ frrConfig: String) throws {
        inputs.enterNamespace()
        var options = ReconcileOptions(frrConfig: frrConfig, template: template, stateDirectory: stateDir, reload: reload,
                                       frr: FRRControl(pathspace: frrPathspace), adopt: inputs.adopt, overrides: inputs.overrides)
        let (trust, text) = inputs.trusted()
        options.trust = trust
        options.force = inputs.force
        options.runDirectory = inputs.runDirectory
        let source: BundleSource = inputs.bundle.map { .file($0) } ?? .compile(inputs.compileRequest.withConfig(text, readFrom: inputs.nodeConfig))
        var run = Reconcile(options: options, source: source, attacher: inputs.routerAttacher()) { line in
            printOut(line + "\n")
        }
        let outcome: VRFCApply.ReconcileOutcome
        do throws(ApplyError) {
            outcome = try run.run()
        } catch {
            fail(error.message)
        }
        switch outcome {
        case .refused(let plan):
            printOut(Report.text(plan))
            throw ExitCode(Exit.failed)
        case .done(let after):
            printOut(Report.trailer(after))
            if !after.inSync {
                fail("after applying, the kernel still differs from the op list:\n" + Report.text(after))
            }
            printOut("done\n")
        }
    }
}

/// `vrfc-apply bpf ...`: the tc router program's side of the applier.
struct BPFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bpf",
        abstract: "The tc router program (bpf/router.c).",
        subcommands: [Stats.self]
    )

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the router's counters per outcome and per FIB lookup result.",
            discussion: """
            The counters are summed over all CPUs from the maps pinned under --pin-dir, \
            shared by every interface running the program; without pins (e.g. under \
            `ip netns exec`, whose private /sys hides bpffs), from the maps of the router \
            instances attached in this network namespace, found through the kernel. \
            They survive vrfc-apply runs; \
            a reboot, or a build with another counter layout, starts them from zero. \
            Outcomes: routed and routed_neigh were forwarded by the program; pass_* went up \
            the kernel's stack (pass_fib: see the FIB results for why).
            """
        )

        @Flag(name: .long, help: "Print JSON instead of tables.")
        var json = false

        @Option(name: .customLong("pin-dir"), help: ArgumentHelp("Where the maps are pinned.", valueName: "DIR"))
        var pinDirectory = RouterStats.defaultPinDirectory

        func run() throws {
            do throws(BPFError) {
                let stats = try RouterStats.readPinnedOrAttached(pinDirectory: pinDirectory)
                FileHandle.standardOutput.write(Data((json ? stats.json() : stats.table()).utf8))
            } catch {
                FileHandle.standardError.write(Data("vrfc-apply: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
