import Foundation
import Logging
import VRFCApply
import VRFCBPF
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// Today's reconcile: what `vrfc-apply apply` does (compile the inputs, plan
/// against the live kernel, execute, read back until a fresh plan is in
/// sync), links and router attachments only, built from the same library
/// parts. The full reconcile (links down, frr.conf, FRR reload, verify,
/// links up) replaces it behind the same `Reconciler` seam.
///
/// Everything kernel-facing runs on one `KernelThread` inside the managed
/// namespace; `lastGood` and the attacher are touched only there.
public final class LinksReconciler: Reconciler, @unchecked Sendable {
    public struct Options: Sendable {
        public var source: OpListSource
        public var overrides: NodeOverrides
        public var adopt: Bool
        /// Where the router may be attached besides vrfc's links.
        public var trust: TrustSources
        /// Delete vrfc's bridges and VRFs even with foreign ports enslaved.
        public var force = false
        /// The creation log and clsact record (`--run-dir`).
        public var runDirectory = StateDirectory.defaultPath
        /// The owned tables' names for iproute2 (`--table-names-file`).
        public var tableNames: TableNamesFile? = TableNamesFile()
        public var pinDirectory: String
        /// Told each kernel change as it is made, after it is logged (tests
        /// pause here so that a signal lands while a plan is being executed).
        public var onChange: (@Sendable (Step) -> Void)?

        public init(
            source: OpListSource, overrides: NodeOverrides = NodeOverrides(), adopt: Bool = false,
            trust: TrustSources = TrustSources(), pinDirectory: String = TCRouterAttacher.defaultPinDirectory
        ) {
            self.source = source
            self.overrides = overrides
            self.adopt = adopt
            self.trust = trust
            self.pinDirectory = pinDirectory
        }
    }

    let options: Options
    let thread: KernelThread
    /// Each kernel change is logged as it is made.
    let logger: Logger
    /// One attacher for the agent's life: the program is loaded (and
    /// verified) once, not at every periodic reconcile.
    let attacher: TCRouterAttacher
    /// The last op list compiled from valid inputs: what the node is held
    /// at while the inputs are invalid.
    private var lastGood: OpList?

    public init(options: Options, thread: KernelThread, logger: Logger) {
        self.options = options
        self.thread = thread
        self.logger = logger
        attacher = TCRouterAttacher(pinDirectory: options.pinDirectory)
    }

    public func reconcile(_ trigger: Trigger, stop: StopRequest) async -> ReconcileOutcome {
        await thread.run { self.reconcileOnThread(stop, trigger) }
    }

    public func clean(stop: StopRequest) async -> ReconcileOutcome {
        await thread.run { self.cleanOnThread(stop) }
    }

    func reconcileOnThread(_ stop: StopRequest, _ trigger: Trigger) -> ReconcileOutcome {
        var inputError: String?
        let ops: OpList
        do throws(ApplyError) {
            let (trust, text) = try options.trust.read()
            // The op list is compiled from the very bytes the trust was read from.
            ops = try OpListLoader.load(
                options.source.withConfig(text, readFrom: options.trust.nodeConfig),
                overrides: options.overrides, trust: trust)
            lastGood = ops
        } catch {
            inputError = error.message
            guard let good = lastGood else {
                // Nothing valid seen yet: leave the node exactly as it is.
                return ReconcileOutcome(result: .invalid, error: error.message)
            }
            ops = good
        }
        if stop.isRequested { return ReconcileOutcome(result: .stopped) }
        var outcome = apply(ops, stop: stop, trigger: trigger)
        if let inputError, outcome.result == .ok {
            outcome.result = .invalid
            outcome.error = inputError
        }
        return outcome
    }

    func cleanOnThread(_ stop: StopRequest) -> ReconcileOutcome {
        let none = OpList(underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [])
        let outcome = apply(none, stop: stop, trigger: .clean)
        if outcome.result == .ok {
            lastGood = nil
            // No interface runs the program any more: its pinned maps go too.
            BPFFS.remove(directory: options.pinDirectory)
        }
        return outcome
    }

    /// Plan, execute, read back: the sequence of `vrfc-apply apply`
    /// (VRFCApply's LinkSession), with a stop point before the first change.
    func apply(_ ops: OpList, stop: StopRequest, trigger: Trigger) -> ReconcileOutcome {
        func failed(_ message: String, changes: Int = 0) -> ReconcileOutcome {
            ReconcileOutcome(result: .failed, changes: changes, error: message)
        }
        var done = 0
        do throws(ApplyError) {
            let session = try LinkSession(
                ops: ops, adopt: options.adopt, force: options.force, attacher: attacher,
                runDirectory: options.runDirectory, tableNames: options.tableNames, exclusive: true)
            let (snap, plan) = try session.snapshotAndPlan()
            try session.compact(snap)
            if !LinkSession.executable(plan) {
                return failed(Report.text(plan) + "refused; nothing was changed")
            }
            // Routes whose link-local gateway is not known yet: the rest goes on.
            for u in plan.unresolved { logger.warning("unresolved", metadata: ["route": .string(u)]) }
            if plan.inSync {
                try session.creationLog().remove()  // whatever it lists is marked or gone
                return ReconcileOutcome(result: .ok)
            }
            // The last point where stopping changes nothing.
            if stop.isRequested { return ReconcileOutcome(result: .stopped) }
            try session.execute(plan, snapshot: snap) { [logger, options] step in
                done += 1
                logger.info("changed", metadata: ["trigger": .string(trigger.rawValue), "step": .string(step.report.description)])
                options.onChange?(step)
            }
            // Done only when a fresh plan is in sync.
            let (_, after) = try session.snapshotAndPlan(adopt: false)
            if !after.inSync {
                return failed("after applying, the kernel still differs from the op list:\n" + Report.text(after), changes: done)
            }
            return ReconcileOutcome(result: .ok, changes: done)
        } catch {
            return failed(error.message, changes: done)
        }
    }
}
