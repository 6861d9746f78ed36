import ArgumentParser
import Foundation
import VRFCBundle
import VRFCCLI
import VRFCDriver
import VRFCFRR
import VRFCFrontend
import VRFCKernel
import VRFCModel

/// Exit codes are a contract (CI scripts depend on them): 0 success,
/// 1 invalid input or `--check` mismatch, 2 usage error.
enum Exit {
    static let invalidInput: Int32 = 1
}

@main
struct VRFC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrfc",
        abstract: "Compile VRF route-leaking intent into FRR config and kernel ops.",
        discussion: """
            vrfc reads the node config (VRF → VNI map) and VRFRouteConfiguration objects, \
            validates them, builds one intermediate representation and renders it as the \
            node's frr.conf (from its hinted base config) or as the kernel op list that \
            vrfc-apply executes.
            """,
        subcommands: [Compile.self, Diff.self, Explain.self, Graph.self, Templates.self],
        defaultSubcommand: nil
    )

    static func main() { runWithUsageExit() }
}

/// Warnings the way compilers print them, on stderr; the compile goes on.
func reportWarnings(_ warnings: [Diagnostic]) {
    guard !warnings.isEmpty else { return }
    FileHandle.standardError.write(Data((warnings.map(\.description).joined(separator: "\n") + "\n").utf8))
}

/// Prints diagnostics the way compilers do, one per line, on stderr.
func report(_ diags: Diagnostics) {
    var text = diags.items.map(\.description).joined(separator: "\n") + "\n"
    let n = diags.items.count
    text += "vrfc: \(n) error\(n == 1 ? "" : "s"); nothing was written\n"
    FileHandle.standardError.write(Data(text.utf8))
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a node's inputs into frr.conf, IR or kernel ops.",
        discussion: """
            INPUT is a file, a directory (read recursively in name order; .yaml, .yml and \
            .json files) or '-' for stdin. Files may hold one object, several YAML \
            documents, a Kubernetes List (kubectl get vrfrouteconfigurations -o yaml) or JSON.

            Exit status: 0 success, 1 invalid input or --check mismatch (messages on \
            stderr name file, object and field), 2 usage error.

            Examples:
              vrfc compile --config config.yaml --template frr.conf --hostname node-a \\
                  --router-id 192.0.2.129 crs/
              vrfc compile --config config.yaml --template frr.conf --hostname node-a \\
                  --router-id 192.0.2.129 --check golden/node-a.conf crs/
              kubectl get vrfrouteconfigurations -o yaml | \\
                  vrfc compile --config config.yaml --emit ir -
            """
    )

    @Option(name: .long, help: ArgumentHelp("The node config (VRF → VNI map, skipVRFConfig, bpfInterfaces, serverASN).", valueName: "FILE"))
    var config: String = NodeConfigPath.default

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The node's base frr.conf with #++{{.X}} hint lines, or an already converted frr.conf.tpl. Required for --emit frr.",
            valueName: "FILE"))
    var template: String?

    @Option(
        name: .customLong("router-id"),
        help: ArgumentHelp("Router-id of the generated BGP instances and {{.UnderlayRouterID}}, e.g. 192.0.2.129.", valueName: "IPV4"))
    var routerID: String?

    @Option(name: .long, help: ArgumentHelp("Value of {{.Hostname}} in the base config, e.g. node-a.", valueName: "NAME"))
    var hostname: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Directory of .mustache files replacing shipped section templates of the same name (see 'vrfc templates').", valueName: "DIR"))
    var templates: String?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Write the output to FILE atomically (not at all when anything is invalid) instead of stdout.", valueName: "FILE"))
    var output: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What to produce: frr (frr.conf), ir (the IR as JSON), ops (the kernel op list as JSON), bundle (IR, op list, frr.conf when --template is given, and with --running-ir the delta: what vrfc-apply reads from its unprivileged compile) or cni (the node's CNI conflist for its own pod CIDRs; needs podRoutes in the node config).",
            valueName: "frr|ir|ops|bundle|cni"))
    var emit: Emit = .frr

    @Option(
        name: .customLong("running-ir"),
        help: ArgumentHelp(
            "With --emit bundle: the IR of the config FRR runs; the bundle then carries the FRR commands from that config to the new one.",
            valueName: "FILE"))
    var runningIR: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Compare the output with GOLDEN instead of printing it; print a unified diff and exit 1 when they differ.", valueName: "GOLDEN")
    )
    var check: String?

    @Option(
        name: .customLong("table-range"),
        help: ArgumentHelp("Routing tables for new VRFs in the op list, e.g. 50-79.", valueName: "FIRST-LAST"))
    var tableRange: String = TableRange.default.description

    @Option(name: .long, help: ArgumentHelp("Underlay interface whose IPv4 address is the VTEP address (op list).", valueName: "IFNAME"))
    var underlay: String = KernelBackend.defaultUnderlay.value

    @Argument(
        help: ArgumentHelp(
            "Files, directories, or '-' for stdin, holding VRFRouteConfiguration objects and, for returnPath and podRoutes, MetalLB's configuration (BGPPeer, IPAddressPool, BGPAdvertisement, or its ConfigMap) and Node objects.",
            valueName: "INPUT"))
    var inputs: [String] = []

    enum Emit: String, ExpressibleByArgument, CaseIterable {
        case frr, ir, ops, bundle, cni
    }

    func validate() throws {
        if emit == .frr && template == nil {
            throw ValidationError("--emit frr needs the base config: pass --template FILE")
        }
        if runningIR != nil && (emit != .bundle || template == nil) {
            throw ValidationError("--running-ir is for --emit bundle with --template FILE")
        }
        if output != nil && check != nil {
            throw ValidationError("--check compares instead of writing: pass either -o or --check, not both")
        }
        if inputs.isEmpty {
            throw ValidationError("no INPUT given: pass CR files, directories, or '-' for stdin")
        }
        if let r = routerID, IPv4Address(parsing: r[...])?.description != r {
            throw ValidationError("--router-id '\(r)' is not an IPv4 address like 192.0.2.1")
        }
        if let h = hostname {
            do { _ = try Hostname(validating: h) } catch { throw ValidationError("--hostname '\(h)': expected \(error.expected)") }
        }
        if TableRange(parsing: tableRange) == nil {
            throw ValidationError(
                "--table-range '\(tableRange)': expected FIRST-LAST within \(TableRange.allowed.lowerBound)-\(TableRange.allowed.upperBound), e.g. 50-79"
            )
        }
        do { _ = try InterfaceName(validating: underlay) } catch {
            throw ValidationError("--underlay '\(underlay)': expected \(error.expected)")
        }
        if let output { try refuseOverwritingAnInput(output) }
    }

    /// `-o` must not replace a file this run reads: compared by device and
    /// inode, so symlinks and hard links to an input are caught too.
    func refuseOverwritingAnInput(_ output: String) throws {
        guard let out = FileIdentity.of(output) else { return }
        var named: [(flag: String, path: String)] = [("--config", config)]
        if let template { named.append(("--template", template)) }
        if let templates, let entries = try? FileManager.default.contentsOfDirectory(atPath: templates) {
            for entry in entries.sorted() where entry.hasSuffix(".mustache") { named.append(("--templates", templates + "/" + entry)) }
        }
        var ignored: [Diagnostic] = []
        for input in inputs where input != "-" {
            for file in InputFiles.expand(input, &ignored) { named.append(("INPUT", file)) }
        }
        if let clash = named.first(where: { FileIdentity.of($0.path) == out }) {
            let same = clash.path == output ? "" : " \(UserText.quoted(clash.path))"
            throw ValidationError(
                "-o \(UserText.quoted(output)) is the \(clash.flag) input\(same); writing it would destroy it: choose another output path")
        }
    }

    func run() throws {
        let range = TableRange(parsing: tableRange)!
        let options = NodeOptions(
            routerID: routerID.flatMap { IPv4Address(parsing: $0[...]) },
            hostname: hostname.flatMap { try? Hostname(validating: $0) },
            vrfTables: range.first...range.last)
        let text: String
        do throws(Diagnostics) {
            let (ir, warnings) = try Compiler.compile(.init(config: config, objects: inputs, options: options))
            reportWarnings(warnings)
            switch emit {
            case .cni:
                guard let network = ir.routing?.podNetwork else {
                    throw Diagnostics([
                        Diagnostic(
                            SourceLocation(file: config), "--emit cni needs podRoutes and nodeName in the node config",
                            fix: "add podRoutes (README \"Pod routes\")")
                    ])
                }
                guard !network.podCIDRs.isEmpty else {
                    throw Diagnostics([
                        Diagnostic(
                            SourceLocation(file: config),
                            "this node's Node object has no podCIDRs: there is no range for its CNI configuration",
                            fix: "Kubernetes assigns pod CIDRs when kube-controller-manager runs with --allocate-node-cidrs")
                    ])
                }
                text = JSONOutput.encode(CNIConfig(network))
            case .ir:
                text = JSONOutput.encode(ir)
            case .ops:
                let kernel = KernelBackend.Options(
                    underlay: try! InterfaceName(validating: underlay),
                    tableRange: TableRange(parsing: tableRange)!)
                text = JSONOutput.encode(KernelBackend.ops(ir, options: kernel))
            case .bundle:
                let kernel = KernelBackend.Options(
                    underlay: try! InterfaceName(validating: underlay),
                    tableRange: TableRange(parsing: tableRange)!)
                let base = try template.map { p throws(Diagnostics) in try Compiler.baseConfig(p) }
                let running = try runningIR.map { p throws(Diagnostics) in try Compiler.readIR(p, reusing: ir) }
                let bundle = try Compiler.bundle(
                    ir, base: base, templates: try TemplateSet(overrides: templates),
                    running: running, kernel: kernel)
                text = Timings.measure("encode the bundle") { bundle.encoded() }
            case .frr:
                let base = try Compiler.baseConfig(template!)
                let set = try TemplateSet(overrides: templates)
                text = try Compiler.frr(ir, base: base, templates: set)
            }
        } catch {
            report(error)
            throw ExitCode(Exit.invalidInput)
        }

        if let golden = check {
            guard let data = FileManager.default.contents(atPath: golden) else {
                FileHandle.standardError.write(Data("\(UserText.printable(golden, limit: 300)): error: cannot read the golden file\n".utf8))
                throw ExitCode(Exit.invalidInput)
            }
            let expected = String(decoding: data, as: UTF8.self)
            if let diff = UnifiedDiff.diff(old: expected, new: text, oldName: golden, newName: "vrfc compile output") {
                print(diff, terminator: "")
                FileHandle.standardError.write(Data("vrfc: output differs from \(UserText.printable(golden, limit: 300))\n".utf8))
                throw ExitCode(Exit.invalidInput)
            }
            return
        }
        if let output {
            do {
                try Timings.measure("write \(output)") { try AtomicFile.write(text, to: output) }
            } catch {
                FileHandle.standardError.write(
                    Data(
                        "\(UserText.printable(output, limit: 300)): error: cannot write: \(UserText.printable("\(error)", limit: 500))\n"
                            .utf8))
                throw ExitCode(Exit.invalidInput)
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

struct Templates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print or copy the shipped section templates, to start an override directory.",
        discussion: """
            Example:
              vrfc templates --dump my-templates/   # then edit, and pass --templates my-templates/
            """
    )

    @Option(name: .long, help: ArgumentHelp("Write each shipped template into DIR instead of printing them.", valueName: "DIR"))
    var dump: String?

    func run() throws {
        for hint in Hint.allCases {
            let name = hint.templateName + ".mustache"
            let source = TemplateSet.shippedSource(hint)
            if let dump {
                try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
                try AtomicFile.write(source, to: (dump as NSString).appendingPathComponent(name))
            } else {
                print("==> \(name) (hint #++{{.\(hint.rawValue)}}) <==")
                print(source)
            }
        }
    }
}
