import Foundation
import Glibc

/// The running FRR, reached through vtysh (its daemons' vty sockets) and
/// FRR's own frr-reload.py.
public struct FRRControl: Sendable {
    /// vtysh's `-N`: a second FRR with its own pathspace (tests, several
    /// FRR instances on one host); nil for the node's FRR.
    public var pathspace: String?
    public var vtysh: String
    public var frrReloadScript: String

    public static let defaultVtysh = "/usr/bin/vtysh"
    public static let defaultFRRReload = "/usr/lib/frr/frr-reload.py"

    public init(
        pathspace: String? = nil, vtysh: String = FRRControl.defaultVtysh,
        frrReloadScript: String = FRRControl.defaultFRRReload
    ) {
        self.pathspace = pathspace
        self.vtysh = vtysh
        self.frrReloadScript = frrReloadScript
    }

    func vtyshArgs(_ rest: [String]) -> [String] {
        [vtysh] + (pathspace.map { ["-N", $0] } ?? []) + rest
    }

    /// nil when FRR answers; otherwise why not. `daemons`: those with a vty
    /// socket (`FRRVty.daemons`), as vtysh would connect to them.
    public func unreachable(_ daemons: [String]) -> String? {
        guard FileManager.default.isExecutableFile(atPath: vtysh) else {
            return "\(vtysh) is missing (Debian package frr)"
        }
        let dir = FRRVty.directory(pathspace: pathspace)
        let who = "FRR does not answer vtysh\(pathspace.map { " -N \($0)" } ?? "") (is it running?)"
        guard !daemons.isEmpty else {
            // A directory it may not read (no CAP_DAC_OVERRIDE, not in FRR's
            // group) is not an FRR that is down: say which.
            if access(dir, R_OK | X_OK) != 0 && errno != ENOENT {
                return "cannot read FRR's vty sockets in \(dir): \(String(cString: strerror(errno)))"
            }
            return "\(who): no daemon's vty socket in \(dir)"
        }
        return silent(daemons, timeout: 30).map { "\(who): \($0)" }
    }

    /// Why the first of `daemons` that does not answer `show version` on its
    /// vty socket (no vtysh started) does not; nil when all answer.
    func silent(_ daemons: [String], timeout: Int) -> String? {
        for daemon in daemons {
            do throws(ApplyError) {
                let r = try FRRVty(daemon: daemon, pathspace: pathspace, timeout: timeout).run("show version")
                if r.status != 0 { return "\(daemon) answers 'show version' with status \(r.status)" }
            } catch {
                return error.message
            }
        }
        return nil
    }

    /// How long a reconcile waits for FRR's daemons after a reload before
    /// it gives up: watchfrr restarts a daemon that died or stopped
    /// answering (zebra: every daemon) only after its minimum restart
    /// interval (60 s by default), and systemd restarts a failed unit after
    /// its RestartSec= (5 s in Debian's frr.service).
    public static let answerLimit: Duration = .seconds(90)

    /// Waits until each of `daemons` (those that answered when the
    /// reconcile began) answers `show version` on its vty socket, at most
    /// `limit`, saying so when it has to wait; nil once all answer, else
    /// why not at the deadline.
    public func awaitAnswer(
        _ daemons: [String], limit: Duration = FRRControl.answerLimit, log: (String) -> Void
    ) -> String? {
        let start = ContinuousClock.now
        var said = false
        while true {
            let missing = silent(daemons, timeout: 10)
            let waited = ContinuousClock.now - start
            guard let missing else {
                if said { log("FRR: every daemon answers again, after \(Self.seconds(waited)) s") }
                return nil
            }
            if waited >= limit {
                return "FRR's daemons did not all answer within \(Self.seconds(limit)) s (\(missing))"
            }
            if !said {
                log("FRR: \(missing); waiting up to \(Self.seconds(limit)) s for its daemons (watchfrr or systemd may be restarting them)")
                said = true
            }
            usleep(500_000)
        }
    }

    static func seconds(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    public func dryRun(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["--dryrun", "-f", file])) }

    /// `vtysh -f`: the file's commands into the running daemons.
    public func load(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["-f", file])) }

    /// The daemons `vtysh -d` knows by name.
    static let vtyshDaemons: Set<String> = [
        "zebra", "ripd", "ripngd", "ospfd", "ospf6d", "ldpd", "bgpd", "isisd", "pimd", "pim6d",
        "nhrpd", "eigrpd", "babeld", "sharpd", "pbrd", "staticd", "bfdd", "fabricd", "vrrpd", "pathd",
    ]

    /// `vtysh -f` once per daemon, all at the same time: vtysh sends each
    /// daemon the commands it has, as one vtysh does, and each daemon
    /// commits its configuration once at the end of the file. One vtysh
    /// waits for one daemon's commit after the other's (each validates the
    /// daemon's whole configuration, the bulk of a small change's cost on a
    /// large node); side by side they overlap. Only for commands whose
    /// order between daemons does not matter (prefix-lists, route-maps).
    /// Each vtysh reads a copy of its own: `vtysh -f` holds an exclusive
    /// flock on its input file for the whole load and polls for it every
    /// 0.5 s, so on one file the second vtysh waited for the first and then
    /// for its next poll (slower than one vtysh -f; measured, README).
    public func loadPerDaemon(_ file: String) -> CommandOutput {
        let daemons = FRRVty.daemons(pathspace: pathspace)
        guard daemons.count > 1, daemons.allSatisfy(Self.vtyshDaemons.contains),
            let text = FileManager.default.contents(atPath: file)
        else { return load(file) }
        var copies: [String] = []
        defer { copies.forEach { unlink($0) } }
        for daemon in daemons {
            let copy = file + "." + daemon
            do { try writePrivateFile(copy, text) } catch { return load(file) }
            copies.append(copy)
        }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var byIndex: [Int: CommandOutput] = [:]
        }
        let box = Results()
        let args = daemons.indices.map { vtyshArgs(["-d", daemons[$0], "-f", copies[$0]]) }
        DispatchQueue.concurrentPerform(iterations: daemons.count) { i in
            let r = Subprocess.run(args[i])
            box.lock.withLock { box.byIndex[i] = r }
        }
        // A commit the daemon refused fails its load, whatever vtysh's exit.
        let results = daemons.indices.map { i in
            let r = box.byIndex[i]!
            return CommandOutput(status: r.status == 0 && Self.commitRefused(r.output) ? 1 : r.status, output: r.output)
        }
        let failed = results.first { $0.status != 0 }
        // Which daemon said what: each daemon's vtysh numbers the lines alike.
        let output = results.enumerated().map { i, r in
            r.status == 0 || r.problems.isEmpty ? r.output : "vtysh -d \(daemons[i]) (exit \(r.status)):\n" + r.output
        }.joined()
        return CommandOutput(status: failed?.status ?? 0, output: output)
    }

    /// A daemon refused the commit at the end of a `vtysh -f` (its
    /// whole-configuration validation failed, so none of the file's
    /// commands for it took effect). FRR 8.4's vtysh prints the daemon's
    /// "% Configuration failed." and the reason, and still exits 0.
    public static func commitRefused(_ output: String) -> Bool {
        output.split(separator: "\n").contains { $0.hasPrefix("% Configuration failed") }
    }

    public func show(_ command: String, daemon: String? = nil) throws(ApplyError) -> String {
        let r = Subprocess.run(vtyshArgs((daemon.map { ["-d", $0] } ?? []) + ["-c", command]))
        guard r.status == 0 else { throw ApplyError("vtysh -c '\(command)': \(r.summary)") }
        return r.output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("% Can't open configuration file /etc/frr/") }.joined(separator: "\n")
    }

    /// FRR's own reload: it reads the running config, diffs it with the
    /// file and sends the difference.
    public func frrReload(_ file: String, rundir: String) -> CommandOutput {
        var args = [
            "/usr/bin/python3", frrReloadScript, "--reload", "--stdout",
            "--bindir", (vtysh as NSString).deletingLastPathComponent, "--rundir", rundir,
        ]
        if let pathspace { args += ["--pathspace", pathspace] }
        return Subprocess.run(args + [file])
    }
}

/// One `vtysh -f` fed through a pipe: vtysh sends each line to the daemons
/// as it arrives (commands FRR applies at once take effect then) and each
/// daemon commits its pending configuration once, when the input ends. So
/// vrfc can act between lines of one configuration transaction: delete a
/// removed VRF's devices once FRR has let go of them, then send `no vrf`,
/// which FRR accepts only without the device, in the same commit.
final class VtyshFeed {
    private let pid: pid_t
    private var input: Int32
    private let output: Int32

    init(_ args: [String]) throws(ApplyError) {
        // A vtysh that exits early must not take vrfc-apply with it: a
        // write to its pipe then fails with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ApplyError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        var template = Array("/tmp/vrfc-out.XXXXXX".utf8CString)
        let out = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        // Only vtysh's stdin, stdout and stderr (dup2 clears the flag) reach it.
        for fd in [fds[0], fds[1], out] where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard out >= 0 else {
            close(fds[0])
            close(fds[1])
            throw ApplyError("cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, out, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))
        let cArgs = args.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, &attr, cArgs, environ)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            close(out)
            throw ApplyError("cannot run \(args[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        input = fds[1]
        output = out
    }

    /// Sends lines; false when vtysh no longer reads them.
    @discardableResult
    func send(_ text: String) -> Bool {
        guard input >= 0 else { return false }
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(input, $0.baseAddress! + sent, $0.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Ends the input (the daemons commit) and waits for vtysh.
    func finish() -> CommandOutput {
        if input >= 0 {
            close(input)
            input = -1
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        lseek(output, 0, SEEK_SET)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[..<n])
        }
        close(output)
        return CommandOutput(status: code, output: String(decoding: data, as: UTF8.self))
    }

    deinit {
        if input >= 0 { _ = finish() }
    }
}

extension FRRControl {
    /// `vtysh -f` reading the lines `VtyshFeed.send` gives it.
    func feed() throws(ApplyError) -> VtyshFeed { try VtyshFeed(vtyshArgs(["-f", "/dev/stdin"])) }
}
