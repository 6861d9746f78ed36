import Foundation
import Glibc

/// A finished program run: exit status and its output (stdout and stderr
/// together, in order).
public struct CommandOutput: Sendable {
    public var status: Int32
    public var output: String

    /// Output lines worth showing: vtysh's note about a missing per-pathspace
    /// vtysh.conf and bgpd's notes about route-maps defined further down a
    /// file are not problems.
    public var problems: [String] {
        output.split(separator: "\n").filter { line in
            !(line.hasPrefix("% Can't open configuration file /etc/frr/")
                || (line.hasPrefix("The route-map '") && line.hasSuffix("' does not exist.")))
        }.map(String.init)
    }

    public var summary: String {
        let p = problems
        let shown = p.prefix(20).joined(separator: "\n")
        return "exit \(status)" + (p.isEmpty ? "" : ":\n" + shown + (p.count > 20 ? "\n... (\(p.count - 20) more lines)" : ""))
    }
}

enum Subprocess {
    /// Runs a program to completion. Output goes through an unlinked
    /// temporary file, so a chatty child never blocks on a full pipe and
    /// a daemon it starts cannot hold us up by keeping a pipe open.
    static func run(_ args: [String], environment: [String: String]? = nil) -> CommandOutput {
        var template = Array("/tmp/vrfc-out.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return CommandOutput(status: -1, output: "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(fd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, nil, cArgs, cEnv)
        guard rc == 0 else { return CommandOutput(status: -1, output: "cannot run \(args[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        lseek(fd, 0, SEEK_SET)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[..<n])
        }
        return CommandOutput(status: code, output: String(decoding: data, as: UTF8.self))
    }
}

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

    public init(pathspace: String? = nil, vtysh: String = FRRControl.defaultVtysh,
                frrReloadScript: String = FRRControl.defaultFRRReload) {
        self.pathspace = pathspace
        self.vtysh = vtysh
        self.frrReloadScript = frrReloadScript
    }

    func vtyshArgs(_ rest: [String]) -> [String] {
        [vtysh] + (pathspace.map { ["-N", $0] } ?? []) + rest
    }

    /// nil when FRR answers; otherwise why not.
    public func unreachable() -> String? {
        guard FileManager.default.isExecutableFile(atPath: vtysh) else {
            return "\(vtysh) is missing (Debian package frr)"
        }
        // Every daemon's vty socket, as vtysh connects to them, but without
        // starting a vtysh: `show version` straight to each daemon.
        let dir = FRRVty.directory(pathspace: pathspace)
        let daemons = FRRVty.daemons(pathspace: pathspace)
        let who = "FRR does not answer vtysh\(pathspace.map { " -N \($0)" } ?? "") (is it running?)"
        guard !daemons.isEmpty else { return "\(who): no daemon's vty socket in \(dir)" }
        for daemon in daemons {
            do throws(ApplyError) {
                let r = try FRRVty(daemon: daemon, pathspace: pathspace, timeout: 30).run("show version")
                guard r.status == 0 else { return "\(who): \(daemon) answers 'show version' with status \(r.status)" }
            } catch {
                return "\(who): \(error.message)"
            }
        }
        return nil
    }

    public func dryRun(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["--dryrun", "-f", file])) }

    /// `vtysh -f`: the file's commands into the running daemons.
    public func load(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["-f", file])) }

    /// The daemons `vtysh -d` knows by name.
    static let vtyshDaemons: Set<String> = ["zebra", "ripd", "ripngd", "ospfd", "ospf6d", "ldpd", "bgpd", "isisd", "pimd", "pim6d",
                                            "nhrpd", "eigrpd", "babeld", "sharpd", "pbrd", "staticd", "bfdd", "fabricd", "vrrpd", "pathd"]

    /// `vtysh -f` once per daemon, all at the same time: vtysh sends each
    /// daemon the commands it has, as one vtysh does, and each daemon
    /// commits its configuration once at the end of the file. One vtysh
    /// waits for one daemon's commit after the other's (each validates the
    /// daemon's whole configuration, the bulk of a small change's cost on a
    /// large node); side by side they overlap. Only for commands whose
    /// order between daemons does not matter (prefix-lists, route-maps).
    public func loadPerDaemon(_ file: String) -> CommandOutput {
        let daemons = FRRVty.daemons(pathspace: pathspace)
        guard daemons.count > 1, daemons.allSatisfy(Self.vtyshDaemons.contains) else { return load(file) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var byIndex: [Int: CommandOutput] = [:]
        }
        let box = Results()
        let args = daemons.map { vtyshArgs(["-d", $0, "-f", file]) }
        DispatchQueue.concurrentPerform(iterations: daemons.count) { i in
            let r = Subprocess.run(args[i])
            box.lock.withLock { box.byIndex[i] = r }
        }
        let results = daemons.indices.map { box.byIndex[$0]! }
        let failed = results.enumerated().filter { $0.element.status != 0 }
        let output = results.map(\.output).joined()
        return CommandOutput(status: failed.first?.element.status ?? 0, output: output)
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
        var args = ["/usr/bin/python3", frrReloadScript, "--reload", "--stdout",
                    "--bindir", (vtysh as NSString).deletingLastPathComponent, "--rundir", rundir]
        if let pathspace { args += ["--pathspace", pathspace] }
        return Subprocess.run(args + [file])
    }
}
