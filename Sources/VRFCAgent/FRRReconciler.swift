import Foundation
import Logging
import VRFCApply
import VRFCBPF
import VRFCKernel
import VRFCModel

/// The whole node's reconcile (`--frr-config`): VRFCApply's `Reconcile`
/// (compile in the unprivileged child → links down → frr.conf → reload →
/// verify → links up → stale links deleted), run on the agent's kernel
/// thread. Invalid inputs stop it at the compile, before anything changes,
/// so the node stays on the last configuration FRR verified.
public final class FRRReconciler: Reconciler, @unchecked Sendable {
    public struct Options: Sendable {
        public var reconcile: ReconcileOptions
        /// The inputs, or a ready bundle.
        public var source: BundleSource
        /// `--clean` compiles the node config with no CR at all (this
        /// request, its inputs empty): a frr.conf without generated sections
        /// and no links.
        public var cleanRequest: CompileRequest?
        /// Where the router may be attached besides vrfc's links.
        public var trust: TrustSources
        public var pinDirectory: String

        public init(
            reconcile: ReconcileOptions, source: BundleSource, cleanRequest: CompileRequest?, trust: TrustSources,
            pinDirectory: String
        ) {
            self.reconcile = reconcile
            self.source = source
            self.cleanRequest = cleanRequest.map {
                var r = $0
                r.inputs = []
                return r
            }
            self.trust = trust
            self.pinDirectory = pinDirectory
        }
    }

    let options: Options
    let thread: KernelThread
    let logger: Logger
    let attacher: TCRouterAttacher

    public init(options: Options, thread: KernelThread, logger: Logger) {
        self.options = options
        self.thread = thread
        self.logger = logger
        attacher = TCRouterAttacher(pinDirectory: options.pinDirectory)
    }

    public func reconcile(_ trigger: Trigger, stop: StopRequest) async -> ReconcileOutcome {
        await thread.run { self.run(self.options.source, trigger: trigger, stop: stop) }
    }

    public func clean(stop: StopRequest) async -> ReconcileOutcome {
        guard let none = options.cleanRequest else {
            return ReconcileOutcome(
                result: .failed, error: "--clean with --frr-config compiles the node config without CRs: pass --config FILE")
        }
        let outcome = await thread.run { self.run(.compile(none), trigger: .clean, stop: stop) }
        if outcome.result == .ok { BPFFS.remove(directory: options.pinDirectory) }
        return outcome
    }

    func run(_ source: BundleSource, trigger: Trigger, stop: StopRequest) -> ReconcileOutcome {
        // Nothing has changed before Reconcile starts: the one stop point
        // outside it (it runs links down → reload → links up as one step).
        if stop.isRequested { return ReconcileOutcome(result: .stopped) }
        var options = options.reconcile
        var source = source
        do throws(ApplyError) {
            let (trust, text) = try self.options.trust.read()
            options.trust = trust
            // The inputs are compiled from the very bytes the trust was read from.
            source = source.withConfig(text, readFrom: self.options.trust.nodeConfig)
        } catch {
            return ReconcileOutcome(result: .invalid, error: error.message)
        }
        var changes = 0
        var run = Reconcile(options: options, source: source, attacher: attacher) { [logger] line in
            if line.hasPrefix("  ") { changes += 1 }
            logger.info("reconcile", metadata: ["trigger": .string(trigger.rawValue), "step": .string(line)])
        }
        defer { if let reload = run.reloadRecord { AgentMetrics.record(reload) } }
        do throws(ApplyError) {
            switch try run.run() {
            case .refused(let plan):
                return ReconcileOutcome(result: .failed, error: Report.text(plan) + "refused; nothing was changed")
            case .done(let after):
                if !after.inSync {
                    return ReconcileOutcome(
                        result: .failed, changes: changes,
                        error: "after applying, the kernel still differs from the op list:\n" + Report.text(after))
                }
                // Routes whose link-local gateway is not known yet: the rest is done.
                for u in after.unresolved { logger.warning("unresolved", metadata: ["route": .string(u)]) }
                return ReconcileOutcome(result: .ok, changes: changes)
            }
        } catch {
            // An input error ends the compile before any change.
            return ReconcileOutcome(result: error.isInputError ? .invalid : .failed, changes: changes, error: error.message)
        }
    }
}
