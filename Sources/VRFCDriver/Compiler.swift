import Foundation
import VRFCBundle
import VRFCFRR
import VRFCFrontend
import VRFCKernel
import VRFCModel

/// The whole pipeline, inputs → IR → backends, as one call used by `vrfc`
/// and `vrfc-apply` alike. Every stage reports all its problems; a later
/// stage runs only when the earlier ones found none.
public enum Compiler {
    public struct Inputs: Sendable {
        public var config: String
        public var objects: [String]
        public var options: NodeOptions

        public init(config: String, objects: [String], options: NodeOptions = NodeOptions()) {
            self.config = config
            self.objects = objects
            self.options = options
        }
    }

    /// Reads and validates the node config and the CRs, and lowers them to IR.
    public static func ir(_ inputs: Inputs, stdin: @escaping () -> Data = { FileHandle.standardInput.readDataToEndOfFile() })
        throws(Diagnostics) -> NodeIR
    {
        try compile(inputs, stdin: stdin).ir
    }

    /// The IR and what deserves a warning (printed; the compile goes on).
    public static func compile(_ inputs: Inputs, stdin: @escaping () -> Data = { FileHandle.standardInput.readDataToEndOfFile() })
        throws(Diagnostics)
        -> (ir: NodeIR, warnings: [Diagnostic])
    {
        var diags: [Diagnostic] = []
        var configFile: [InputFile] = []
        if inputs.config == "-" && inputs.objects.contains("-") {
            diags.append(
                Diagnostic(
                    SourceLocation(file: InputFiles.stdinName), "stdin cannot be both the node config and an input",
                    fix: "pass one of them as a file"))
        } else if inputs.config == "-" {
            (configFile, diags) = InputFiles.read(["-"], stdin: stdin)
        } else {
            InputFiles.readFile(inputs.config, into: &configFile, &diags)
        }
        var config: NodeConfig? = nil
        if let file = configFile.first {
            do throws(Diagnostics) {
                config = try NodeConfig.parse(file)
            } catch {
                diags += error.items
            }
        }
        let (files, readDiags) = Timings.measure("read inputs") { InputFiles.read(inputs.objects, stdin: stdin) }
        diags += readDiags
        let (objects, objectDiags) = Timings.measure("parse and validate") { InputObjects.parse(files) }
        diags += objectDiags
        guard diags.isEmpty, let config else { throw Diagnostics(diags) }
        let start = Timings.now()
        defer { Timings.report("lower to IR", since: start) }
        let routing = RoutingLowering.lower(config: config, objects: objects, vrfTables: inputs.options.vrfTables)
        var ir: NodeIR
        do throws(Diagnostics) {
            ir = try Lowering.lower(config: config, objects: objects.routeConfigurations, options: inputs.options)
        } catch {
            throw Diagnostics((error.items + routing.errors).sorted(by: Lowering.messageOrder))
        }
        if !routing.errors.isEmpty { throw Diagnostics(routing.errors) }
        ir.routing = routing.routing
        return (ir, routing.warnings)
    }

    /// Loads a base config (hinted `frr.conf` or `.tpl`).
    public static func baseConfig(_ path: String) throws(Diagnostics) -> BaseConfig {
        // Capped like every input: `--template /dev/zero` must not fill memory.
        guard let handle = FileHandle(forReadingAtPath: path), let data = InputFiles.readCapped(handle) else {
            throw Diagnostics([
                Diagnostic(
                    SourceLocation(file: path), "cannot read the base FRR config", fix: "pass the node's hinted frr.conf with --template")
            ])
        }
        if data.count > InputFiles.maxBytes {
            throw Diagnostics([
                Diagnostic(SourceLocation(file: path), "the base FRR config is larger than \(InputFiles.maxBytes >> 20) MiB")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Diagnostics([Diagnostic(SourceLocation(file: path), "the base FRR config is not UTF-8 text")])
        }
        return try BaseConfig(text: text, file: path)
    }

    public static func frr(_ ir: NodeIR, base: BaseConfig, templates: TemplateSet) throws(Diagnostics) -> String {
        let start = Timings.now()
        defer { Timings.report("render frr.conf", since: start) }
        return try FRRBackend.render(ir, base: base, templates: templates)
    }

    /// Everything one reconcile on the node needs (`--emit bundle`): IR, op
    /// list, frr.conf when a base config is given, and with `running` (the
    /// IR FRR runs) the delta from that config to the new one. A running
    /// IR that no longer renders with this base config gives no delta: the
    /// node then reloads the whole file.
    public static func bundle(
        _ ir: NodeIR, base: BaseConfig?, templates: TemplateSet, running: NodeIR?,
        kernel: KernelBackend.Options
    ) throws(Diagnostics) -> CompileBundle {
        let ops = KernelBackend.ops(ir, options: kernel)
        guard let base else { return CompileBundle(ir: ir, ops: ops, frrConf: nil, frame: nil, delta: nil) }
        let conf = try frr(ir, base: base, templates: templates)
        var bare = ir
        bare.vrfs = []
        let frame = try frr(bare, base: base, templates: templates)
        var delta: FRRDelta? = nil
        if let running {
            let start = Timings.now()
            delta = try? FRRDeltaRenderer.delta(from: running, to: ir, base: base, templates: templates)
            Timings.report("delta", since: start)
        }
        return CompileBundle(ir: ir, ops: ops, frrConf: conf, frame: frame, delta: delta)
    }

    /// Reads an IR printed by `--emit ir` (or kept by vrfc-apply); decoding
    /// re-validates every name.
    public static func readIR(_ path: String) throws(Diagnostics) -> NodeIR {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Diagnostics([Diagnostic(SourceLocation(file: path), "cannot read the IR file")])
        }
        return try decodeIR(data, path: path)
    }

    /// The kept IR beside a new one (`--running-ir`): a VRF whose JSON text
    /// is the text `new` has for one of its VRFs is that VRF (the writer is
    /// deterministic, and decoding its text gives the value back), so only
    /// the VRFs that changed are decoded. On a large node with a small
    /// change that is a few of a hundred, where decoding them all took
    /// about a third of the compile. Any other shape is decoded whole.
    public static func readIR(_ path: String, reusing new: NodeIR) throws(Diagnostics) -> NodeIR {
        let start = Timings.now()
        defer { Timings.report("read the running IR", since: start) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Diagnostics([Diagnostic(SourceLocation(file: path), "cannot read the IR file")])
        }
        if let split = BundleJSON.splitVRFs(String(decoding: data, as: UTF8.self)),
            var ir = try? JSONDecoder().decode(NodeIR.self, from: Data(split.rest.utf8))
        {
            let known = Dictionary(new.vrfs.map { (BundleJSON.vrf($0), $0) }, uniquingKeysWith: { a, _ in a })
            var vrfs: [VRF] = []
            vrfs.reserveCapacity(split.vrfs.count)
            for text in split.vrfs {
                if let vrf = known[String(text)] {
                    vrfs.append(vrf)
                } else if let vrf = try? JSONDecoder().decode(VRF.self, from: Data(text.utf8)) {
                    vrfs.append(vrf)
                } else {
                    return try decodeIR(data, path: path)
                }
            }
            ir.vrfs = vrfs
            return ir
        }
        return try decodeIR(data, path: path)
    }

    static func decodeIR(_ data: Data, path: String) throws(Diagnostics) -> NodeIR {
        do {
            return try JSONDecoder().decode(NodeIR.self, from: data)
        } catch {
            throw Diagnostics([Diagnostic(SourceLocation(file: path), "not a vrfc IR (vrfc compile --emit ir): \(error)")])
        }
    }
}
