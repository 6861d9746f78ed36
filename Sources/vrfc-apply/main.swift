import ArgumentParser
import Foundation
import VRFCAgent
import VRFCApply
import VRFCApplyCLI
import VRFCBPF
import VRFCCLI
import VRFCHealth
import VRFCKernel
import VRFCMetrics
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

    static func main() {
        if let plain = plainRun(CommandLine.arguments.dropFirst()) { run(plain: plain.run) }
        runWithUsageExit()
    }

    /// `plan` or `apply` read without swift-argument-parser when the command
    /// line is a plain one (see PlainArguments); nil: everything else, and
    /// whatever their checks refuse, goes through swift-argument-parser.
    static func plainRun(_ words: ArraySlice<String>) -> PlainRun? {
        guard let name = words.first, name == "plan" || name == "apply",
            let plain = PlainArguments(words.dropFirst(), frr: name == "apply")
        else { return nil }
        let run: PlainRun =
            if let frr = plain.frr {
                .apply(ApplyRun(node: plain.node, frr: frr, json: plain.json))
            } else {
                .plan(PlanRun(node: plain.node, json: plain.json))
            }
        guard (try? run.validate()) != nil else { return nil }
        return run
    }
}

/// `plan` or `apply` with its values, however they were read.
enum PlainRun: Equatable {
    case plan(PlanRun)
    case apply(ApplyRun)

    func validate() throws {
        switch self {
        case .plan(let p): try p.validate()
        case .apply(let a): try a.validate()
        }
    }

    func run() throws {
        switch self {
        case .plan(let p): try p.run()
        case .apply(let a): try a.run()
        }
    }
}

func fail(_ message: String, code: Int32 = Exit.failed) -> Never {
    ApplyCLI.fail(message, code: code)
}

/// Writes to stdout with write(2): FileHandle and Data cost every run a
/// dynamic cast (a scan of the conformance records) and Foundation objects
/// for a few lines. A failed write ends nothing: the exit status tells.
func printOut(_ s: String) {
    var s = s
    s.withUTF8 { text in
        var at = 0
        while at < text.count {
            let n = write(STDOUT_FILENO, text.baseAddress! + at, text.count - at)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            at += n
        }
    }
}

/// The steps apply reports as it goes: line by line on a terminal, else in
/// blocks (a thousand routes are a thousand lines, and as many writes).
final class ProgressLines {
    private var pending = ""
    private let terminal = isatty(STDOUT_FILENO) == 1

    func add(_ line: String) {
        pending += line
        if terminal || pending.utf8.count >= 1 << 15 { flush() }
    }

    func flush() {
        if !pending.isEmpty { printOut(pending) }
        pending = ""
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change (needs no privileges).",
        discussion:
            "Exit status: 0 in sync, 3 changes pending, 1 refused (apply would change nothing and the messages say why), 2 usage error, 4 part of the state could not be read (e.g. the tc router's state or the creation log without privileges; the output says what), so the plan cannot say whether the node is in sync."
    )

    @OptionGroup var inputs: NodeInputs

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    var values: PlanRun { PlanRun(node: inputs.settings, json: json) }
    func validate() throws { try values.validate() }
    func run() throws { try values.run() }
}

/// What `plan` does, on plain values (swift-argument-parser's or PlainArguments').
struct PlanRun: Equatable {
    let inputs: NodeSettings
    let json: Bool

    init(node: NodeSettings, json: Bool) {
        self.inputs = node
        self.json = json
    }

    func validate() throws { try inputs.requireOpList() }

    func run() throws {
        let ops = inputs.loadOps()
        inputs.enterNamespace()
        let plan: VRFCApply.Plan
        do throws(ApplyError) {
            plan = try inputs.session(ops, exclusive: false).snapshotAndPlan().1
        } catch {
            fail(error.message)
        }
        if json {
            printOut(JSONOutput.encode(PlanReport(plan)))
        } else {
            printOut(Report.text(plan))
        }
        if !plan.problems.isEmpty { throw ExitCode(Exit.failed) }
        // An unresolved link-local gateway is state the plan could not read.
        if !plan.complete || !plan.unresolved.isEmpty { throw ExitCode(Exit.incomplete) }
        if !plan.inSync { throw ExitCode(Exit.pending) }
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract:
            "Change the kernel's links to match the op list, and with --frr-config write frr.conf and reload FRR (needs CAP_NET_ADMIN).",
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

    @OptionGroup var inputs: NodeInputs

    @OptionGroup var frr: FRROptions

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    var values: ApplyRun { ApplyRun(node: inputs.settings, frr: frr.settings, json: json) }
    func validate() throws { try values.validate() }
    func run() throws { try values.run() }
}

/// What `apply` does, on plain values (swift-argument-parser's or PlainArguments').
struct ApplyRun: Equatable {
    let inputs: NodeSettings
    let frr: FRRSettings
    let json: Bool

    init(node: NodeSettings, frr: FRRSettings, json: Bool) {
        self.inputs = node
        self.frr = frr
        self.json = json
    }

    func validate() throws {
        try inputs.requireOpList()
        if frr.frrConfig == nil && (frr.template != nil || frr.reload != nil || frr.frrPathspace != nil) {
            throw ValidationError("--template, --reload and --frr-pathspace go with --frr-config PATH")
        }
    }

    func run() throws {
        guard Privileges.hasNetAdmin() else {
            fail("apply needs CAP_NET_ADMIN (run it as root); nothing was changed. 'vrfc-apply plan' shows the changes without privileges")
        }
        if let frrConfig = frr.frrConfig { return try reconcile(frrConfig) }
        var timer = PhaseTimer()
        let ops = inputs.loadOps()
        timer.mark("op list")
        inputs.enterNamespace()
        let json = self.json
        let outcome: LinkApplyOutcome
        let progress = ProgressLines()
        do throws(ApplyError) {
            let session = try inputs.session(ops, exclusive: true)
            outcome = try LinkApply.run(
                session,
                announce: { plan in
                    if !json { printOut("applying \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s"):\n") }
                },
                onStep: { step in
                    if !json { progress.add("  \(step.report)\n") }
                })
            progress.flush()
        } catch {
            progress.flush()
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
                printOut(
                    "done: \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") applied; links brought up at the end (no --frr-config: FRR not touched)\n"
                )
                printOut(Report.trailer(after))
            }
            if !after.inSync {
                fail("after applying, the kernel still differs from the op list:\n" + Report.text(after))
            }
        }
    }
}

extension ApplyRun {
    /// `apply --frr-config`: the whole node, links and FRR (Reconcile).
    func reconcile(_ frrConfig: String) throws {
        inputs.enterNamespace()
        var options = frr.reconcileOptions(frrConfig, inputs)
        let (trust, text) = inputs.trusted()
        options.trust = trust
        let source: BundleSource =
            inputs.bundle.map { .file($0) } ?? .compile(inputs.compileRequest.withConfig(text, readFrom: inputs.nodeConfig))
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
            commandName: "stats",
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
