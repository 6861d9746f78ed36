import Foundation
import Glibc
import Synchronization

/// How a hook ended.
public enum HookResult: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    case timedOut(Duration)
    case couldNotStart(String)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let c): "exited \(c)"
        case .signalled(let s): "killed by signal \(s)"
        case .timedOut(let d): "killed after the hook timeout of \(d)"
        case .couldNotStart(let why): "could not be started: \(why)"
        }
    }
}

/// Runs an executable hook with extra environment variables, in a process
/// group of its own so a timeout kills whatever it started too. Its stdout
/// and stderr are the agent's.
public enum Hook {
    /// Checked once at start-up, so a typo is a usage error, not a failure
    /// at every reconcile.
    public static func check(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return "\(path): not a regular file" }
        guard access(path, X_OK) == 0 else { return "\(path): not executable (chmod +x)" }
        return nil
    }

    public static func run(_ path: String, environment extra: [String: String], timeout: Duration) async -> HookResult {
        await withCheckedContinuation { (c: CheckedContinuation<HookResult, Never>) in
            // waitpid blocks: a thread of its own, never one of the shared pool.
            let t = Thread { c.resume(returning: runBlocking(path, environment: extra, timeout: timeout)) }
            t.name = "vrfc-hook"
            t.start()
        }
    }

    static func runBlocking(_ path: String, environment extra: [String: String], timeout: Duration) -> HookResult {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        // The agent ignores SIGTERM/SIGINT/SIGHUP (it handles them through
        // Dispatch) and SIGPIPE; ignored signals survive exec, so the hook
        // gets the defaults back.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = [strdup(path), nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, nil, &attr, argv, envp)
        guard rc == 0 else { return .couldNotStart(String(cString: strerror(rc))) }

        // The timer kills the group only while the hook has not been reaped:
        // `exited` is set after waitid (WNOWAIT) saw it exit, before the
        // pid is released, so a reused pid is never signalled.
        let state = Mutex<(exited: Bool, killed: Bool)>((false, false))
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let timer = DispatchWorkItem {
            state.withLock { s in
                if !s.exited {
                    kill(-pid, SIGKILL)
                    s.killed = true
                }
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        let killed = state.withLock { s in
            s.exited = true
            return s.killed
        }
        timer.cancel()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if killed { return .timedOut(timeout) }
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(status & 0x7f)
    }
}
