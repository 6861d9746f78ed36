import Foundation
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
    public static func ir(_ inputs: Inputs, stdin: @escaping () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }) throws(Diagnostics) -> NodeIR {
        var diags: [Diagnostic] = []
        var configFile: [InputFile] = []
        if inputs.config == "-" && inputs.objects.contains("-") {
            diags.append(Diagnostic(SourceLocation(file: InputFiles.stdinName), "stdin cannot be both the node config and an input", fix: "pass one of them as a file"))
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
        let (objects, objectDiags) = Timings.measure("parse and validate") { RouteConfiguration.parse(files) }
        diags += objectDiags
        guard diags.isEmpty, let config else { throw Diagnostics(diags) }
        let start = Timings.now()
        defer { Timings.report("lower to IR", since: start) }
        return try Lowering.lower(config: config, objects: objects, options: inputs.options)
    }

    /// Loads a base config (hinted `frr.conf` or `.tpl`).
    public static func baseConfig(_ path: String) throws(Diagnostics) -> BaseConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Diagnostics([Diagnostic(SourceLocation(file: path), "cannot read the base FRR config", fix: "pass the node's hinted frr.conf with --template")])
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

    public static func ops(_ ir: NodeIR, options: KernelBackend.Options = .init()) -> OpList {
        KernelBackend.ops(ir, options: options)
    }
}

/// Deterministic JSON for `--emit ir|ops` and golden files.
public enum JSONOutput {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding our own value types cannot fail.
        let data = try! encoder.encode(value)
        return compactEmpty(String(decoding: data, as: UTF8.self)) + "\n"
    }

    /// Foundation prints an empty array as "[", a blank line and "]";
    /// golden files read better with "[]". JSON strings never hold a raw
    /// line break, so a bracket, blanks only, and its closer are always
    /// an empty container.
    static func compactEmpty(_ json: String) -> String {
        var out: [UInt8] = []
        let b = Array(json.utf8)
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                let close = c == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                var j = i + 1
                while j < b.count, b[j] == 0x20 || b[j] == 0x0A { j += 1 }
                if j < b.count, b[j] == close {
                    out += [c, close]
                    i = j + 1
                    continue
                }
            }
            if c == UInt8(ascii: "\"") {
                // Copy a string verbatim, escapes included.
                var j = i + 1
                while j < b.count, b[j] != UInt8(ascii: "\"") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
                out += b[i...min(j, b.count - 1)]
                i = j + 1
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Writes a file the way a node needs it: all or nothing, via a temporary
/// file in the same directory and rename(2).
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

/// Phase durations on stderr when `VRFC_TIMINGS` is set: where the time of
/// a large node goes, without a profiler.
public enum Timings {
    public static let enabled = ProcessInfo.processInfo.environment["VRFC_TIMINGS"] != nil

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func report(_ phase: String, since start: UInt64) {
        guard enabled else { return }
        let ms = Double(now() - start) / 1e6
        FileHandle.standardError.write(Data("vrfc: \(phase): \(String(format: "%.1f", ms)) ms\n".utf8))
    }

    public static func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = now()
        defer { report(phase, since: start) }
        return try body()
    }
}
