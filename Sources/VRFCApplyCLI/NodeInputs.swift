import ArgumentParser
import Foundation
import VRFCApply
import VRFCBPF
import VRFCCLI
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// The options of the node that `plan`, `apply` and `agent` share: what to
/// compile (or a ready op list or bundle), what root allows the router on,
/// how the kernel side is set up. Declared once, so the three commands read
/// the same flags the same way.
public struct NodeInputs: ParsableArguments {
    public init() {}

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The node config, as for vrfc compile (default: $OPERATOR_CONFIG or \(NodeConfigPath.fallback)). It must be owned by root and not writable by group or others: its bpfInterfaces are the interfaces besides vrfc's own that the tc router may be attached to. With --ops or --bundle, only that list is read from it.",
            valueName: "FILE"))
    public var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A ready op list (vrfc compile --emit ops), or '-' for stdin, instead of compiling INPUT.", valueName: "FILE"))
    public var ops: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A ready bundle (vrfc compile --emit bundle: op list, frr.conf, IR) instead of compiling INPUT.", valueName: "FILE"))
    public var bundle: String?

    @Option(
        name: .customLong("bpf-interface"),
        help: ArgumentHelp(
            "An interface besides vrfc's own links that the tc router may be attached to (repeatable). The op list's router attachments must be vrfc's links, these, or the --config file's bpfInterfaces.",
            valueName: "IFNAME"))
    public var bpfInterfaces: [String] = []

    @Flag(
        name: .long,
        help:
            "Delete vrfc's bridges and VRFs that are no longer wanted even when interfaces that are not vrfc's are enslaved to them (they are detached)."
    )
    public var force = false

    @Option(
        name: .customLong("run-dir"),
        help: ArgumentHelp(
            "Where the creation log and the clsact record live (tmpfs: they describe this boot's links); a root-owned directory of mode 0700 (created so).",
            valueName: "DIR"))
    public var runDirectory = StateDirectory.defaultPath

    @Option(
        name: .customLong("table-names-file"),
        help: ArgumentHelp(
            "vrfc's rt_tables.d file naming its owned tables for iproute2 (the node config's returnPath.tableName); 'none': not kept.",
            valueName: "PATH"))
    public var tableNamesPath = TableNamesFile.defaultPath

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Underlay interface whose single IPv4 address is the VTEP address (default: the op list's, dum.underlay).", valueName: "IFNAME")
    )
    public var underlay: String?

    @Option(
        name: .customLong("table-range"),
        help: ArgumentHelp(
            "Routing tables for new VRFs (default: the op list's, 50-79). Widen it for many VRFs, e.g. 1000-1999.", valueName: "FIRST-LAST")
    )
    public var tableRange: String?

    @Flag(
        name: .long,
        help:
            "Take over links with vrfc's names that match its settings exactly but lack its marker (e.g. made by the Go network-operator).")
    public var adopt = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Work in the named network namespace (/run/netns/NAME), like ip -n. Unlike `ip netns exec`, whose private /sys hides the host's bpffs, it keeps the router's maps pinned (without pins vrfc finds them through the kernel).",
            valueName: "NAME"))
    public var netns: String?

    @Option(
        name: .customLong("bpf-pin-dir"), help: ArgumentHelp("Where the tc router program's maps are pinned (bpffs).", valueName: "DIR"))
    public var bpfPinDirectory = TCRouterAttacher.defaultPinDirectory

    @Option(
        name: .customLong("compile-user"),
        help: ArgumentHelp(
            "The unprivileged account that compiles the inputs when vrfc-apply runs as root (vrfc next to vrfc-apply, as a child without capabilities).",
            valueName: "USER"))
    public var compileUser = CompileRequest.defaultUser

    @Option(
        name: .long,
        help: ArgumentHelp("Router-id of the generated BGP instances and {{.UnderlayRouterID}} (as for vrfc compile).", valueName: "IPV4"))
    public var routerID: String?

    @Option(name: .long, help: ArgumentHelp("Value of {{.Hostname}} in the base config (as for vrfc compile).", valueName: "NAME"))
    public var hostname: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Directory of section templates replacing the shipped ones (as for vrfc compile).", valueName: "DIR"))
    public var templates: String?

    @Argument(help: ArgumentHelp("VRFRouteConfiguration files or directories, as for vrfc compile.", valueName: "INPUT"))
    public var inputs: [String] = []

    /// The values as read, for code that takes them without swift-argument-parser.
    public var settings: NodeSettings {
        NodeSettings(
            config: config, ops: ops, bundle: bundle, bpfInterfaces: bpfInterfaces, force: force, runDirectory: runDirectory,
            tableNamesPath: tableNamesPath, underlay: underlay, tableRange: tableRange, adopt: adopt, netns: netns,
            bpfPinDirectory: bpfPinDirectory, compileUser: compileUser, routerID: routerID, hostname: hostname, templates: templates,
            inputs: inputs)
    }

    public func validate() throws { try settings.validate() }
    public func requireOpList() throws { try settings.requireOpList() }
    public var tableNamesFile: TableNamesFile? { settings.tableNamesFile }
    public var source: OpListSource { settings.source }
    public var nodeConfig: String { settings.nodeConfig }
    public var compileRequest: CompileRequest { settings.compileRequest }
    public var trustSources: TrustSources { settings.trustSources }
    public func trusted() -> (AttachmentTrust, Data?) { settings.trusted() }
    public var overrides: NodeOverrides { settings.overrides }
    public func enterNamespace() { settings.enterNamespace() }
    public func loadOps() -> OpList { settings.loadOps() }
    public func routerAttacher() -> any RouterAttacher { settings.routerAttacher() }
    public func session(_ ops: OpList, exclusive: Bool) throws(ApplyError) -> LinkSession {
        try settings.session(ops, exclusive: exclusive)
    }
}

/// NodeInputs' values as a plain value: what `plan` and `apply` run on, made
/// by swift-argument-parser's NodeInputs or by PlainArguments alone.
public struct NodeSettings: Equatable, Sendable {
    public var config: String?
    public var ops: String?
    public var bundle: String?
    public var bpfInterfaces: [String]
    public var force: Bool
    public var runDirectory: String
    public var tableNamesPath: String
    public var underlay: String?
    public var tableRange: String?
    public var adopt: Bool
    public var netns: String?
    public var bpfPinDirectory: String
    public var compileUser: String
    public var routerID: String?
    public var hostname: String?
    public var templates: String?
    public var inputs: [String]

    /// The defaults are NodeInputs' (a test compares them).
    public init(
        config: String? = nil, ops: String? = nil, bundle: String? = nil, bpfInterfaces: [String] = [], force: Bool = false,
        runDirectory: String = StateDirectory.defaultPath, tableNamesPath: String = TableNamesFile.defaultPath, underlay: String? = nil,
        tableRange: String? = nil, adopt: Bool = false, netns: String? = nil,
        bpfPinDirectory: String = TCRouterAttacher.defaultPinDirectory,
        compileUser: String = CompileRequest.defaultUser, routerID: String? = nil, hostname: String? = nil, templates: String? = nil,
        inputs: [String] = []
    ) {
        self.config = config
        self.ops = ops
        self.bundle = bundle
        self.bpfInterfaces = bpfInterfaces
        self.force = force
        self.runDirectory = runDirectory
        self.tableNamesPath = tableNamesPath
        self.underlay = underlay
        self.tableRange = tableRange
        self.adopt = adopt
        self.netns = netns
        self.bpfPinDirectory = bpfPinDirectory
        self.compileUser = compileUser
        self.routerID = routerID
        self.hostname = hostname
        self.templates = templates
        self.inputs = inputs
    }

    /// The table-names file this run keeps, if any.
    public var tableNamesFile: TableNamesFile? { tableNamesPath == "none" ? nil : TableNamesFile(tableNamesPath) }

    /// Checks every command needs; whether some source is required at all
    /// is the command's call (`requireOpList`; the agent's --clean needs none).
    public func validate() throws {
        if [ops != nil, bundle != nil, !inputs.isEmpty].filter({ $0 }).count > 1 {
            throw ValidationError("pass one of --ops FILE, --bundle FILE, or INPUT... (with --config FILE)")
        }
        for b in bpfInterfaces {
            do { _ = try InterfaceName(validating: b) } catch {
                throw ValidationError("--bpf-interface '\(b)': expected \(error.expected)")
            }
        }
        if let u = underlay {
            do { _ = try InterfaceName(validating: u) } catch { throw ValidationError("--underlay '\(u)': expected \(error.expected)") }
        }
        if let r = tableRange, TableRange(parsing: r) == nil {
            throw ValidationError("--table-range '\(r)': expected \(TableRange.rule)")
        }
    }

    /// `plan` and `apply` need an op list from somewhere.
    public func requireOpList() throws {
        if ops == nil && bundle == nil && inputs.isEmpty {
            throw ValidationError("no op list: pass --ops FILE, or --config FILE and INPUT... (CR files or directories)")
        }
    }

    public var source: OpListSource {
        if let ops { return .file(ops) }
        if let bundle { return .bundle(bundle) }
        return .compile(compileRequest)
    }

    public var nodeConfig: String { config ?? NodeConfigPath.default }

    public var compileRequest: CompileRequest {
        CompileRequest(config: nodeConfig, inputs: inputs, hostname: hostname, routerID: routerID, templates: templates, user: compileUser)
    }

    /// Where the op list's router attachments may point besides vrfc's
    /// links: only what root controls (--bpf-interface, and the root-owned
    /// node config when it is given or compiled, compiled alone by the
    /// unprivileged child).
    public var trustSources: TrustSources {
        TrustSources(
            bpfInterfaces: bpfInterfaces.compactMap { try? InterfaceName(validating: $0) },
            nodeConfig: config != nil || !inputs.isEmpty ? nodeConfig : nil, compileUser: compileUser)
    }

    public func trusted() -> (AttachmentTrust, Data?) {
        do throws(ApplyError) {
            return try trustSources.read()
        } catch {
            ApplyCLI.fail(error.message)
        }
    }

    public var overrides: NodeOverrides {
        NodeOverrides(
            underlay: underlay.flatMap { try? InterfaceName(validating: $0) },
            tableRange: tableRange.flatMap { TableRange(parsing: $0) })
    }

    /// Enters --netns before any socket (netlink, lock) is opened.
    public func enterNamespace() {
        guard let netns else { return }
        do throws(NetlinkError) {
            try NetlinkSocket.enterNamespace(netns)
        } catch {
            ApplyCLI.fail("\(error)")
        }
    }

    public func loadOps() -> OpList {
        do throws(ApplyError) {
            let (trust, text) = trusted()
            // The op list is compiled from the very bytes the trust was read from.
            return try OpListLoader.load(source.withConfig(text, readFrom: nodeConfig), overrides: overrides, trust: trust)
        } catch {
            ApplyCLI.fail(error.message)
        }
    }

    /// The tc router program (bpf/router.c, embedded at build time). One
    /// instance per run, so the snapshot, the executor and the read-back
    /// share one loaded program.
    public func routerAttacher() -> any RouterAttacher {
        TCRouterAttacher(pinDirectory: bpfPinDirectory)
    }

    public func session(_ ops: OpList, exclusive: Bool) throws(ApplyError) -> LinkSession {
        try LinkSession(
            ops: ops, adopt: adopt, force: force, attacher: routerAttacher(), runDirectory: runDirectory, tableNames: tableNamesFile,
            exclusive: exclusive)
    }
}

/// How `apply` and `agent` reach FRR (`--frr-config` and what goes with it).
public struct FRROptions: ParsableArguments {
    public init() {}

    @Option(
        name: .customLong("frr-config"),
        help: ArgumentHelp(
            "Also write this frr.conf and reload FRR, between creating the links (down) and bringing them up.", valueName: "PATH"))
    public var frrConfig: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --frr-config: the hinted base config (default: the file at --frr-config while it has hint lines, else the base kept in --state-dir).",
            valueName: "FILE"))
    public var template: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --frr-config: systemd (ReloadUnit frr.service over D-Bus, waiting for the job's result), frr-reload (FRR's frr-reload.py), delta (vrfc's own difference from the config FRR runs, one vtysh -f) or none (write only). Default: delta where vrfc knows what FRR runs, else systemd on systemd hosts, else frr-reload.",
            valueName: "systemd|frr-reload|delta|none"))
    public var reload: ReloadStrategy?

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("Where the last known good frr.conf, its IR and the base config are kept (root only, 0700).", valueName: "DIR"))
    public var stateDir = KeptState.defaultDirectory

    @Option(
        name: .customLong("frr-pathspace"),
        help: ArgumentHelp("Talk to the FRR started with -N NAME (vtysh -N NAME), e.g. a second instance.", valueName: "NAME"))
    public var frrPathspace: String?

    /// The values as read, for code that takes them without swift-argument-parser.
    public var settings: FRRSettings {
        FRRSettings(frrConfig: frrConfig, template: template, reload: reload, stateDir: stateDir, frrPathspace: frrPathspace)
    }

    /// The reconcile's options for this node (links' settings from `node`).
    public func reconcileOptions(_ frrConfig: String, _ node: NodeInputs) -> ReconcileOptions {
        settings.reconcileOptions(frrConfig, node.settings)
    }
}

/// FRROptions' values as a plain value (see NodeSettings).
public struct FRRSettings: Equatable, Sendable {
    public var frrConfig: String?
    public var template: String?
    public var reload: ReloadStrategy?
    public var stateDir: String
    public var frrPathspace: String?

    /// The defaults are FRROptions' (a test compares them).
    public init(
        frrConfig: String? = nil, template: String? = nil, reload: ReloadStrategy? = nil, stateDir: String = KeptState.defaultDirectory,
        frrPathspace: String? = nil
    ) {
        self.frrConfig = frrConfig
        self.template = template
        self.reload = reload
        self.stateDir = stateDir
        self.frrPathspace = frrPathspace
    }

    /// The reconcile's options for this node (links' settings from `node`).
    public func reconcileOptions(_ frrConfig: String, _ node: NodeSettings) -> ReconcileOptions {
        var options = ReconcileOptions(
            frrConfig: frrConfig, template: template, stateDirectory: stateDir, reload: reload,
            frr: FRRControl(pathspace: frrPathspace), adopt: node.adopt, overrides: node.overrides)
        options.force = node.force
        options.runDirectory = node.runDirectory
        options.tableNames = node.tableNamesFile
        return options
    }
}

// `--reload` of apply and agent.
extension ReloadStrategy: ExpressibleByArgument {}

/// vrfc-apply's way out on an error: the message on stderr, then exit.
public enum ApplyCLI {
    /// Refused or failed (0 done, 2 usage, 3 and 4 `plan`'s pending and incomplete).
    public static let failed: Int32 = 1

    public static func fail(_ message: String, code: Int32 = failed) -> Never {
        FileHandle.standardError.write(Data(("vrfc-apply: " + message + "\n").utf8))
        exit(code)
    }
}
