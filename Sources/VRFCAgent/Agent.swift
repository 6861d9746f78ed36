import Foundation
import Logging
import Synchronization

/// The agent's mailbox: input changes and the stop request, posted from the
/// watcher thread and the signal handler, read by the agent's loop, which
/// waits here until something is posted or a deadline passes.
final class Inbox: Sendable {
    struct State {
        /// When the first change of the current window arrived.
        var windowStart: ContinuousClock.Instant?
        var changes = 0
        var firstChange: String?
        var stopped = false
        /// SIGHUP: reconcile now, without waiting for the window or the timer.
        var now = false
        /// Bumped by every post, so a wait never misses one made before it.
        var generation = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func change(_ what: String) {
        post { s in
            if s.windowStart == nil {
                s.windowStart = .now
                s.firstChange = what
            }
            s.changes += 1
        }
    }

    func stop() { post { $0.stopped = true } }

    func reconcileNow() { post { $0.now = true } }

    /// Takes a pending SIGHUP request.
    func takeNow() -> Bool {
        state.withLock { s in
            defer { s.now = false }
            return s.now
        }
    }

    private func post(_ update: (inout State) -> Void) {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            update(&s)
            s.generation += 1
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    var snapshot: State {
        state.withLock { s in
            var copy = State()
            copy.windowStart = s.windowStart
            copy.changes = s.changes
            copy.firstChange = s.firstChange
            copy.stopped = s.stopped
            copy.now = s.now
            copy.generation = s.generation
            return copy
        }
    }

    /// Takes the changes of the window that just closed.
    func takeChanges() -> (count: Int, first: String?) {
        state.withLock { s in
            defer {
                s.windowStart = nil
                s.changes = 0
                s.firstChange = nil
            }
            return (s.changes, s.firstChange)
        }
    }

    /// Returns when something is posted after `generation`, or at `deadline`.
    func wait(after generation: Int, until deadline: ContinuousClock.Instant?) async {
        let timer = deadline.map { d in
            Task { [self] in
                try? await Task.sleep(until: d, clock: .continuous)
                wake()
            }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.generation != generation { return true }
                s.waiter = c
                return false
            }
            if ready { c.resume() }
        }
        timer?.cancel()
    }

    private func wake() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }
}

/// When to reconcile and what happens around it.
public struct AgentOptions: Sendable {
    /// Changes within this window after the first one make one reconcile.
    public var debounce: Duration
    /// A reconcile this long after the previous one, changes or not; nil: never.
    public var interval: Duration?
    public var preHook: String?
    public var postHook: String?
    public var hookTimeout: Duration

    public init(
        debounce: Duration = .seconds(30), interval: Duration? = .seconds(60),
        preHook: String? = nil, postHook: String? = nil, hookTimeout: Duration = .seconds(30)
    ) {
        self.debounce = debounce
        self.interval = interval
        self.preHook = preHook
        self.postHook = postHook
        self.hookTimeout = hookTimeout
    }
}

/// The node agent: reconciles at start, after input changes (coalesced in
/// the debounce window), and on the periodic timer, with the hooks around
/// each reconcile. One reconcile at a time; a stop request is honoured
/// between reconciles, and inside one only where the reconciler allows.
public final class Agent: Sendable {
    let reconciler: any Reconciler
    let options: AgentOptions
    let logger: Logger
    let inbox = Inbox()
    public let stopRequest = StopRequest()
    /// Tells the service manager how the daemon is (`SystemdNotify.send`'s
    /// lines): READY=1 once the first reconcile has finished, so a
    /// `Type=notify` unit's `systemctl start` returns when the node has been
    /// reconciled; STATUS= after each reconcile; STOPPING=1.
    let notify: @Sendable ([String]) -> Void

    public init(
        reconciler: any Reconciler, options: AgentOptions, logger: Logger, notify: @escaping @Sendable ([String]) -> Void = { _ in }
    ) {
        self.reconciler = reconciler
        self.options = options
        self.logger = logger
        self.notify = notify
    }

    /// SIGHUP: reconcile at once (changes pending in the window stay pending).
    public func requestReconcile() {
        logger.info("SIGHUP: reconciling now")
        inbox.reconcileNow()
    }

    /// Called by the input watcher.
    public func inputChanged(_ what: String) {
        logger.debug("input changed", metadata: ["event": .string(what)])
        inbox.change(what)
    }

    /// SIGTERM/SIGINT: finish what is safe to finish, then return from `run`.
    public func requestStop() {
        if !stopRequest.isRequested {
            logger.info("stop requested; stopping after the current step")
            notify(["STOPPING=1"])
        }
        stopRequest.request()
        inbox.stop()
    }

    /// The daemon loop; returns after a stop request.
    public func run() async {
        let clock = ContinuousClock()
        // Ready whatever the first result: an agent with invalid inputs or a
        // failed step keeps running towards its inputs; the status says how.
        notify(["READY=1", status(.start, await reconcileOnce(.start))])
        var nextTimer = options.interval.map { clock.now + $0 }
        while true {
            let s = inbox.snapshot
            if s.stopped { break }
            if s.now && inbox.takeNow() {
                let outcome = await reconcileOnce(.signal)
                notify([status(.signal, outcome)])
                nextTimer = options.interval.map { clock.now + $0 }
                continue
            }
            let windowEnd = s.windowStart.map { $0 + options.debounce }
            if let end = windowEnd, end <= clock.now {
                let (count, first) = inbox.takeChanges()
                let outcome = await reconcileOnce(.change, metadata: ["coalesced": "\(count)", "first_event": .string(first ?? "")])
                notify([status(.change, outcome)])
                nextTimer = options.interval.map { clock.now + $0 }
                continue
            }
            if let t = nextTimer, t <= clock.now {
                let outcome = await reconcileOnce(.timer)
                notify([status(.timer, outcome)])
                nextTimer = options.interval.map { clock.now + $0 }
                continue
            }
            let deadline = [windowEnd, nextTimer].compactMap { $0 }.min()
            await inbox.wait(after: s.generation, until: deadline)
        }
        logger.info("agent stopped")
    }

    /// The unit's status line (`systemctl status`): the last reconcile.
    func status(_ trigger: Trigger, _ o: ReconcileOutcome) -> String {
        let first = (o.error ?? "").split(separator: "\n").first.map { ": \($0)" } ?? ""
        return "STATUS=last reconcile (\(trigger.rawValue)): \(o.result.rawValue), \(o.changes) changes\(first)"
    }

    /// One reconcile (or clean) with its hooks, logged.
    public func reconcileOnce(_ trigger: Trigger, metadata extra: Logger.Metadata = [:]) async -> ReconcileOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        var meta: Logger.Metadata = ["trigger": .string(trigger.rawValue)]
        meta.merge(extra, uniquingKeysWith: { a, _ in a })
        logger.info("reconcile started", metadata: meta)
        var outcome: ReconcileOutcome
        if let pre = options.preHook,
            case let r = await Hook.run(
                pre, environment: ["VRFC_HOOK": "pre", "VRFC_TRIGGER": trigger.rawValue], timeout: options.hookTimeout),
            !r.succeeded
        {
            // A failing pre-hook vetoes this reconcile: the node is left as it is.
            outcome = ReconcileOutcome(result: .skipped, error: "pre-reconcile hook \(pre) \(r)")
        } else if stopRequest.isRequested {
            outcome = ReconcileOutcome(result: .stopped)
        } else if trigger == .clean {
            outcome = await reconciler.clean(stop: stopRequest)
        } else {
            outcome = await reconciler.reconcile(trigger, stop: stopRequest)
        }
        let elapsed = clock.now - started
        let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        AgentMetrics.record(
            outcome, trigger: trigger, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        for line in (outcome.error ?? "").split(separator: "\n") {
            logger.error(
                outcome.result == .invalid ? "invalid input" : "reconcile error",
                metadata: ["trigger": .string(trigger.rawValue), "error": .string(String(line))])
        }
        meta["result"] = .string(outcome.result.rawValue)
        meta["changes"] = "\(outcome.changes)"
        meta["duration_ms"] = "\(ms)"
        if outcome.result == .invalid { meta["held"] = "last good intent" }
        let level: Logger.Level = outcome.result == .ok || outcome.result == .stopped ? .info : .error
        logger.log(level: level, "reconcile finished", metadata: meta)
        if let post = options.postHook {
            let r = await Hook.run(
                post,
                environment: [
                    "VRFC_HOOK": "post", "VRFC_TRIGGER": trigger.rawValue, "VRFC_RESULT": outcome.result.rawValue,
                    "VRFC_CHANGES": "\(outcome.changes)", "VRFC_ERROR": outcome.error ?? "", "VRFC_DURATION_MS": "\(ms)",
                ], timeout: options.hookTimeout)
            if !r.succeeded {
                // Reported, but it changes nothing: the reconcile is done.
                logger.warning("post-reconcile hook failed", metadata: ["hook": .string(post), "status": .string(r.description)])
            }
        }
        return outcome
    }
}
