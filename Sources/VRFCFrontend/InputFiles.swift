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

/// A file's identity on this machine: the same device and inode is the
/// same file however it is reached (symlinks, hard links, `dir/.`).
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// Follows symlinks; nil when the path does not exist.
    public static func of(_ path: String) -> FileIdentity? {
        FileStatus.of(path).map { FileIdentity(device: $0.device, inode: $0.inode) }
    }
}

/// What `stat(2)` says about a path (following symlinks).
public struct FileStatus: Sendable {
    public enum Kind: Sendable { case regular, directory, other }
    public let device: UInt64
    public let inode: UInt64
    public let kind: Kind
    public let mode: UInt32
    public let owner: UInt32
    public let group: UInt32

    public static func of(_ path: String) -> FileStatus? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        return FileStatus(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
            kind: type == S_IFREG ? .regular : type == S_IFDIR ? .directory : .other,
            mode: UInt32(st.st_mode & 0o7777), owner: UInt32(st.st_uid), group: UInt32(st.st_gid))
    }
}

/// Expands the command line's INPUTs into files: a file is read as is, a
/// directory recursively in name order (only `.yaml`, `.yml`, `.json`, and
/// no hidden entries, which skips a ConfigMap mount's `..data` links), and
/// `-` is stdin. Each directory is entered once, by device and inode, so
/// symlink loops and several links to one directory end in a message
/// instead of an endless walk; in a directory only regular files are read.
public enum InputFiles {
    public static let extensions: Set<String> = ["yaml", "yml", "json"]
    public static let stdinName = "<stdin>"
    /// Larger inputs are refused rather than read into memory (a node's
    /// CRs are a few MB; `/dev/zero` never ends).
    public static let maxBytes = 256 << 20

    public static func read(_ paths: [String], stdin: () -> Data = { readCapped(FileHandle.standardInput) ?? Data() })
        -> (files: [InputFile], diagnostics: [Diagnostic])
    {
        var files: [InputFile] = []
        var diags: [Diagnostic] = []
        var stdinUsed = false
        // Shared by all INPUTs: a directory given twice is read once.
        var visited: [FileIdentity: String] = [:]
        for path in paths {
            if path == "-" {
                if stdinUsed {
                    diags.append(Diagnostic(SourceLocation(file: stdinName), "'-' (stdin) is given more than once", fix: "pass '-' once"))
                    continue
                }
                stdinUsed = true
                let data = stdin()
                if data.count > maxBytes {
                    diags.append(tooLarge(stdinName))
                } else {
                    append(name: stdinName, data: data, to: &files, &diags)
                }
                continue
            }
            for file in expand(path, &diags, &visited) {
                readFile(file, into: &files, &diags)
            }
        }
        return (files, diags)
    }

    /// The files one INPUT stands for, in reading order (no stdin).
    public static func expand(_ path: String, _ diags: inout [Diagnostic]) -> [String] {
        var visited: [FileIdentity: String] = [:]
        return expand(path, &diags, &visited)
    }

    static func expand(_ path: String, _ diags: inout [Diagnostic], _ visited: inout [FileIdentity: String]) -> [String] {
        guard let status = FileStatus.of(path) else {
            diags.append(Diagnostic(SourceLocation(file: path), "no such file or directory"))
            return []
        }
        guard status.kind == .directory else { return [path] }
        return walk(path, status, &diags, &visited)
    }

    public static func readFile(_ path: String, into files: inout [InputFile], _ diags: inout [Diagnostic]) {
        guard let handle = FileHandle(forReadingAtPath: path), let data = readCapped(handle) else {
            diags.append(Diagnostic(SourceLocation(file: path), "cannot read the file", fix: "check its permissions"))
            return
        }
        if data.count > maxBytes {
            diags.append(tooLarge(path))
            return
        }
        append(name: path, data: data, to: &files, &diags)
    }

    /// Everything up to end of file, or `maxBytes + 1` bytes when there is more.
    public static func readCapped(_ handle: FileHandle) -> Data? {
        var data = Data()
        while data.count <= maxBytes {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch { return nil }
            // nil or empty: end of file.
            guard let chunk, !chunk.isEmpty else { break }
            data += chunk
        }
        return data
    }

    static func tooLarge(_ name: String) -> Diagnostic {
        Diagnostic(SourceLocation(file: name), "the input is larger than \(maxBytes >> 20) MiB", fix: "split it into several files")
    }

    static func append(name: String, data: Data, to files: inout [InputFile], _ diags: inout [Diagnostic]) {
        guard let text = String(data: data, encoding: .utf8) else {
            diags.append(
                Diagnostic(
                    SourceLocation(file: name, line: firstInvalidUTF8Line(data)), "the file is not UTF-8 text", fix: "save it as UTF-8"))
            return
        }
        files.append(InputFile(name: name, text: text))
    }

    /// The line of the first byte that is not UTF-8.
    static func firstInvalidUTF8Line(_ data: Data) -> Int {
        var line = 1
        var iterator = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let s):
                if s.count == 1 && s.first == 0x0A { line += 1 }
            case .error:
                return line
            case .emptyInput:
                return line
            }
        }
    }

    /// Files under `dir`, depth-first, entries in byte order of their names.
    static func walk(_ dir: String, _ status: FileStatus, _ diags: inout [Diagnostic], _ visited: inout [FileIdentity: String]) -> [String]
    {
        let id = FileIdentity(device: status.device, inode: status.inode)
        if let first = visited[id] {
            diags.append(
                Diagnostic(
                    SourceLocation(file: dir), "is the directory \(quoted(first)) again (a symlink loop, or a second link to it)",
                    fix: "each directory is read once; remove the link or pass the directory once"))
            return []
        }
        visited[id] = dir
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
            guard let s = FileStatus.of(path) else { continue }  // a dangling link
            if s.kind == .directory {
                out += walk(path, s, &diags, &visited)
            } else if let ext = entry.split(separator: ".").last, entry.contains("."), extensions.contains(ext.lowercased()) {
                guard s.kind == .regular else {
                    diags.append(
                        Diagnostic(
                            SourceLocation(file: path), "is not a regular file (a FIFO or device)",
                            fix: "in a directory only regular files are read; pass it on its own, or remove it"))
                    continue
                }
                out.append(path)
            }
        }
        return out
    }
}
