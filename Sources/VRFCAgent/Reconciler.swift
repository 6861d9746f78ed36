import Synchronization

/// Why a reconcile runs. Hooks see it as VRFC_TRIGGER.
public enum Trigger: String, Sendable, CaseIterable {
    /// The agent started.
    case start
    /// An input file changed (after the debounce window).
    case change
    /// The periodic timer: repairs drift nobody announced (a deleted link).
    case timer
    /// SIGHUP.
    case signal
    /// `--oneshot`.
    case oneshot
    /// `--clean`.
    case clean
}

/// What a reconcile did. Hooks see `result` as VRFC_RESULT.
public struct ReconcileOutcome: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// The node matches the inputs (`changes` says how many changes that took).
        case ok
        /// The inputs are invalid: the node was held at the last good intent
        /// (repaired towards it if it drifted), nothing was torn down.
        case invalid
        /// Applying failed; the error says what and where.
        case failed
        /// A stop was requested before anything was changed.
        case stopped
        /// The pre-reconcile hook failed, so this reconcile did not run.
        case skipped
    }

    public var result: Result
    /// Kernel (and, with FRR, config) changes made; each is logged as it is made.
    public var changes: Int
    /// Every error, one per line (input errors, a failed step, a hook).
    public var error: String?

    public init(result: Result, changes: Int = 0, error: String? = nil) {
        self.result = result
        self.changes = changes
        self.error = error
    }

    /// `--oneshot`/`--clean` exit status: 0 for ok, 1 for anything else.
    public var succeeded: Bool { result == .ok }
}

/// A stop request (SIGTERM/SIGINT) that a reconcile consults only at points
/// where stopping leaves the node consistent: never between "links down" and
/// "links up", never half-way through a plan.
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func request() { flag.store(true, ordering: .sequentiallyConsistent) }
    public var isRequested: Bool { flag.load(ordering: .sequentiallyConsistent) }
}

/// The seam between the agent (when to reconcile) and the reconcile itself
/// (what a reconcile does to the node). The agent calls one method at a time,
/// never concurrently.
///
/// `reconcile` returns an outcome for everything the node can do wrong
/// (invalid inputs, a failed netlink request, a refused plan): the agent logs
/// it, hands it to the hooks and carries on. It checks `stop` only where
/// stopping leaves the node consistent and then returns `.stopped`.
public protocol Reconciler: Sendable {
    func reconcile(_ trigger: Trigger, stop: StopRequest) async -> ReconcileOutcome
    /// Removes everything vrfc owns on the node (its links and router
    /// attachments; with FRR, its generated sections), then returns.
    func clean(stop: StopRequest) async -> ReconcileOutcome
}
