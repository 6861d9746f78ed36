import Foundation

/// A command that failed, with what it printed.
public struct CommandFailed: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let output: String
    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(output)"
    }
}

/// Something the router tests' environment could not provide.
public struct SetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum Command {
    /// Runs `args` (looked up in PATH and the sbin directories), waits, and
    /// returns stdout; a non-zero exit throws with stderr. Output goes
    /// through temporary files so a chatty child never blocks on a pipe.
    @discardableResult
    public static func run(_ args: [String], environment: [String: String]? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfcb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try which(args[0]))
        p.arguments = Array(args.dropFirst())
        if let environment { p.environment = environment }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        let stdout = String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw CommandFailed(command: args, status: p.terminationStatus, output: stderr + stdout)
        }
        return stdout
    }

    public static func which(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let candidate = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw SetupError("'\(name)' is not installed; scripts/install-deps.sh installs what the tests need")
    }
}

/// The checkout the tests run in (for bpf/build.sh).
public enum Checkout {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath
    }()
}
