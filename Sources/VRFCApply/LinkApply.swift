import Foundation
import VRFCBPF
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// One run against the kernel's links: the socket, the router program and,
/// for changes, the per-namespace lock. The caller enters the network
/// namespace first; every socket opened here lives in it.
public final class LinkSession {
    public let ops: OpList
    public let adopt: Bool
    /// Delete vrfc's bridges and VRFs even with foreign ports enslaved.
    public let force: Bool
    public let socket: NetlinkSocket
    public let attacher: any RouterAttacher
    /// Where the creation log and the clsact record live (`--run-dir`).
    public let runDirectory: StateDirectory
    /// The owned tables' names for iproute2; nil: not kept.
    public let tableNames: TableNamesFile?
    private let lock: ApplyLock?

    /// `exclusive` takes the apply lock (apply); plan runs without it.
    public init(
        ops: OpList, adopt: Bool, force: Bool = false, attacher: any RouterAttacher,
        runDirectory: String = StateDirectory.defaultPath, tableNames: TableNamesFile? = TableNamesFile(),
        exclusive: Bool
    ) throws(ApplyError) {
        self.ops = ops
        self.tableNames = tableNames
        self.adopt = adopt
        self.force = force
        self.attacher = attacher
        self.runDirectory = StateDirectory(runDirectory)
        lock = exclusive ? try ApplyLock() : nil
        do throws(NetlinkError) {
            socket = try NetlinkSocket()
        } catch {
            throw ApplyError("\(error)")
        }
    }

    public func creationLog() throws(ApplyError) -> CreationLog {
        do throws(NetlinkError) {
            return CreationLog(namespaceCookie: try socket.namespaceCookie(), state: runDirectory)
        } catch {
            throw ApplyError("\(error)")
        }
    }

    /// Which clsact qdiscs vrfc added (the kernel does not record it).
    public func clsactRecord() throws(ApplyError) -> ClsactRecord {
        do throws(NetlinkError) {
            return ClsactRecord(namespaceCookie: try socket.namespaceCookie(), state: runDirectory)
        } catch {
            throw ApplyError("\(error)")
        }
    }

    /// Reads the kernel and plans against it; `adopt` only on the first plan
    /// of a run (a read-back must not adopt anything).
    public func snapshotAndPlan(adopt: Bool? = nil) throws(ApplyError) -> (KernelSnapshot, Plan) {
        let log = try creationLog()
        let clsact = try clsactRecord()
        do throws(NetlinkError) {
            var timer = PhaseTimer()
            var snap = try KernelSnapshot.read(socket, attacher: attacher, log: log, clsact: clsact, routesFor: ops)
            snap.readNeighbours(socket, for: ops)
            snap.tableNames = tableNames.map { ($0, $0.read()) }
            timer.mark("  read kernel")
            let plan = Planner.plan(ops, snap, options: PlanOptions(adopt: adopt ?? self.adopt, force: force))
            timer.mark("  plan")
            return (snap, plan)
        } catch {
            throw ApplyError("reading the kernel's state: \(error)")
        }
    }

    /// The read-back of a run whose steps were all route and rule steps:
    /// those change only routes and rules, so only they are read again (the
    /// same filtered dumps as the first read) and the plan is made afresh
    /// against them and the links of `snapshot`, which no step touched.
    public func routesReadBack(_ snapshot: KernelSnapshot) throws(ApplyError) -> Plan {
        var snap = snapshot
        do throws(NetlinkError) {
            try snap.readRoutesAndRules(socket, for: ops)
        } catch {
            throw ApplyError("reading the kernel's state: \(error)")
        }
        return Planner.plan(ops, snap, options: PlanOptions(adopt: false, force: force))
    }

    /// Drops the state entries (creation log, clsact record) the snapshot
    /// shows resolved; first thing of a changing run, even a refused one.
    public func compact(_ snapshot: KernelSnapshot) throws(ApplyError) {
        guard snapshot.stateProblems.isEmpty else { return }
        try snapshot.compact(log: try creationLog(), clsact: try clsactRecord())
    }

    /// A plan that may be executed: no problems, and every part of the state it
    /// depends on was read.
    public static func executable(_ plan: Plan) -> Bool { plan.problems.isEmpty && plan.complete }

    public func execute(_ plan: Plan, snapshot: KernelSnapshot, onStep: @escaping (Step) -> Void) throws(ApplyError) {
        var executor = Executor(
            socket: socket, snapshot: snapshot, attacher: attacher, log: try creationLog(),
            clsact: try clsactRecord(), onStep: onStep)
        try executor.run(plan)
    }

    deinit { withExtendedLifetime(lock) {} }
}

/// The outcome of a links-only apply.
public enum LinkApplyOutcome {
    /// The plan has problems or is incomplete; nothing was changed.
    case refused(Plan)
    /// Nothing to change.
    case inSync(Plan)
    /// `plan` was executed; `after` is the read-back.
    case applied(plan: Plan, after: Plan)
}

/// `vrfc-apply apply` without FRR: lock, snapshot, plan, execute, read back.
public enum LinkApply {
    /// `announce` is told the plan before execution starts, `onStep` each step.
    public static func run(
        _ session: LinkSession, announce: (Plan) -> Void = { _ in },
        onStep: @escaping (Step) -> Void = { _ in }
    ) throws(ApplyError) -> LinkApplyOutcome {
        var timer = PhaseTimer()
        let (snap, plan) = try session.snapshotAndPlan()
        timer.mark("read kernel + plan (\(snap.links.count) links)")
        try session.compact(snap)
        if !LinkSession.executable(plan) { return .refused(plan) }
        if plan.inSync {
            try session.creationLog().remove()  // whatever it lists is marked or gone
            return .inSync(plan)
        }
        announce(plan)
        try session.execute(plan, snapshot: snap, onStep: onStep)
        timer.mark("execute \(plan.steps.count) steps")
        // Read back: apply is done only when a fresh plan is in sync.
        let after: Plan
        if plan.steps.allSatisfy(\.isRouteOrRule) {
            after = try session.routesReadBack(snap)
            timer.mark("read back routes and rules + plan")
        } else {
            (_, after) = try session.snapshotAndPlan(adopt: false)
            timer.mark("read back + plan")
        }
        return .applied(plan: plan, after: after)
    }
}
