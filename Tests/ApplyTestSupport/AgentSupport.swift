import Foundation
import VRFCTestSupport

/// A running `vrfc-apply agent`: its log (stderr, and the hooks' output)
/// is read line by line as it is written, so a test waits for the event it
/// needs, with a deadline, instead of sleeping.
public final class AgentProcess: @unchecked Sendable {
    public let pid: pid_t
    private let condition = NSCondition()
    private var lines: [String] = []  // guarded by `condition`
    private var status: Int32?  // guarded by `condition`
    private var drained = false  // guarded by `condition`: the log pipe reached EOF
    public let args: [String]

    public init(_ args: [String], environment extra: [String: String] = [:]) throws {
        self.args = args
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SetupError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, nil, cArgs, cEnv)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SetupError("cannot start \(args[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        let child = pid
        let readFD = fds[0]
        Thread { [self] in readLines(readFD) }.start()
        Thread { [self] in
            var st: Int32 = 0
            while waitpid(child, &st, 0) < 0 && errno == EINTR {}
            let code: Int32 = (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)
            condition.lock()
            status = code
            condition.broadcast()
            condition.unlock()
        }.start()
    }

    private func readLines(_ fd: Int32) {
        var pending = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                condition.lock()
                drained = true
                condition.broadcast()
                condition.unlock()
                break
            }
            pending.append(contentsOf: buf[0..<n])
            var complete: [String] = []
            while let nl = pending.firstIndex(of: 10) {
                complete.append(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...nl)
            }
            condition.lock()
            lines += complete
            condition.broadcast()
            condition.unlock()
        }
        close(fd)
    }

    /// Everything logged so far.
    public var log: [String] {
        condition.lock()
        defer { condition.unlock() }
        return lines
    }

    /// The JSON log records so far (`--log-format json`; other lines, such
    /// as the hooks' output, are skipped).
    public var records: [[String: String]] { log.compactMap(Self.record) }

    public static func record(_ line: String) -> [String: String]? {
        guard line.hasPrefix("{"), let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else { return nil }
        return o
    }

    /// Finished reconciles so far, in order.
    public var reconciles: [[String: String]] { records.filter { $0["msg"] == "reconcile finished" } }

    /// Waits until `predicate` holds for the records logged so far (it is
    /// re-checked at every new line), or fails after `timeout` seconds
    /// with the log, or when the agent exits first.
    @discardableResult
    public func waitFor(_ what: String, timeout: Double = 60, _ predicate: ([[String: String]]) -> Bool) throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let recs = lines.compactMap(Self.record)
            if predicate(recs) { return recs }
            if status != nil {
                throw SetupError("agent exited (\(status!)) before \(what)\n\(lines.joined(separator: "\n"))")
            }
            if !condition.wait(until: deadline) {
                throw SetupError("timed out after \(timeout) s waiting for \(what)\n\(lines.joined(separator: "\n"))")
            }
        }
    }

    /// Waits for the n-th finished reconcile with this trigger and returns it.
    @discardableResult
    public func waitForReconcile(
        _ trigger: String, count: Int = 1, timeout: Double = 60,
        where extra: ([String: String]) -> Bool = { _ in true }
    ) throws -> [String: String] {
        let recs = try waitFor("reconcile #\(count) with trigger=\(trigger)", timeout: timeout) { recs in
            recs.filter { $0["msg"] == "reconcile finished" && $0["trigger"] == trigger && extra($0) }.count >= count
        }
        return recs.filter { $0["msg"] == "reconcile finished" && $0["trigger"] == trigger && extra($0) }[count - 1]
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for the agent to exit; fails after `timeout` seconds.
    public func waitForExit(timeout: Double = 60) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while status == nil {
            if !condition.wait(until: deadline) {
                throw SetupError("agent did not exit within \(timeout) s\n\(lines.joined(separator: "\n"))")
            }
        }
        // The exit can be seen before the reader has the last lines: wait for
        // the pipe's end too (briefly: a hook's leftover child may hold it).
        let drainDeadline = Date().addingTimeInterval(5)
        while !drained && condition.wait(until: drainDeadline) {}
        return status!
    }

    /// Ends the agent if the test has not (also when it failed half-way).
    public func kill9() {
        condition.lock()
        let running = status == nil
        condition.unlock()
        if running {
            kill(pid, SIGKILL)
            _ = try? waitForExit(timeout: 30)
        }
    }
}

extension Namespace {
    /// `vrfc-apply agent` (or `command`, e.g. the faults tool's agent) for
    /// this namespace, JSON logs.
    public func agentArgs(_ args: [String], command: [String]? = nil) throws -> [String] {
        // As for plan/apply, the harness plays the operator who allows the
        // fixtures' bpfInterfaces (TestNamespace.operatorFlags).
        try (command ?? [applierPath(), "agent"]) + ["--netns", name, "--bpf-pin-dir", pinDirectory, "--log-format", "json"]
            + ["--table-names-file", tableNamesFile] + Self.operatorFlags + args
    }

    /// Starts an agent; `body` runs with it and the agent is killed afterwards if still running.
    public func withAgent<T>(_ args: [String], environment: [String: String] = [:], _ body: (AgentProcess) throws -> T) throws -> T {
        let agent = try AgentProcess(try agentArgs(args), environment: environment)
        defer { agent.kill9() }
        return try body(agent)
    }

    /// Runs an agent to its exit (`--oneshot`, `--clean`).
    public func runAgent(_ args: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> (
        status: Int32, agent: AgentProcess
    ) {
        let agent = try AgentProcess(try agentArgs(args), environment: environment)
        defer { agent.kill9() }
        return (try agent.waitForExit(timeout: timeout), agent)
    }
}

/// Writes a file the way `kubectl apply` of a ConfigMap, an editor or a
/// config-management tool does: a temporary file renamed over the old one.
public func replaceFile(_ path: String, _ text: String) throws {
    let tmp = path + ".tmp-\(UUID().uuidString.prefix(6))"
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
    guard rename(tmp, path) == 0 else { throw SetupError("rename \(tmp) \(path): \(String(cString: strerror(errno)))") }
}

/// A directory laid out as the kubelet mounts a ConfigMap: the keys are
/// symlinks `KEY -> ..data/KEY`, `..data` is a symlink to a timestamped
/// directory, and an update writes a new directory and swaps `..data`
/// with a rename (Kubernetes' AtomicWriter).
public struct ConfigMapDir {
    public let path: String
    public private(set) var generation = 0

    public init(_ path: String, _ files: [String: String]) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try update(files)
        for key in files.keys {
            guard symlink("..data/\(key)", path + "/" + key) == 0 else {
                throw SetupError("symlink \(key): \(String(cString: strerror(errno)))")
            }
        }
    }

    public mutating func update(_ files: [String: String]) throws {
        generation += 1
        let old = generation > 1 ? "..2026_11_30_12_00_0\(generation - 1).000000001" : nil
        let dir = "..2026_11_30_12_00_0\(generation).000000001"
        try FileManager.default.createDirectory(atPath: path + "/" + dir, withIntermediateDirectories: true)
        for (k, v) in files { try Data(v.utf8).write(to: URL(fileURLWithPath: path + "/" + dir + "/" + k)) }
        unlink(path + "/..data_tmp")
        guard symlink(dir, path + "/..data_tmp") == 0, rename(path + "/..data_tmp", path + "/..data") == 0 else {
            throw SetupError("swapping ..data: \(String(cString: strerror(errno)))")
        }
        if let old { try FileManager.default.removeItem(atPath: path + "/" + old) }
    }
}
