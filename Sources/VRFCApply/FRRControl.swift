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
        var args = [
            "/usr/bin/python3", frrReloadScript, "--reload", "--stdout",
            "--bindir", (vtysh as NSString).deletingLastPathComponent, "--rundir", rundir,
        ]
        if let pathspace { args += ["--pathspace", pathspace] }
        return Subprocess.run(args + [file])
    }
}
