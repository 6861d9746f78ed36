import Foundation
import VRFCBPF
import VRFCBundle
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// How FRR is told about a new frr.conf.
public enum ReloadStrategy: String, CaseIterable, Sendable {
    /// systemd's ReloadUnit("frr.service") over D-Bus, waiting for the job.
    case systemd
    /// FRR's own frr-reload.py: reads the running config, diffs, applies.
    case frrReload = "frr-reload"
    /// vrfc's own: the compile's delta from the kept IR, one `vtysh -f`.
    case delta
    /// Write frr.conf only; the operator reloads.
    case writeOnly = "none"
}

/// Where the reconcile's bundle comes from.
public enum BundleSource: Sendable {
    /// The unprivileged `vrfc compile` child (inputs on the command line).
    case compile(CompileRequest)
    /// A ready bundle file (`vrfc compile --emit bundle`).
    case file(String)
}

extension BundleSource {
    /// The same source, compiling the node config's already checked bytes
    /// when it compiles the file at `path` (see `CompileRequest.withConfig`).
    public func withConfig(_ text: Data?, readFrom path: String?) -> BundleSource {
        if case .compile(let r) = self { return .compile(r.withConfig(text, readFrom: path)) }
        return self
    }
}

public struct ReconcileOptions: Sendable {
    /// The frr.conf FRR reads.
    public var frrConfig: String
    /// An explicit base config; else the hinted frr.conf on first run and
    /// the kept base afterwards.
    public var template: String?
    public var stateDirectory: String
    /// nil: detected at run time.
    public var reload: ReloadStrategy?
    public var frr: FRRControl
    public var adopt: Bool
    public var overrides: NodeOverrides
    /// What the router may be attached to besides vrfc's links.
    public var trust = AttachmentTrust()
    /// Delete vrfc's bridges and VRFs even with foreign ports enslaved.
    public var force = false
    /// The creation log and clsact record (tmpfs; `--run-dir`).
    public var runDirectory = StateDirectory.defaultPath
    /// The owned tables' names for iproute2 (`--table-names-file`).
    public var tableNames: TableNamesFile? = TableNamesFile()
    /// The unit `--reload systemd` reloads.
    public var systemdUnit = "frr.service"

    public init(
        frrConfig: String, template: String? = nil, stateDirectory: String = KeptState.defaultDirectory,
        reload: ReloadStrategy? = nil, frr: FRRControl = FRRControl(), adopt: Bool = false,
        overrides: NodeOverrides = NodeOverrides()
    ) {
        self.frrConfig = frrConfig
        self.template = template
        self.stateDirectory = stateDirectory
        self.reload = reload
        self.frr = frr
        self.adopt = adopt
        self.overrides = overrides
    }
}

/// The FRR reload a reconcile made, for the agent's metrics.
public struct ReloadRecord: Sendable, Equatable {
    /// The strategy that ran last (after a failed delta: the whole reload).
    public var strategy: ReloadStrategy
    /// From the reload's start to the end of its verification.
    public var seconds: Double
    /// FRR was verified to run the new config (else it was rolled back).
    public var verified: Bool
}

public enum ReconcileOutcome {
    /// The link plan has problems; nothing was changed.
    case refused(Plan)
    /// Done; `after` is the links' read-back.
    case done(after: Plan)
}

/// One reconcile of a node, in the order that keeps traffic safe:
/// compile (unprivileged child) → check the new frr.conf with
/// `vtysh --dryrun` → create and fix links, down → write frr.conf → reload
/// FRR → verify FRR runs it → bring links up → delete links no longer
/// wanted. A reload or verification that fails restores the last known
/// good frr.conf and its links and ends with an error.
public struct Reconcile {
    public let options: ReconcileOptions
    public let source: BundleSource
    public let attacher: any RouterAttacher
    /// Progress lines for the operator.
    public let log: (String) -> Void
    var timer = PhaseTimer()
    /// The reload this run made, if it made one (also when it then failed).
    public private(set) var reloadRecord: ReloadRecord?
    /// The delta's own commit dropped the removed VRFs' blocks (their
    /// devices went while FRR read it); step 7 has nothing left to send.
    var droppedInReload = false
    /// FRR's daemons that answered when this run began: after a reload,
    /// each must answer again before the verification asks them.
    var answering: [String] = []

    public init(options: ReconcileOptions, source: BundleSource, attacher: any RouterAttacher, log: @escaping (String) -> Void) {
        self.options = options
        self.source = source
        self.attacher = attacher
        self.log = log
    }

    var frr: FRRControl { options.frr }

    /// The whole-file reload: systemd's where systemd runs the node's FRR
    /// (not for a second FRR with its own pathspace), else frr-reload.py.
    var fullReload: ReloadStrategy {
        if options.reload == .systemd { return .systemd }
        if options.reload == .frrReload { return .frrReload }
        return FileManager.default.fileExists(atPath: "/run/systemd/system") && frr.pathspace == nil ? .systemd : .frrReload
    }

    /// `orStart`: a rollback's reload, which starts frr.service again if
    /// systemd stopped it.
    func reloadWhole(_ strategy: ReloadStrategy, rundir: String, orStart: Bool = false) -> String? {
        if strategy == .systemd { return SystemdReload.reload(unit: options.systemdUnit, orStart: orStart) }
        let r = frr.frrReload(options.frrConfig, rundir: rundir)
        return r.status == 0 ? nil : "frr-reload.py failed: \(r.summary)"
    }

    public mutating func run() throws(ApplyError) -> ReconcileOutcome {
        answering = FRRVty.daemons(pathspace: frr.pathspace)
        if let why = frr.unreachable(answering) { throw ApplyError("\(why); nothing was changed") }
        let lock = try ApplyLock()
        defer { withExtendedLifetime(lock) {} }
        let state = try KeptState(directory: options.stateDirectory)
        let good = state.goodConfig
        let onDisk = FileManager.default.contents(atPath: options.frrConfig).map { String(decoding: $0, as: UTF8.self) }

        // 1. Compile.
        var base: String? = nil
        var bundle: CompileBundle
        switch source {
        case .compile(var request):
            base = try chooseBase(state: state, onDisk: onDisk)
            request.baseConfig = base
            request.runningIR = good == nil ? nil : state.goodIR
            request.underlay = options.overrides.underlay?.value
            request.tableRange = options.overrides.tableRange?.description
            bundle = try CompileChild.run(request)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ApplyError("\(path): cannot read the bundle; nothing was changed")
            }
            bundle = try CompileChild.decode(data, from: path)
            options.overrides.apply(to: &bundle.ops)
        }
        timer.mark("compile")
        let ops = try OpListLoader.validated(bundle.ops, trust: options.trust)
        guard let config = bundle.frrConf else {
            throw ApplyError("the bundle has no frr.conf (compile it with --template BASE); nothing was changed")
        }

        // The delta's dry run (step 3) starts now, beside the choice of the
        // reload: it changes nothing, and it is only used if the choice is
        // the delta.
        var earlyDryRun: Background<CommandOutput>? = nil
        if let delta = bundle.delta, options.reload == nil || options.reload == .delta, good != nil {
            let file = try state.scratch("frr.delta.candidate", delta.script)
            let frr = self.frr
            earlyDryRun = Background { frr.dryRun(file) }
        }

        // 2. How to reload. The new file and the one FRR runs are parsed once:
        //    the reload's choice, the VRFs that go and the verification read them.
        let trees = ConfigTrees(new: FRRConfigTree(config), previous: (good ?? onDisk).map { FRRConfigTree($0) }, goodKnown: good != nil)
        var (strategy, why) = chooseStrategy(bundle: bundle, config: config, good: good, onDisk: onDisk, trees: trees)
        timer.mark("choose the reload")

        // 3. FRR must accept the file before anything changes. With a delta,
        //    FRR runs the kept file and every command of the new one is a
        //    command of it or a line the delta sends in the same block
        //    (checked in chooseStrategy): a dry run of the delta then checks
        //    every new line, and the whole file's (seconds on a large node)
        //    adds nothing.
        //    The delta's dry run goes beside the choice of the reload and
        //    the kernel's read (step 4 reads first and changes nothing
        //    before its answer).
        var dryRunWhole = strategy != .delta
        var deltaDryRun: Background<CommandOutput>? = nil
        if strategy == .delta, let earlyDryRun {
            deltaDryRun = earlyDryRun
        } else if strategy == .delta {
            let file = try state.scratch("frr.delta.candidate", bundle.delta!.script)
            let frr = self.frr
            deltaDryRun = Background { frr.dryRun(file) }
        } else {
            _ = earlyDryRun?.join()
        }
        let session = try LinkSession(
            ops: ops, adopt: options.adopt, force: options.force, attacher: attacher,
            runDirectory: options.runDirectory, tableNames: options.tableNames, exclusive: false)
        let (snap, plan) = try session.snapshotAndPlan()
        if let deltaDryRun {
            let dry = deltaDryRun.join()
            if dry.status != 0 {
                (strategy, why) = (
                    fullReload,
                    (options.reload == .delta ? "delta requested, but " : "default; no delta: ")
                        + "the delta does not pass vtysh --dryrun: \(dry.summary)"
                )
                dryRunWhole = true
            }
            timer.mark("vtysh --dryrun (the delta)")
        }
        if dryRunWhole {
            let candidate = try state.scratch("frr.conf.candidate", config)
            let dry = frr.dryRun(candidate)
            guard dry.status == 0 else {
                throw ApplyError("FRR refuses the new frr.conf (vtysh --dryrun -f \(candidate)): \(dry.summary)\nnothing was changed")
            }
            timer.mark("vtysh --dryrun")
        }

        // A VRF that goes gives up its L3 VNI while its VXLAN device still
        // exists; zebra must run EVPN then, or it keeps the VNI as an L2 VNI
        // that outlives the device (zebraWithoutEVPN). Checked before
        // anything changes.
        let removing = strategy == .writeOnly ? [] : Self.removedVRFs(previous: trees.previous, config: trees.new)
        if !removing.isEmpty, try zebraWithoutEVPN() {
            throw ApplyError(
                "removing \(removing.map { String($0.dropFirst(4)) }.joined(separator: ", ")): zebra runs without EVPN "
                    + "(no advertise-all-vni under address-family l2vpn evpn of the default router bgp), and then FRR 8.4 "
                    + "keeps a VNI given up while its VXLAN device exists as an L2 VNI that outlives the device: zebra "
                    + "crashes when the VNI is next configured. Add advertise-all-vni to the base config; nothing was changed")
        }
        // bgpd 8.4 must have learnt the address of the `dv.` neighbors
        // before one of them goes (linkNeighborsWithoutAddress). vrfc owns
        // both ends of those links, so this takes seconds after they came up.
        if !removing.isEmpty {
            var pending: [String] = []
            let learnt = waitUntil(ContinuousClock.now + .seconds(30)) { () throws(ApplyError) in
                pending = try linkNeighborsWithoutAddress()
                return pending.isEmpty
            }
            guard learnt else {
                throw ApplyError(
                    "removing \(removing.map { String($0.dropFirst(4)) }.joined(separator: ", ")): after 30 s bgpd still has "
                        + "no peer address for its neighbor\(pending.count == 1 ? "" : "s") \(pending.joined(separator: ", ")) "
                        + "(\"bgpNeighborAddr\": \"none\"), and FRR 8.4's bgpd loses track of such neighbors when one "
                        + "is deleted (it crashes at a later neighbor). Check that the links are up; nothing was changed")
            }
            timer.mark("bgpd knows its link neighbors")
            // ... and hold each removed VRF's `dv.` neighbor once in its
            // peer hash when `no neighbor` comes (unhashLinkNeighbors).
            try unhashLinkNeighbors(of: removing, session: session, snapshot: snap)
            timer.mark("bgpd holds the removed link neighbors once")
        }

        // 4. Links: create and fix, down; nothing is brought up or deleted yet.
        try session.compact(snap)
        if !LinkSession.executable(plan) { return .refused(plan) }
        let before = Self.beforeFRR(plan)
        if !before.steps.isEmpty {
            log("links: \(before.steps.count) change\(before.steps.count == 1 ? "" : "s") before the reload (new links stay down):")
            let log = self.log
            try session.execute(before, snapshot: snap) { log("  \($0.report)") }
        }
        timer.mark("links before the reload")

        // 5. frr.conf and the reload. A VRF that goes keeps its (empty)
        //    `vrf NAME` block through the reload: FRR refuses `no vrf NAME`
        //    while the kernel device exists, and the device goes only once FRR
        //    no longer uses it (step 6); the block goes in step 7.
        let irData = Data(bundle.irJSON.utf8)
        let staged = Self.keeping(removing, in: config)
        // What a verified reload records, written (and fsynced) on another
        // thread while FRR commits, and put in place once FRR is verified
        // to run it; left out if the reload fails.
        var goodFiles: Background<Result<[(tmp: String, path: String)], ApplyError>>? = nil
        var goodCommitted = false
        defer {
            if !goodCommitted, case .success(let files)? = goodFiles?.join() { KeptState.discard(files) }
        }
        func recordGood() throws(ApplyError) {
            if let goodFiles {
                try state.commitGood(goodFiles.join().get())
                goodCommitted = true
                return
            }
            try state.recordGood(config: config, ir: irData, base: base)
            try ConfigFile.write(
                Data(JSONOutput.encode(ops).utf8), to: state.directory + "/frr.conf.good.ops.json", owner: nil, mode: 0o600)
        }
        if removing.isEmpty && strategy != .writeOnly && !(onDisk == config && good == config) {
            let (directory, base) = (state.directory, base)
            goodFiles = Background {
                Result { () throws(ApplyError) in
                    try KeptState.stageGood(
                        directory: directory, config: config, ir: irData, base: base, ops: Data(JSONOutput.encode(ops).utf8))
                }
            }
        }
        if onDisk == config && good == config {
            let problems = try verify(config, frame: bundle.frame, previous: nil, ops: bundle.ops)
            if problems.isEmpty {
                log("frr.conf: unchanged; FRR runs it; not reloaded")
            } else {
                log("frr.conf: unchanged, but FRR's running config differs (\(problems[0])); reloading it whole")
                try reloadAndVerify(fullReload, config: config, bundle: bundle, good: good, state: state, onDisk: onDisk)
            }
        } else {
            if onDisk != staged {
                let attrs = ConfigFile.attributes(of: options.frrConfig)
                try ConfigFile.write(Data(staged.utf8), to: options.frrConfig, owner: (attrs.uid, attrs.gid), mode: attrs.mode)
                log(
                    "frr.conf: written \(options.frrConfig) (\(staged.utf8.count) bytes)"
                        + (removing.isEmpty ? "" : "; it keeps \(removing.joined(separator: ", ")) until the links are gone"))
            }
            timer.mark("write frr.conf")
            log("reload: \(strategy.rawValue) (\(why))")
            if strategy == .writeOnly {
                log("reload: none requested; FRR has not been told, so nothing is recorded as running")
            } else {
                // The removed VRFs' links, deleted while FRR reads a delta
                // (once it no longer uses them), so their `vrf` blocks can
                // go in the same commit.
                let names = Self.stackLinks(of: Set(removing))
                let log = self.log
                try reloadAndVerify(
                    strategy, config: config, bundle: bundle, good: good, state: state, onDisk: onDisk,
                    leaving: Set(removing), trees: trees
                ) { () throws(ApplyError) in
                    let (snap, plan) = try session.snapshotAndPlan(adopt: false)
                    var gone = plan
                    gone.steps = plan.steps.filter { if case .delete(let name, _, _) = $0 { names.contains(name) } else { false } }
                    if gone.steps.isEmpty { return }
                    log(
                        "links: \(gone.steps.count) deletion\(gone.steps.count == 1 ? "" : "s") while FRR reads the delta (it no longer uses them):"
                    )
                    try session.execute(gone, snapshot: snap) { log("  \($0.report)") }
                }
            }
        }
        if removing.isEmpty && (strategy != .writeOnly || (onDisk == config && good == config)) {
            try recordGood()
            timer.mark("record the kept state")
        }

        // 6. Links up, stale links deleted, read back.
        let (snap2, plan2) = try session.snapshotAndPlan(adopt: false)
        if !plan2.steps.isEmpty {
            log("links: \(plan2.steps.count) change\(plan2.steps.count == 1 ? "" : "s") after the reload:")
            let log = self.log
            try session.execute(plan2, snapshot: snap2) { log("  \($0.report)") }
        }
        try session.creationLog().remove()
        timer.mark("links after the reload")

        // 7. The removed VRFs' blocks, now that their devices are gone.
        if !removing.isEmpty {
            try removeVRFs(removing, config: config, bundle: bundle, good: good, state: state, onDisk: onDisk, dropped: droppedInReload)
            try recordGood()
        }
        // 8. FRR 8.4 can lose an L3 VNI's router MACs in a reload (L3VNIRepair).
        var repaired: [UInt32] = []
        if strategy != .writeOnly {
            repaired = try L3VNIRepair(frr: frr, log: log).run(ops: ops, socket: session.socket)
            timer.mark("L3 VNI check")
        }
        // The read after the reload is the read-back when nothing has
        // touched the links since.
        if plan2.steps.isEmpty && repaired.isEmpty && removing.isEmpty { return .done(after: plan2) }
        let (_, after) = try session.snapshotAndPlan(adopt: false)
        return .done(after: after)
    }

    /// The base config: `--template`; else the file at --frr-config while
    /// it still holds vrfc's hint lines (first run, or a new base an
    /// operator put there); else the base kept from an earlier run.
    func chooseBase(state: KeptState, onDisk: String?) throws(ApplyError) -> String {
        if let t = options.template {
            guard let data = FileManager.default.contents(atPath: t) else {
                throw ApplyError("\(t): cannot read the base config; nothing was changed")
            }
            return String(decoding: data, as: UTF8.self)
        }
        if let onDisk, Self.hasHints(onDisk) { return onDisk }
        if let kept = state.base { return kept }
        throw ApplyError(
            "\(options.frrConfig) has no vrfc hint lines (#++{{.VRFs}} ...) and no base config is kept in \(state.directory): pass the hinted base config with --template FILE; nothing was changed"
        )
    }

    static func hasHints(_ text: String) -> Bool {
        text.split(separator: "\n").contains { $0.drop { $0 == " " }.hasPrefix("#++{{.") }
    }

    /// The parsed new frr.conf and the one it replaces (the kept config, or
    /// on a first run the file on disk).
    struct ConfigTrees {
        var new: FRRConfigTree
        var previous: FRRConfigTree?
        /// `previous` is the kept config FRR was verified to run.
        var goodKnown: Bool

        var good: FRRConfigTree? { goodKnown ? previous : nil }
    }

    func chooseStrategy(bundle: CompileBundle, config: String, good: String?, onDisk: String?, trees: ConfigTrees) -> (
        ReloadStrategy, String
    ) {
        let requested = options.reload
        if requested == .writeOnly { return (.writeOnly, "requested") }
        if requested == .frrReload || requested == .systemd { return (requested!, "requested") }
        var doubt: String? = nil
        if good == nil {
            doubt = "no kept config: FRR's running config is unknown to vrfc"
        } else if bundle.delta == nil {
            doubt = "the compile gave no delta from the kept IR"
        } else if onDisk != good {
            doubt = "\(options.frrConfig) is not the config vrfc last verified (changed or not yet loaded)"
        } else if Digest.fnv1a64(good!) != bundle.delta!.basisDigest {
            doubt = "the kept IR does not render to the kept config (base config or templates changed)"
        } else {
            let newTree = trees.new
            let goodTree = trees.good ?? FRRConfigTree(good!)
            let problems = FRRCheck.delta(bundle.delta!.script, newConfig: newTree, running: goodTree)
            if !problems.isEmpty {
                doubt = "the delta does not check out: \(problems[0])"
            } else {
                let uncovered = FRRCheck.uncovered(newConfig: newTree, running: goodTree, script: bundle.delta!.script)
                if !uncovered.isEmpty { doubt = "the new frr.conf has commands neither FRR runs nor the delta sends: \(uncovered[0])" }
            }
        }
        if let doubt {
            return (fullReload, (requested == .delta ? "delta requested, but " : "default; no delta: ") + doubt)
        }
        let d = bundle.delta!
        return (
            .delta,
            "\(requested == .delta ? "requested" : "default"): \(d.removals) removal\(d.removals == 1 ? "" : "s"), \(d.additions) addition\(d.additions == 1 ? "" : "s") from the config FRR runs"
        )
    }

    /// Reloads, verifies, and on failure falls back (delta → full reload)
    /// or rolls back.
    mutating func reloadAndVerify(
        _ strategy: ReloadStrategy, config: String, bundle: CompileBundle, good: String?,
        state: KeptState, onDisk: String?, leaving: Set<String> = [], trees: ConfigTrees? = nil,
        releaseLinks: () throws(ApplyError) -> Void = {}
    ) throws(ApplyError) {
        var failure: String
        droppedInReload = false
        let started = ContinuousClock.now
        func record(_ used: ReloadStrategy, verified: Bool) {
            let d = ContinuousClock.now - started
            reloadRecord = ReloadRecord(
                strategy: used, seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18,
                verified: verified)
        }
        // nil when FRR runs the new config (said so), else why it does not.
        func verified(after what: String, showing n: Int) throws(ApplyError) -> String? {
            let problems = try verify(config, frame: bundle.frame, previous: good, ops: bundle.ops, leaving: leaving)
            timer.mark("verify")
            guard !problems.isEmpty else {
                log("verified: FRR runs the new config" + Self.pending(leaving))
                return nil
            }
            return "after the \(what), " + problems.prefix(n).joined(separator: "; ")
        }
        if strategy == .delta, let delta = bundle.delta {
            let script = Self.withoutVRFRemovals(delta.script, leaving)
            // Prefix-lists and route-maps only: each daemon takes the delta
            // at once (their commits run side by side) and FRR shows what
            // it runs of them one by one.
            let targets = leaving.isEmpty ? FRRCheck.policyTargets(script) : nil
            var dropped = false
            if script.isEmpty {
                failure = ""
            } else if !leaving.isEmpty {
                (failure, dropped) = try loadRemoving(script, leaving: leaving, releaseLinks: releaseLinks)
            } else {
                let file = try state.scratch("frr.delta", script)
                var r = targets != nil ? frr.loadPerDaemon(file) : frr.load(file)
                if r.status == 0 && FRRControl.commitRefused(r.output) { r.status = 1 }
                failure = r.status == 0 ? "" : "vtysh -f \(file) failed: \(r.summary)"
            }
            timer.mark("reload (delta)")
            // A VRF's removal: each thing the delta takes away, asked of
            // the daemon that held it.
            if failure.isEmpty, !leaving.isEmpty, let removal = FRRCheck.removalTargets(script, leaving: leaving) {
                let problems =
                    (try? verifyRemoval(removal, dropped: dropped, config: config, previous: good)) ?? [
                        "a daemon's vty socket did not answer"
                    ]
                timer.mark("verify (what the delta removes)")
                if problems.isEmpty {
                    droppedInReload = dropped
                    log(
                        "verified: FRR runs the new config (what the delta removes, asked of each daemon)"
                            + (dropped ? "" : Self.pending(leaving)))
                    record(.delta, verified: true)
                    return
                }
                log("what the delta removes is not all gone (\(problems[0])); checking the whole running config")
            }
            if failure.isEmpty, let targets {
                // A daemon that cannot be asked (nil) leaves it to the whole running config.
                let problems =
                    (try? verifyTargets(
                        targets, config: trees?.new ?? FRRConfigTree(config), previous: trees?.good ?? good.map { FRRConfigTree($0) }))
                    ?? ["a daemon's vty socket did not answer"]
                timer.mark("verify (the delta's prefix-lists and route-maps)")
                if problems.isEmpty {
                    log("verified: FRR runs the new config (its changed prefix-lists and route-maps, shown one by one)")
                    record(.delta, verified: true)
                    return
                }
                // The targeted view is the narrower one: a doubt of it is
                // settled by the whole running config.
                log("the changed prefix-lists and route-maps differ (\(problems[0])); checking the whole running config")
            }
            if failure.isEmpty {
                do throws(ApplyError) {
                    guard let why = try verified(after: "delta", showing: 3) else {
                        droppedInReload = dropped
                        record(.delta, verified: true)
                        return
                    }
                    failure = why
                } catch {
                    failure = "after the delta, FRR could not be asked: \(error.message)"
                }
            }
            log("delta failed (\(failure)); falling back to a full reload")
        }
        let whole = strategy == .delta ? fullReload : strategy
        // From here on frr.conf and the links have changed: whatever fails
        // (FRR that cannot be asked included) is rolled back.
        do throws(ApplyError) {
            failure = try givingUpVNIs(of: leaving, state: state) ?? reloadWhole(whole, rundir: state.directory) ?? ""
        } catch {
            failure = error.message
        }
        timer.mark("reload (\(whole.rawValue))")
        // A job that ended well says nothing of the daemons: watchfrr or
        // systemd may be restarting some. Verified once they answer, never without.
        if failure.isEmpty, let why = frr.awaitAnswer(answering, log: log) {
            failure = "after the reload, \(why)"
        }
        if failure.isEmpty {
            do throws(ApplyError) {
                guard let why = try verified(after: "reload", showing: 5) else {
                    record(whole, verified: true)
                    return
                }
                failure = why
            } catch {
                failure = "after the reload, FRR could not be asked: \(error.message)"
            }
        }
        record(whole, verified: false)
        try rollback(failure, state: state, good: good, onDisk: onDisk, frame: bundle.frame, ops: bundle.ops)
    }

    /// The delta's prefix-lists and route-maps as every daemon runs them,
    /// asked over the daemons' vty sockets (milliseconds each), against the
    /// new config and the one before.
    func verifyTargets(_ targets: FRRCheck.PolicyTargets, config: String, previous: String?) throws(ApplyError) -> [String] {
        try verifyTargets(targets, config: FRRConfigTree(config), previous: previous.map { FRRConfigTree($0) })
    }

    func verifyTargets(_ targets: FRRCheck.PolicyTargets, config: FRRConfigTree, previous: FRRConfigTree?) throws(ApplyError) -> [String] {
        var answers: [[String: Any]] = []
        for daemon in FRRVty.daemons(pathspace: frr.pathspace) {
            let vty = try FRRVty(daemon: daemon, pathspace: frr.pathspace)
            // nil: a daemon without prefix-lists or route-maps (`% Unknown command`).
            for command in FRRCheck.showCommands(targets) { try vty.object(command).map { answers.append($0) } }
        }
        return FRRCheck.verify(targets: targets, running: FRRCheck.running(policyAnswers: answers), config: config, previous: previous)
    }

    func verify(_ config: String, frame: String?, previous: String?, ops: OpList, leaving: Set<String> = []) throws(ApplyError) -> [String]
    {
        let running = try frr.show("show running-config")
        var problems = FRRCheck.verify(running: running, config: config, frame: frame, previous: previous, leaving: leaving)
        // zebra's own view of the VRFs' L3VNIs: every full VRF with its VNI.
        // (State is not checked: the links are still down at this point.)
        // The VNIs come from the op list's VXLAN links (one per full VRF).
        let wanted = ops.links.compactMap { l in l.vxlan.map { (VRFNames(l.vrf).vrfDevice.value, Int($0.vni)) } }
        if !wanted.isEmpty {
            let listed = FRRCheck.vrfVNIs(try FRRVty(daemon: "zebra", pathspace: frr.pathspace).object("show vrf vni json"))
            for (name, vni) in wanted where listed[name] != vni {
                problems.append("zebra's 'show vrf vni' lists \(name) with VNI \(listed[name].map(String.init) ?? "none"), not \(vni)")
            }
        }
        return problems
    }

    /// Puts back the last known good frr.conf (or, on a first run, the file
    /// that was there), reloads it, and makes the links match it; then
    /// fails with the reason.
    func rollback(_ reason: String, state: KeptState, good: String?, onDisk: String?, frame: String?, ops: OpList) throws(ApplyError)
        -> Never
    {
        log("rolling back: \(reason)")
        let restore = good ?? onDisk
        var notes: [String] = []
        if let restore {
            let attrs = ConfigFile.attributes(of: options.frrConfig)
            try ConfigFile.write(Data(restore.utf8), to: options.frrConfig, owner: (attrs.uid, attrs.gid), mode: attrs.mode)
            if let why = reloadWhole(fullReload, rundir: state.directory, orStart: true) {
                notes.append("reloading the restored config failed too: \(why)")
            }
        }
        // The links FRR's config refers to: the kept op list, or none on a first run.
        var restoreOps = OpList(underlay: ops.underlay, tableRange: ops.tableRange, links: [], routerAttachments: [])
        if good != nil, let data = state.read(state.directory + "/frr.conf.good.ops.json"),
            let kept = try? OpListReader.decode(Array(data)), (try? kept.validate()) != nil
        {
            restoreOps = kept
        }
        do throws(ApplyError) {
            let session = try LinkSession(
                ops: restoreOps, adopt: false, force: options.force, attacher: attacher,
                runDirectory: options.runDirectory, tableNames: options.tableNames, exclusive: false)
            let (snap, plan) = try session.snapshotAndPlan()
            if LinkSession.executable(plan), !plan.steps.isEmpty {
                let log = self.log
                try session.execute(plan, snapshot: snap) { log("  rollback: \($0.report)") }
            }
        } catch {
            notes.append("restoring the links failed: \(error.message)")
        }
        let what =
            good != nil
            ? "the last known good frr.conf and its links are back" : "the previous frr.conf is back and vrfc's links are removed"
        throw ApplyError("\(reason)\nrolled back: \(what)" + notes.map { "\n" + $0 }.joined())
    }

    /// The steps that go before FRR is reloaded: everything but bringing
    /// links up and deleting the links no longer wanted (the deletions at
    /// the end of a plan), which wait until FRR runs the new config.
    public static func beforeFRR(_ plan: Plan) -> Plan {
        var steps = plan.steps.filter { if case .up = $0 { false } else { true } }
        while let last = steps.last, case .delete = last { steps.removeLast() }
        var p = plan
        p.steps = steps
        return p
    }

    static func pending(_ leaving: Set<String>) -> String {
        leaving.isEmpty ? "" : " (but for \(leaving.sorted().joined(separator: ", ")), removed once the links are gone)"
    }

    /// The top-level `vrf NAME` blocks of the previous config the new one
    /// drops, in file order.
    public static func removedVRFs(previous: String?, config: String) -> [String] {
        removedVRFs(previous: previous.map { FRRConfigTree($0) }, config: FRRConfigTree(config))
    }

    public static func removedVRFs(previous: FRRConfigTree?, config: FRRConfigTree) -> [String] {
        guard let previous else { return [] }
        let now = Set(config.entries.filter { $0.path.isEmpty && $0.text.hasPrefix("vrf ") }.map(\.text))
        return previous.entries
            .filter { $0.path.isEmpty && $0.text.hasPrefix("vrf ") && !now.contains($0.text) }.map(\.text)
    }

    /// The new config with an empty block for each VRF being removed (before
    /// a closing `end`): what FRR runs until the VRFs' devices are gone. A
    /// whole-file reload of it takes everything else of the VRFs away.
    public static func keeping(_ vrfs: [String], in config: String) -> String {
        if vrfs.isEmpty { return config }
        var lines = config.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var at = lines.count
        if let last = lines.lastIndex(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }), lines[last] == "end" { at = last }
        lines.insert(contentsOf: vrfs.flatMap { [$0, "exit-vrf", "!"] }, at: at)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The delta without `no vrf NAME` of the VRFs being removed (top-level
    /// lines: the renderer returns to the top before each); they follow
    /// once the links are gone.
    public static func withoutVRFRemovals(_ script: String, _ leaving: Set<String>) -> String {
        if leaving.isEmpty { return script }
        let kept = script.split(separator: "\n").filter { !($0.hasPrefix("no ") && leaving.contains(String($0.dropFirst(3)))) }
        return kept.isEmpty ? "" : kept.joined(separator: "\n") + "\n"
    }

    /// Step 7: frr.conf becomes the new config and FRR drops the removed
    /// VRFs' blocks, unless the delta's own commit did (`dropped`). FRR
    /// refuses `no vrf` while zebra still has the device (it hears of the
    /// deletion a moment later), so it waits for zebra to call the VRF
    /// inactive, sends `no vrf` to each daemon at once, and retries for up
    /// to ~10 s. Done when every daemon took it and zebra no longer lists
    /// the VRF (FRR prints no empty `vrf` block, so the running config
    /// cannot show a VRF left "inactive (configured)"); the rest of the
    /// new config was verified after the reload.
    mutating func removeVRFs(
        _ vrfs: [String], config: String, bundle: CompileBundle, good: String?,
        state: KeptState, onDisk: String?, dropped: Bool
    ) throws(ApplyError) {
        let attrs = ConfigFile.attributes(of: options.frrConfig)
        try ConfigFile.write(Data(config.utf8), to: options.frrConfig, owner: (attrs.uid, attrs.gid), mode: attrs.mode)
        let devices = Set(vrfs.map { String($0.dropFirst(4)) })
        func stillListed() throws(ApplyError) -> [String] {
            let listed = FRRCheck.zebraVRFs(try FRRVty(daemon: "zebra", pathspace: frr.pathspace).run("show vrf").output)
            return devices.sorted().filter { listed[$0] != nil }
        }
        if dropped, try stillListed().isEmpty {
            log("frr.conf: written \(options.frrConfig); FRR dropped \(vrfs.joined(separator: ", ")) in the delta's commit")
            log("verified: FRR runs the new config")
            timer.mark("remove VRFs")
            return
        }
        let file = try state.scratch("frr.vrf-removal", vrfs.map { "no " + $0 }.joined(separator: "\n") + "\n")
        var failure = ""
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            _ = waitUntil(deadline) { () throws(ApplyError) in try inactive(devices) }
            _ = waitUntil(deadline) { () throws(ApplyError) in try zebraLost(Self.stackLinks(of: Set(vrfs))) }
            let r = frr.loadPerDaemon(file)
            let still = try stillListed()
            if r.status == 0 && still.isEmpty {
                log("frr.conf: written \(options.frrConfig); FRR dropped \(vrfs.joined(separator: ", ")) (vtysh -f \(file))")
                log("verified: FRR runs the new config")
                timer.mark("remove VRFs")
                return
            }
            failure = "after vtysh -f \(file) (\(r.summary))" + (still.isEmpty ? "" : ", zebra still has " + still.joined(separator: ", "))
            usleep(200_000)
        } while ContinuousClock.now < deadline
        try rollback(failure, state: state, good: good, onDisk: onDisk, frame: bundle.frame, ops: bundle.ops)
    }

    /// The delta of a reconcile that removes VRFs, fed to one `vtysh -f`
    /// line by line: FRR lets go of a VRF's devices as it reads the lines
    /// (zebra's VNI, bgpd's VRF instance and its neighbor on the `dv.` link
    /// go at once; prefix-lists and route-maps wait for the commit), so the
    /// links go then (`releaseLinks`), and once zebra calls the VRFs
    /// inactive, their `no vrf` lines follow in the same commit: one commit
    /// per daemon, as for the floor, where `no vrf` as a transaction of its
    /// own would cost another whole-configuration commit. Whatever does not
    /// happen in time is left to step 7. Returns the failure ("" for none)
    /// and whether the `no vrf` lines went through.
    func loadRemoving(
        _ script: String, leaving: Set<String>, releaseLinks: () throws(ApplyError) -> Void
    ) throws(ApplyError) -> (String, Bool) {
        let devices = Set(leaving.map { String($0.dropFirst(4)) })
        let feed = try frr.feed()
        var sentDrop = false
        if feed.send(script) {
            let released = waitUntil(ContinuousClock.now + .seconds(30)) { () throws(ApplyError) in try self.released(devices) }
            if released {
                try releaseLinks()
                // zebra must have heard of every deleted link, not only of
                // the VRF device, before the VRF goes: with EVPN on, the
                // VXLAN device's deletion is what drops the L2 VNI zebra
                // made of the VNI at `no vni` (zebraWithoutEVPN).
                let deadline = ContinuousClock.now + .seconds(10)
                if waitUntil(deadline, { () throws(ApplyError) in try inactive(devices) }),
                    waitUntil(deadline, { () throws(ApplyError) in try zebraLost(Self.stackLinks(of: leaving)) })
                {
                    sentDrop = feed.send(leaving.sorted().map { "no " + $0 }.joined(separator: "\n") + "\n")
                }
            }
        }
        let r = feed.finish()
        if r.status == 0 { return ("", sentDrop) }
        // The `no vrf` lines alone failed (a daemon had not yet heard the
        // device is gone): the rest holds, step 7 sends them again.
        let first = script.split(separator: "\n", omittingEmptySubsequences: false).count
        if sentDrop, Self.failedLines(r.output).allSatisfy({ $0 >= first }), !Self.failedLines(r.output).isEmpty {
            return ("", false)
        }
        return ("vtysh -f (the delta, line by line) failed: \(r.summary)", false)
    }

    /// The line numbers vtysh -f names in its complaints (`line N: ...`).
    public static func failedLines(_ output: String) -> [Int] {
        output.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("line ") else { return nil }
            return Int(line.dropFirst(5).prefix { $0.isNumber })
        }
    }

    /// FRR no longer uses the VRFs' devices: zebra maps no VNI to them,
    /// bgpd has no instance in them and no neighbor on their `dv.` links.
    func released(_ devices: Set<String>) throws(ApplyError) -> Bool {
        let zebra = try FRRVty(daemon: "zebra", pathspace: frr.pathspace)
        let vnis = FRRCheck.vrfVNIs(try zebra.object("show vrf vni json"))
        if devices.contains(where: { vnis[$0] != nil }) { return false }
        guard FRRVty.daemons(pathspace: frr.pathspace).contains("bgpd") else { return true }
        let bgpd = try FRRVty(daemon: "bgpd", pathspace: frr.pathspace)
        guard let instances = FRRCheck.bgpInstances(try bgpd.object("show bgp vrfs json")) else { return false }
        if !instances.isDisjoint(with: devices) { return false }
        for d in devices where d.hasPrefix("vr.") {
            let neighbor = StackLink.defaultSide.prefix + d.dropFirst(3)
            if !FRRCheck.noSuchNeighbor(try bgpd.object("show bgp neighbors \(neighbor) json")) { return false }
        }
        return true
    }

    /// The default instance's `dv.` neighbors, of VRFs zebra calls active,
    /// whose peer address bgpd has not learnt yet. bgpd 8.4 keys its peer
    /// hash by that address and every interface neighbor without one shares
    /// the same empty key, which its comparison calls equal: deleting such
    /// a neighbor releases whichever entry comes first (the newest), so the
    /// freed neighbor can stay in the hash and bgpd dies on it at a later
    /// neighbor (SIGSEGV in sockunion_same <- hash_release, from
    /// peer_create or peer_delete). Once every `dv.` neighbor has its
    /// address the entries are exact again. A VRF without its device (a
    /// kernel without VRFs) never gets one: its `vd.` side has no active
    /// BGP instance to answer, so it is not waited for.
    func linkNeighborsWithoutAddress() throws(ApplyError) -> [String] {
        guard FRRVty.daemons(pathspace: frr.pathspace).contains("bgpd") else { return [] }
        let vrfs = FRRCheck.zebraVRFs(try FRRVty(daemon: "zebra", pathspace: frr.pathspace).run("show vrf").output)
        let neighbors = try FRRVty(daemon: "bgpd", pathspace: frr.pathspace).object("show bgp neighbors json")
        return Self.linkNeighborsWithoutAddress(neighbors, activeVRFs: Set(vrfs.filter(\.value).keys))
    }

    /// `show bgp neighbors json` of the default instance: the `dv.`
    /// neighbors of active VRFs that bgpd shows no address for.
    public static func linkNeighborsWithoutAddress(_ neighbors: [String: Any]?, activeVRFs: Set<String>) -> [String] {
        let side = StackLink.defaultSide.prefix
        return withoutAddress(neighbors).filter { name in
            name.hasPrefix(side) && activeVRFs.contains(StackLink.vrfDevice.prefix + name.dropFirst(side.count))
        }.sorted()
    }

    /// Before the removed VRFs' `dv.` neighbors are deleted, each must be in
    /// bgpd 8.4's peer hash (default instance) at most once, or the deleted
    /// neighbor stays in it and bgpd dies at the next interface neighbor it
    /// creates (SIGSEGV in sockunion_same <- hash_release <- peer_create,
    /// the VRF added again). Why a neighbor can be there twice: the hash is
    /// keyed by the peer address, an interface neighbor without one has the
    /// empty key, and a new neighbor is inserted (at the head) before it is
    /// marked configured, so several configured neighbors can sit under the
    /// empty key at once; when one learns its address bgpd releases the
    /// first configured one under the empty key (another neighbor's entry
    /// when it is not first) and inserts it under its address, so it stays
    /// under the empty key as well. That stale entry cannot be released
    /// while the neighbor has an address; `no neighbor` releases it under
    /// its address only and frees it. So here: the removed VRFs' `dv.` links
    /// go down (bgpd forgets their peer addresses: the neighbors are under
    /// the empty key again, where their stale entries match), then one
    /// `clear bgp dv.X` per configured neighbor without an address, plus
    /// one: each makes bgpd release the first configured entry under the
    /// empty key and insert the neighbor only when none is left, so the
    /// empty key ends with one removed neighbor at most, and `no neighbor`
    /// (two releases) leaves none. The links are deleted with the VRF
    /// anyway; a rollback's link plan brings them up again. A bgpd whose
    /// `show version` is FRR 10.3 or later skips all this
    /// (`peerHashKeepsStaleEntries`).
    func unhashLinkNeighbors(of vrfBlocks: [String], session: LinkSession, snapshot: KernelSnapshot) throws(ApplyError) {
        guard FRRVty.daemons(pathspace: frr.pathspace).contains("bgpd") else { return }
        let bgpd = try FRRVty(daemon: "bgpd", pathspace: frr.pathspace)
        if let version = Self.frrVersion(showVersion: try bgpd.run("show version").output),
            !Self.peerHashKeepsStaleEntries(version)
        {
            log("bgpd: FRR \(version.map(String.init).joined(separator: ".")) keeps no stale peer hash entry, nothing to purge")
            return
        }
        let before = try bgpd.object("show bgp neighbors json")
        let neighbors = Self.linkNeighbors(of: vrfBlocks).filter { before?[$0] != nil }
        guard !neighbors.isEmpty else { return }
        let links = neighbors.compactMap { name in snapshot.links.first { $0.name == name } }
        // On a failure before the delta the links come up again: nothing changed.
        func setLinks(up: Bool) throws(ApplyError) {
            for link in links {
                do throws(NetlinkError) {
                    try session.socket.setUp(index: link.index, name: link.name, up: up)
                } catch {
                    throw ApplyError("removing a VRF: setting \(link.name) \(up ? "up" : "down"): \(error)")
                }
            }
        }
        do throws(ApplyError) {
            try setLinks(up: false)
        } catch {
            try? setLinks(up: true)
            throw ApplyError("\(error.message); nothing was changed")
        }
        var answer = before
        var pending = neighbors
        let forgotten = waitUntil(ContinuousClock.now + .seconds(10)) { () throws(ApplyError) in
            answer = try bgpd.object("show bgp neighbors json")
            let without = Self.withoutAddress(answer)
            pending = neighbors.filter { !without.contains($0) }
            return pending.isEmpty
        }
        guard forgotten else {
            try? setLinks(up: true)
            throw ApplyError(
                "removing a VRF: 10 s after \(neighbors.joined(separator: ", ")) went down bgpd still had a peer address "
                    + "for \(pending.joined(separator: ", ")); the links are up again, nothing was changed")
        }
        let stops = Self.withoutAddress(answer).count + 1
        for i in 0..<stops {
            let name = neighbors[i % neighbors.count]
            let r = try bgpd.run("clear bgp \(name)")
            guard r.status == 0 else {
                try? setLinks(up: true)
                throw ApplyError("removing a VRF: bgpd refused clear bgp \(name): \(r.output); the links are up again, nothing was changed")
            }
            // A round trip before the next: bgpd runs the queued stop first
            // (a second one queued beside it would be flushed by it).
            _ = try bgpd.run("show bgp neighbors \(name) json")
        }
        log("bgpd: \(neighbors.joined(separator: ", ")) down, their addresses forgotten, \(stops) stops")
    }

    /// The first FRR whose bgpd cannot keep a deleted interface neighbor in
    /// its peer hash, read in FRR's source (8.4.4 and 10.3 as released):
    /// its `peer_create` marks a configured neighbor (`config_node`) before
    /// `hash_get`, so a second configured neighbor without an address finds
    /// the first under the empty key and is not inserted (8.4 inserted it
    /// unmarked, then marked it: two equal entries), and its
    /// `bgp_peer_conf_if_to_su_update` releases and re-inserts only when
    /// the address changed and the neighbor is still in the instance's
    /// list. With at most one entry per key, a neighbor's release can only
    /// take another live neighbor's entry, never leave a freed one behind.
    /// The change came between 8.4.4 and 10.3 (FRR's master had it by
    /// October 2023); no release in between was read, so they are purged.
    public static let peerHashFixedIn = [10, 3]

    /// The version `show version` names ("FRRouting 8.4.4 (host) on
    /// Linux(...)."): its leading numbers ("10.3-dev" and "9.1_git" count as
    /// 10.3 and 9.1); nil when the line is not there.
    public static func frrVersion(showVersion text: String) -> [Int]? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("FRRouting ") }) else { return nil }
        let word = line.dropFirst("FRRouting ".count).prefix { !$0.isWhitespace }
        var parts: [Int] = []
        for field in word.split(separator: ".", omittingEmptySubsequences: false) {
            let digits = field.prefix { $0.isASCII && $0.isNumber }
            guard let n = Int(digits) else { break }
            parts.append(n)
            if digits.count < field.count { break }
        }
        return parts.isEmpty ? nil : parts
    }

    /// bgpd of this version can keep a deleted interface neighbor in its
    /// peer hash (unhashLinkNeighbors must run): every FRR before
    /// `peerHashFixedIn`, and one whose version is unknown.
    public static func peerHashKeepsStaleEntries(_ version: [Int]?) -> Bool {
        guard let version else { return true }
        return version.lexicographicallyPrecedes(peerHashFixedIn)
    }

    /// The `dv.` side of the VRFs' stacks (`vrf vr.X` → dv.X).
    public static func linkNeighbors(of vrfBlocks: [String]) -> [String] {
        vrfBlocks.map { String($0.dropFirst(4)) }.filter { $0.hasPrefix(StackLink.vrfDevice.prefix) }
            .map { StackLink.defaultSide.prefix + $0.dropFirst(StackLink.vrfDevice.prefix.count) }
    }

    /// `show bgp neighbors json`: the neighbors bgpd shows no peer address for.
    public static func withoutAddress(_ neighbors: [String: Any]?) -> Set<String> {
        Set(
            (neighbors ?? [:]).compactMap { name, value -> String? in
                let address = (value as? [String: Any])?["bgpNeighborAddr"] as? String
                return address == nil || address == "none" ? name : nil
            })
    }

    /// The links of the VRFs' stacks (`vrf vr.X` → vr.X, br.X, vx.X, vd.X, dv.X).
    static func stackLinks(of vrfBlocks: Set<String>) -> Set<String> {
        Set(
            vrfBlocks.map { String($0.dropFirst(4)) }.filter { $0.hasPrefix("vr.") }
                .flatMap { d in StackLink.allCases.map { $0.prefix + d.dropFirst(3) } })
    }

    /// zebra no longer knows any of these interfaces (it has processed
    /// their deletion).
    func zebraLost(_ names: Set<String>) throws(ApplyError) -> Bool {
        let zebra = try FRRVty(daemon: "zebra", pathspace: frr.pathspace)
        for n in names.sorted() {
            guard let obj = try zebra.object("show interface \(n) json"), obj[n] == nil else { return false }
        }
        return true
    }

    /// zebra runs without EVPN (bgpd never asked it to advertise all VNIs):
    /// its `show evpn json` is empty. Then FRR 8.4 must not see a VRF's VNI
    /// removed: `no vni` while the VXLAN device with that VNI exists makes
    /// zebra keep the VNI as an L2 VNI on that device, and with EVPN off
    /// zebra does not drop it when the device goes, so it keeps a pointer
    /// to the freed interface; the VNI's next `vni` line (the VRF added
    /// again) follows it and zebra dies (SIGSEGV in
    /// zebra_evpn_vxl_evpn_set, reproduced by bench/reload.sh). With EVPN
    /// on, zebra deletes that L2 VNI with its device.
    func zebraWithoutEVPN() throws(ApplyError) -> Bool {
        try FRRVty(daemon: "zebra", pathspace: frr.pathspace).object("show evpn json")?.isEmpty ?? true
    }

    /// zebra has no kernel device for any of the VRFs (it lists them
    /// inactive, or not at all).
    func inactive(_ devices: Set<String>) throws(ApplyError) -> Bool {
        let listed = FRRCheck.zebraVRFs(try FRRVty(daemon: "zebra", pathspace: frr.pathspace).run("show vrf").output)
        return !devices.contains { listed[$0] == true }
    }

    /// Polls `check` (a daemon that does not answer counts as no) until it
    /// holds or the deadline passes.
    func waitUntil(_ deadline: ContinuousClock.Instant, _ check: () throws(ApplyError) -> Bool) -> Bool {
        while true {
            if (try? check()) == true { return true }
            if ContinuousClock.now >= deadline { return false }
            usleep(20_000)
        }
    }

    /// The removal delta's targets, each asked of its daemon: the
    /// prefix-lists and route-maps as for a policy delta, no VNI and no BGP
    /// instance for the VRFs, the removed neighbors gone, and with
    /// `dropped` zebra no longer listing the VRFs.
    func verifyRemoval(_ t: FRRCheck.RemovalTargets, dropped: Bool, config: String, previous: String?) throws(ApplyError) -> [String] {
        var problems = try verifyTargets(t.policy, config: config, previous: previous)
        let zebra = try FRRVty(daemon: "zebra", pathspace: frr.pathspace)
        let vnis = FRRCheck.vrfVNIs(try zebra.object("show vrf vni json"))
        for d in t.vrfs.sorted() where vnis[d] != nil { problems.append("zebra still maps VNI \(vnis[d]!) to \(d)") }
        if dropped {
            let listed = FRRCheck.zebraVRFs(try zebra.run("show vrf").output)
            for d in t.vrfs.sorted() where listed[d] != nil { problems.append("zebra still has vrf \(d)") }
        }
        if FRRVty.daemons(pathspace: frr.pathspace).contains("bgpd") {
            let bgpd = try FRRVty(daemon: "bgpd", pathspace: frr.pathspace)
            guard let instances = FRRCheck.bgpInstances(try bgpd.object("show bgp vrfs json")) else {
                return problems + ["bgpd's 'show bgp vrfs json' is not what vrfc reads"]
            }
            for d in t.vrfs.sorted() where instances.contains(d) { problems.append("bgpd still runs a BGP instance in \(d)") }
            for (instance, names) in t.neighbors.sorted(by: { $0.key < $1.key }) {
                for n in names.sorted() where !FRRCheck.noSuchNeighbor(try bgpd.object("show bgp neighbors \(n) json")) {
                    problems.append("bgpd still has neighbor \(n) in \(instance)")
                }
            }
        } else if !t.neighbors.isEmpty {
            problems.append("no bgpd vty socket to ask about the removed neighbors")
        }
        return problems
    }

    /// Before a whole-file reload that removes VRFs: their VNIs go first,
    /// one small `vtysh -f`. frr-reload.py takes `router bgp ... vrf NAME`
    /// away before the `vni` in the (kept) `vrf NAME` block, and bgpd
    /// refuses to delete a VRF instance whose L3VNI zebra still has
    /// ("Please unconfigure l3vni"). The delta orders this itself.
    func givingUpVNIs(of vrfs: Set<String>, state: KeptState) throws(ApplyError) -> String? {
        if vrfs.isEmpty { return nil }
        let running = FRRConfigTree(try frr.show("show running-config"))
        let lines = running.entries.filter { $0.path.count == 1 && vrfs.contains($0.path[0]) && $0.text.hasPrefix("vni ") }
            .flatMap { [$0.path[0], " no " + $0.text, "exit-vrf"] }
        if lines.isEmpty { return nil }
        let file = try state.scratch("frr.vni-removal", lines.joined(separator: "\n") + "\n")
        let r = frr.load(file)
        return r.status == 0 ? nil : "vtysh -f \(file) failed: \(r.summary)"
    }
}
