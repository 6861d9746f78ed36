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
        let r = Subprocess.run(vtyshArgs(["-c", "show version"]))
        if r.status == 0 && r.problems.allSatisfy({ !$0.contains("failed to connect") && !$0.hasPrefix("Exiting:") }) { return nil }
        return "FRR does not answer vtysh\(pathspace.map { " -N \($0)" } ?? "") (is it running?): \(r.summary)"
    }

    public func dryRun(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["--dryrun", "-f", file])) }

    /// `vtysh -f`: the file's commands into the running daemons.
    public func load(_ file: String) -> CommandOutput { Subprocess.run(vtyshArgs(["-f", file])) }

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
