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
        guard fd >= 0 else {
            return CommandOutput(status: -1, output: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
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
