import Foundation

/// Read-only access to FRR through vtysh. Only `show` commands pass, each
/// as one `-c` argument (never `-f`, `-b` or a config mode), so nothing run
/// from here can change FRR's configuration.
public struct Vtysh: Sendable {
    public var executable: String
    /// FRR's pathspace (`vtysh -N`), for daemons started with `-N NAME`.
    public var pathspace: String?
    /// Seconds before a hung vtysh is killed.
    public var timeout: Double

    public init(executable: String = "vtysh", pathspace: String? = nil, timeout: Double = 10) {
        self.executable = executable
        self.pathspace = pathspace
        self.timeout = timeout
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Whether a command may be sent: one `show` line, no separators vtysh
    /// would split on, no control characters.
    public static func isReadOnly(_ command: String) -> Bool {
        command.hasPrefix("show ") && !command.contains(";")
            && command.unicodeScalars.allSatisfy { $0.value >= 32 && $0.value != 127 }
    }

    /// The arguments of one call (for tests and the README).
    public func arguments(_ command: String, daemon: String?) -> [String] {
        var args: [String] = []
        if let pathspace { args += ["-N", pathspace] }
        if let daemon { args += ["-d", daemon] }
        return args + ["-c", command]
    }

    /// Runs one `show` command; its stdout on exit 0.
    public func show(_ command: String, daemon: String? = nil) throws(Failure) -> String {
        guard Self.isReadOnly(command) else {
            throw Failure(description: "refused to run \(command.debugDescription): only `show` commands are sent to FRR")
        }
        let r = Subprocess.run(executable, arguments(command, daemon: daemon), timeout: timeout)
        if let error = r.launchError { throw Failure(description: "cannot run \(executable): \(error)") }
        if r.timedOut { throw Failure(description: "`vtysh -c '\(command)'` did not answer within \(Int(timeout)) s") }
        guard r.status == 0 else {
            let why = (r.stderr + r.stdout).split(separator: "\n")
                .filter { !$0.hasPrefix("% Can't open configuration file") }
                .joined(separator: "; ")
            throw Failure(
                description: "`vtysh\(daemon.map { " -d \($0)" } ?? "") -c '\(command)'` failed (exit \(r.status)): \(why.prefix(300))")
        }
        return r.stdout
    }

    /// A `show ... json` command, parsed to a JSON object.
    public func showJSON(_ command: String, daemon: String? = nil) throws(Failure) -> [String: Any] {
        let text = try show(command, daemon: daemon)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw Failure(description: "`\(command)` did not print a JSON object: \(text.prefix(120).debugDescription)")
        }
        return object
    }
}

/// One child process with a deadline; output through temporary files so a
/// chatty child never blocks on a pipe.
enum Subprocess {
    struct Result {
        var status: Int32 = -1
        var stdout = ""
        var stderr = ""
        var timedOut = false
        var launchError: String?
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Double) -> Result {
        var result = Result()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfc-health-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            result.launchError = "\(error)"
            return result
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        process.standardInput = FileHandle.nullDevice
        guard let outHandle = try? FileHandle(forWritingTo: out), let errHandle = try? FileHandle(forWritingTo: err) else {
            result.launchError = "cannot create output files"
            return result
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            result.launchError = "\(error)"
            return result
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            result.timedOut = true
            kill(process.processIdentifier, SIGKILL)
            done.wait()
        }
        try? outHandle.close()
        try? errHandle.close()
        result.status = process.terminationStatus
        result.stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        result.stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        return result
    }
}
