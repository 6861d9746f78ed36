import Foundation
import VRFCModel

/// One input file's text and the name messages use for it.
public struct InputFile: Sendable {
    public var name: String
    public var text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// Expands the command line's INPUTs into files: a file is read as is, a
/// directory recursively in name order (only `.yaml`, `.yml`, `.json`, and
/// no hidden entries, which skips a ConfigMap mount's `..data` links), and
/// `-` is stdin.
public enum InputFiles {
    public static let extensions: Set<String> = ["yaml", "yml", "json"]
    public static let stdinName = "<stdin>"

    public static func read(_ paths: [String], stdin: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() })
        -> (files: [InputFile], diagnostics: [Diagnostic])
    {
        var files: [InputFile] = []
        var diags: [Diagnostic] = []
        var stdinUsed = false
        for path in paths {
            if path == "-" {
                if stdinUsed {
                    diags.append(Diagnostic(SourceLocation(file: stdinName), "'-' (stdin) is given more than once", fix: "pass '-' once"))
                    continue
                }
                stdinUsed = true
                append(name: stdinName, data: stdin(), to: &files, &diags)
                continue
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                diags.append(Diagnostic(SourceLocation(file: path), "no such file or directory"))
                continue
            }
            if isDir.boolValue {
                for file in walk(path, &diags) {
                    readFile(file, into: &files, &diags)
                }
            } else {
                readFile(path, into: &files, &diags)
            }
        }
        return (files, diags)
    }

    public static func readFile(_ path: String, into files: inout [InputFile], _ diags: inout [Diagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            diags.append(Diagnostic(SourceLocation(file: path), "cannot read the file", fix: "check its permissions"))
            return
        }
        append(name: path, data: data, to: &files, &diags)
    }

    static func append(name: String, data: Data, to files: inout [InputFile], _ diags: inout [Diagnostic]) {
        guard let text = String(data: data, encoding: .utf8) else {
            diags.append(Diagnostic(SourceLocation(file: name), "the file is not UTF-8 text", fix: "save it as UTF-8"))
            return
        }
        files.append(InputFile(name: name, text: text))
    }

    /// Files under `dir`, depth-first, entries in byte order of their names.
    static func walk(_ dir: String, _ diags: inout [Diagnostic]) -> [String] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: dir)
        } catch {
            diags.append(Diagnostic(SourceLocation(file: dir), "cannot list the directory", fix: "check its permissions"))
            return []
        }
        var out: [String] = []
        for entry in entries.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where !entry.hasPrefix(".") {
            let path = dir.hasSuffix("/") ? dir + entry : dir + "/" + entry
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                out += walk(path, &diags)
            } else if let ext = entry.split(separator: ".").last, entry.contains("."), extensions.contains(ext.lowercased()) {
                out.append(path)
            }
        }
        return out
    }
}
