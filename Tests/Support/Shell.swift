import Foundation

public struct CommandResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// Killed after `timeout` seconds (status is then 128 + SIGKILL).
    public var timedOut = false

    public init(status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    /// Ended by a signal (a crash, or the timeout's kill).
    public var signalled: Bool { status > 128 }

    public var description: String {
        "exit \(status)\(timedOut ? " (timed out)" : "")\nstdout:\n\(stdout.prefix(4000))\nstderr:\n\(stderr.prefix(4000))"
    }
}

public struct CommandError: Error, CustomStringConvertible {
    public let command: [String]
    public let result: CommandResult
    public var description: String { "`\(command.joined(separator: " "))` failed: \(result)" }
}

/// Runs programs for tests. Output goes through temporary files, so a
/// chatty child can never block on a full pipe.
public enum Shell {
    @discardableResult
    /// With `timeout`, the child is killed (SIGKILL) when it has not ended
    /// after that many seconds, and the result says so.
    public static func run(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil, timeout: Double? = nil) throws
        -> CommandResult
    {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("vrfc-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("out").path
        let err = tmp.appendingPathComponent("err").path
        let inPath = tmp.appendingPathComponent("in").path
        try (stdin ?? Data()).write(to: URL(fileURLWithPath: inPath))
        let executable = args[0].contains("/") ? args[0] : try which(args[0])

        // posix_spawn + waitpid rather than Foundation.Process: FRR daemons
        // fork into the background and keep inherited descriptors, which
        // makes Process wait forever for a child that has long exited.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let rc = posix_spawn(&pid, executable, &actions, nil, cArgs, cEnv)
        guard rc == 0 else {
            throw CommandError(command: args, result: CommandResult(status: -1, stdout: "", stderr: String(cString: strerror(rc))))
        }
        var status: Int32 = 0
        var timedOut = false
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno != EINTR) { break }
                if Date() > deadline {
                    kill(pid, SIGKILL)
                    timedOut = true
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    break
                }
                usleep(5_000)
            }
        } else {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros do not import).
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return CommandResult(
            status: code,
            stdout: String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self),
            timedOut: timedOut)
    }

    /// Like `run`, but a non-zero exit is an error carrying the output.
    @discardableResult
    public static func check(_ args: [String], stdin: Data? = nil) throws -> CommandResult {
        let r = try run(args, stdin: stdin)
        guard r.status == 0 else { throw CommandError(command: args, result: r) }
        return r
    }

    public static func which(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/lib/frr", "/sbin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw MissingTool(name: name)
    }
}

public struct MissingTool: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "'\(name)' is not installed; run scripts/install-deps.sh (the README's test command does)" }
}

/// Something a test's environment could not provide: the test fails with it.
public struct SetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
