import ArgumentParser
import Foundation
import VRFCAgent
import VRFCApply
import VRFCBPF
import VRFCCLI
import VRFCDriver
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
        changes only the difference. It owns only links named vr./br./vx./vd./dv.<vrf> \
        that carry its marker (alias vrfc:v1:<vrf>); other links are reported, never changed.

        Exit status: 0 done or in sync, 1 refused or failed, 2 usage error, \
        3 (plan) changes pending, 4 (plan) part of the state could not be read.
        """,
        subcommands: [Plan.self, Apply.self, AgentCommand.self, BPFCommand.self, HealthCommand.self, MetricsCommand.self]
    )

    static func main() { runWithUsageExit() }
}

struct Inputs: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node config, as for vrfc compile (default: $OPERATOR_CONFIG or /opt/network-operator/config.yaml). It must be owned by root and not writable by group or others: its bpfInterfaces are the interfaces besides vrfc's own that the tc router may be attached to. With --ops, only that list is read from it.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("A ready op list (vrfc compile --emit ops), or '-' for stdin, instead of compiling INPUT.", valueName: "FILE"))
    var ops: String?

    @Option(name: .customLong("bpf-interface"), help: ArgumentHelp("An interface besides vrfc's own links that the tc router may be attached to (repeatable). The op list's router attachments must be vrfc's links, these, or the --config file's bpfInterfaces.", valueName: "IFNAME"))
    var bpfInterfaces: [String] = []

    @Flag(name: .long, help: "Delete vrfc's bridges and VRFs that are no longer wanted even when interfaces that are not vrfc's are enslaved to them (they are detached).")
    var force = false

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where the creation log and the clsact record live; a root-owned directory of mode 0700 (created so).", valueName: "DIR"))
    var stateDirectory = StateDirectory.defaultPath

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

    @Argument(help: ArgumentHelp("VRFRouteConfiguration files or directories, as for vrfc compile.", valueName: "INPUT"))
    var inputs: [String] = []

    func validate() throws {
        if ops != nil && !inputs.isEmpty {
            throw ValidationError("pass either --ops FILE or INPUT... (with --config FILE), not both")
        }
        for b in bpfInterfaces {
            do { _ = try InterfaceName(validating: b) } catch { throw ValidationError("--bpf-interface '\(b)': expected \(error.expected)") }
        }
        if ops == nil && inputs.isEmpty {
            throw ValidationError("no op list: pass --ops FILE, or --config FILE and INPUT... (CR files or directories)")
        }
        if let u = underlay {
            do { _ = try InterfaceName(validating: u) } catch { throw ValidationError("--underlay '\(u)': expected \(error.expected)") }
        }
        if let r = tableRange, TableRange(parsing: r) == nil {
            throw ValidationError("--table-range '\(r)': expected \(TableRange.rule)")
        }
    }

    var nodeConfig: String {
        config ?? ProcessInfo.processInfo.environment["OPERATOR_CONFIG"] ?? "/opt/network-operator/config.yaml"
    }

    var source: OpListSource {
        if let ops { return .file(ops) }
        return .compile(config: nodeConfig, inputs: inputs)
    }

    /// What the op list's router attachments may name besides vrfc's links:
    /// only what root controls (--bpf-interface, the root-owned node config).
    func trust() -> AttachmentTrust {
        do throws(ApplyError) {
            return try AttachmentTrust.of(bpfInterfaces: bpfInterfaces.compactMap { try? InterfaceName(validating: $0) },
                                          nodeConfig: config != nil || ops == nil ? nodeConfig : nil)
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
            return try OpListLoader.load(source, overrides: overrides, trust: trust())
        } catch {
            fail(error.message)
        }
    }
}

/// `VRFC_APPLY_TIMING=1`: phase durations on stderr (for benchmarks).
struct PhaseTimer {
    let enabled = ProcessInfo.processInfo.environment["VRFC_APPLY_TIMING"] == "1"
    var last = DispatchTime.now()

    mutating func mark(_ phase: String) {
        guard enabled else { return }
        let now = DispatchTime.now()
        let ms = Double(now.uptimeNanoseconds - last.uptimeNanoseconds) / 1e6
        FileHandle.standardError.write(Data("timing: \(phase) \(String(format: "%.1f", ms)) ms\n".utf8))
        last = now
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
}

extension Inputs {
    func creationLog(_ socket: NetlinkSocket) -> CreationLog {
        do throws(NetlinkError) {
            return CreationLog(namespaceCookie: try socket.namespaceCookie(), state: StateDirectory(stateDirectory))
        } catch {
            fail("\(error)")
        }
    }

    func clsactRecord(_ socket: NetlinkSocket) -> ClsactRecord {
        do throws(NetlinkError) {
            return ClsactRecord(namespaceCookie: try socket.namespaceCookie(), state: StateDirectory(stateDirectory))
        } catch {
            fail("\(error)")
        }
    }
}

func snapshotAndPlan(_ socket: NetlinkSocket, _ ops: OpList, _ inputs: Inputs, adopt: Bool, attacher: any RouterAttacher) -> (KernelSnapshot, VRFCApply.Plan) {
    do throws(NetlinkError) {
        var timer = PhaseTimer()
        let snap = try KernelSnapshot.read(socket, attacher: attacher, log: inputs.creationLog(socket), clsact: inputs.clsactRecord(socket))
        timer.mark("  read kernel")
        let plan = Planner.plan(ops, snap, options: PlanOptions(adopt: adopt, force: inputs.force))
        timer.mark("  plan")
        return (snap, plan)
    } catch {
        fail("reading the kernel's state: \(error)")
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
        let socket: NetlinkSocket
        do { socket = try NetlinkSocket() } catch { fail("\(error)") }
        let (_, plan) = snapshotAndPlan(socket, ops, inputs, adopt: inputs.adopt, attacher: inputs.routerAttacher())
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
        abstract: "Change the kernel's links to match the op list (needs CAP_NET_ADMIN).",
        discussion: """
        Order: delete links that must be re-created (type or VXLAN settings changed, or \
        their VNI moves to another VRF); create missing links (down, with every setting; each creation is logged first in \
        /run/vrfc so an interrupted run's links are recognised) and fix attributes, masters first; attach the tc router program; bring the links \
        up; delete vrfc's links that are no longer wanted.

        Bringing links up belongs after the FRR reload (SPEC); until the reload is wired \
        into vrfc-apply, apply brings them up itself at the end of the run.

        Safe to interrupt: a rerun converges. A second apply changes nothing.
        Exit status: 0 done (or nothing to do), 1 refused or failed, 2 usage error.
        """
    )

    @OptionGroup var inputs: Inputs

    func run() throws {
        guard Privileges.hasNetAdmin() else {
            fail("apply needs CAP_NET_ADMIN (run it as root); nothing was changed. 'vrfc-apply plan' shows the changes without privileges")
        }
        var timer = PhaseTimer()
        let ops = try inputs.loadOps()
        timer.mark("op list")
        inputs.enterNamespace()
        let lock: ApplyLock
        do { lock = try ApplyLock() } catch { fail(error.message) }
        defer { withExtendedLifetime(lock) {} }
        let socket: NetlinkSocket
        do { socket = try NetlinkSocket() } catch { fail("\(error)") }
        let attacher = inputs.routerAttacher()
        let (snap, plan) = snapshotAndPlan(socket, ops, inputs, adopt: inputs.adopt, attacher: attacher)
        timer.mark("read kernel + plan (\(snap.links.count) links)")
        // State entries that are resolved go first, even when the plan is refused.
        if snap.stateProblems.isEmpty {
            do throws(ApplyError) {
                try snap.compact(log: inputs.creationLog(socket), clsact: inputs.clsactRecord(socket))
            } catch {
                fail(error.message)
            }
        }
        if !plan.problems.isEmpty || !plan.complete {
            if inputs.json { printOut(JSONOutput.encode(PlanReport(plan))) } else { printOut(Report.text(plan)) }
            throw ExitCode(Exit.failed)
        }
        if plan.inSync {
            inputs.creationLog(socket).remove()  // whatever it lists is marked or gone
            if inputs.json { printOut(JSONOutput.encode(PlanReport(plan))) } else { printOut(Report.text(plan)) }
            return
        }
        let json = inputs.json
        if let n = ProcessInfo.processInfo.environment["VRFC_APPLY_EXIT_AFTER_CHANGES"].flatMap(Int.init) {
            socket.exitAfterChanges = n  // tests: end like kill -9 after n kernel changes
        }
        var executor = Executor(socket: socket, snapshot: snap, attacher: attacher, log: inputs.creationLog(socket),
                                clsact: inputs.clsactRecord(socket)) { step in
            if !json { printOut("  \(step.report)\n") }
        }
        if !json { printOut("applying \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s"):\n") }
        do throws(ApplyError) {
            try executor.run(plan)
        } catch {
            fail(error.message)
        }
        timer.mark("execute \(plan.steps.count) steps")
        // Read back: apply is done only when a fresh plan is in sync.
        let (_, after) = snapshotAndPlan(socket, ops, inputs, adopt: false, attacher: attacher)
        timer.mark("read back + plan")
        if json {
            printOut(JSONOutput.encode(PlanReport(plan)))
        } else {
            printOut("done: \(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") applied; links brought up at the end (FRR reload not wired yet)\n")
            printOut(Report.trailer(after))
        }
        if !after.inSync {
            fail("after applying, the kernel still differs from the op list:\n" + Report.text(after))
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
