import Foundation

/// Real zebra and bgpd in a network namespace of their own, with their own
/// pathspace (`-N`). Nothing is mocked: configs
/// go in through vtysh and come back out of FRR's own views.
public final class FRRInstance: @unchecked Sendable {
    public let name: String
    /// The instance's network namespace (named as its pathspace).
    public let netns: Netns
    let dir: String
    private var started = false
    private let bgpdArgs: [String]

    public static let daemonDir = "/usr/lib/frr"

    /// Output lines of `vtysh -f` that are not errors: vtysh looks for a
    /// per-pathspace vtysh.conf we do not need, and bgpd notes references to
    /// route-maps defined further down the file.
    public static func isBenign(_ line: Substring) -> Bool {
        line.isEmpty
            || line.hasPrefix("% Can't open configuration file /etc/frr/")
            || (line.hasPrefix("The route-map '") && line.hasSuffix("' does not exist."))
    }

    /// `bgpdArgs`: `-p 0` (no listener) by default; a peer that must accept
    /// sessions passes `[]`, and `-Z` keeps bgpd away from zebra so routes a
    /// test exchanges never reach a kernel table.
    public init(tag: String = "t", bgpdArgs: [String] = ["-p", "0"]) throws {
        guard getuid() == 0 else { throw FRRError("FRR oracle tests need root (network namespaces, FRR daemons)") }
        for d in ["zebra", "bgpd"] where !FileManager.default.isExecutableFile(atPath: "\(Self.daemonDir)/\(d)") {
            throw FRRError("\(Self.daemonDir)/\(d) is missing; run scripts/install-deps.sh (apt package frr)")
        }
        _ = try Shell.which("vtysh")
        // Short and unique: it names a netns and a directory under /var/run/frr.
        netns = try Netns.create(String(tag.prefix(6)), prefix: "vrfco")
        name = netns.name
        dir = NSTemporaryDirectory() + name
        self.bgpdArgs = bgpdArgs
        started = true
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Shell.check(["chown", "frr:frr", dir])
            for daemon in ["zebra", "bgpd"] { try start(daemon) }
        } catch {
            stop()
            throw error
        }
    }

    /// Starts one daemon (zebra or bgpd) of this instance, with no config;
    /// returns once its vty socket exists.
    public func start(_ daemon: String) throws {
        var args = [
            "ip", "netns", "exec", name, "\(Self.daemonDir)/\(daemon)", "-d", "-N", name, "-F", "traditional",
            "-i", "\(dir)/\(daemon).pid", "--log", "file:\(dir)/\(daemon).log",
        ]
        if daemon == "bgpd" { args += bgpdArgs }
        try Shell.check(args)
        try waitFor("/var/run/frr/\(name)/\(daemon).vty")
    }

    deinit { stop() }

    private func waitFor(_ path: String) throws {
        for _ in 0..<100 {
            if FileManager.default.fileExists(atPath: path) { return }
            usleep(50_000)
        }
        throw FRRError("FRR did not create \(path) within 5 s; logs: \(logs())")
    }

    /// Loads a config with `vtysh -f`, as FRR's own reload does.
    /// Runs a command inside this instance's network namespace.
    @discardableResult
    public func inNetns(_ args: [String]) throws -> String {
        try netns.exec(args)
    }

    public func load(_ file: String) throws -> LoadResult {
        let r = try Shell.run(["vtysh", "-N", name, "-f", file])
        let lines = (r.stdout + "\n" + r.stderr).split(separator: "\n", omittingEmptySubsequences: false)
        return LoadResult(status: r.status, problems: lines.filter { !Self.isBenign($0) }.map(String.init))
    }

    public struct LoadResult: Sendable {
        public let status: Int32
        /// Every output line that is not known to be harmless.
        public let problems: [String]
        public var clean: Bool { status == 0 && problems.isEmpty }
    }

    /// A show command against one daemon (JSON views are per daemon).
    public func show(_ command: String, daemon: String? = nil) throws -> String {
        var args = ["vtysh", "-N", name]
        if let daemon { args += ["-d", daemon] }
        args += ["-c", command]
        let r = try Shell.run(args)
        guard r.status == 0 else { throw FRRError("`\(command)` failed: \(r)") }
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("% Can't open configuration file /etc/frr/") }
            .joined(separator: "\n")
    }

    public func showJSON(_ command: String, daemon: String = "bgpd") throws -> [String: Any] {
        let text = try show(command, daemon: daemon)
        guard let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw FRRError("`\(command)` did not print a JSON object: \(text.prefix(200))")
        }
        return obj
    }

    /// Daemon log lines that report errors (the MPLS notice is about this
    /// kernel, not about the config).
    public func logErrors() -> [String] {
        logs().split(separator: "\n").filter { line in
            (line.contains("[EC ") || line.lowercased().contains("error")) && !line.contains("Disabling MPLS support")
        }.map(String.init)
    }

    /// A running daemon's PID (from its pid file), so a test can stop one daemon.
    public func pid(of daemon: String) -> Int32? {
        readText("\(dir)/\(daemon).pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public func logs() -> String {
        ["zebra", "bgpd"].map { readText("\(dir)/\($0).log") ?? "" }.joined(separator: "\n")
    }

    /// Ends the daemons (SIGKILL) but keeps the namespace and pathspace:
    /// FRR "not running" as a node would see it.
    public func killDaemons(_ daemons: [String] = ["bgpd", "zebra"]) {
        for daemon in daemons {
            if let text = readText("\(dir)/\(daemon).pid"), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
                for _ in 0..<40 where kill(pid, 0) == 0 { usleep(50_000) }
            }
        }
    }

    public func stop() {
        guard started else { return }
        started = false
        for daemon in ["bgpd", "zebra"] {
            if let text = readText("\(dir)/\(daemon).pid"), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGTERM)
                for _ in 0..<40 where kill(pid, 0) == 0 { usleep(50_000) }
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            }
        }
        netns.delete()
        try? FileManager.default.removeItem(atPath: "/var/run/frr/\(name)")
        try? FileManager.default.removeItem(atPath: dir)
    }
}

public struct FRRError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
