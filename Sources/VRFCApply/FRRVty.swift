import Foundation
import Glibc

/// One FRR daemon's vty socket (`<vtydir>/<daemon>.vty`), spoken to as
/// vtysh does: a command and a NUL out; its output, three NULs and a status
/// byte back. A targeted `show` this way costs milliseconds, where a vtysh
/// process pays its start-up and `show running-config` makes every daemon
/// print (and vtysh merge) the whole configuration.
public final class FRRVty {
    public let daemon: String
    let fd: Int32

    /// The directory of the daemons' vty sockets: FRR's `/var/run/frr`, or
    /// its subdirectory for a pathspace (`-N NAME`).
    public static func directory(pathspace: String?) -> String {
        "/var/run/frr" + (pathspace.map { "/" + $0 } ?? "")
    }

    /// The daemons with a vty socket there (watchfrr holds no routing
    /// configuration), sorted by name.
    public static func daemons(pathspace: String?) -> [String] {
        let dir = directory(pathspace: pathspace)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".vty") }.map { String($0.dropLast(4)) }
            .filter { $0 != "watchfrr" && !$0.isEmpty }.sorted()
    }

    public init(daemon: String, pathspace: String?, timeout: Int = 60) throws(ApplyError) {
        self.daemon = daemon
        let path = Self.directory(pathspace: pathspace) + "/" + daemon + ".vty"
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw ApplyError("\(daemon): cannot create a socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(s)
            throw ApplyError("\(path): the socket path is too long")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(s)
            throw ApplyError("\(path): cannot connect to \(daemon): \(String(cString: strerror(e)))")
        }
        // A daemon that stops answering must not hang a reconcile.
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        fd = s
        // The daemon's vty starts in its view node; `show` of config objects
        // may need the enable node, as vtysh's own sessions are in.
        _ = try run("enable")
    }

    deinit { close(fd) }

    /// Runs one command; the daemon's status (0 success, 1 warning, 2
    /// unknown command, ...) and its output.
    public func run(_ command: String) throws(ApplyError) -> (status: UInt8, output: String) {
        var out = Array(command.utf8)
        guard !out.contains(0) else { throw ApplyError("\(daemon): a command holds a NUL byte") }
        out.append(0)
        if let e = out.withUnsafeBytes({ writeAll(fd, $0) }) {
            throw ApplyError("\(daemon): cannot send '\(command)': \(String(cString: strerror(e)))")
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw ApplyError(
                    "\(daemon): no answer to '\(command)' (\(n == 0 ? "connection closed" : String(cString: strerror(errno))))")
            }
            reply += buffer[..<n]
            // Output text holds no NUL: the first three end it.
            if reply.count >= 4, let end = Self.terminator(reply), end + 3 < reply.count {
                return (reply[end + 3], String(decoding: reply[..<end], as: UTF8.self))
            }
            guard reply.count < 1 << 28 else { throw ApplyError("\(daemon): the answer to '\(command)' exceeds 256 MiB") }
        }
    }

    /// Runs a `show ... json` command: its answer as a JSON object; nil for
    /// an answer that is no JSON object (empty, `% Unknown command`). The
    /// status does not count: FRR 8.4 answers some misses with a warning
    /// and `{}` (zebra's `show interface NAME json` for a link it does not
    /// know), which is an answer.
    public func object(_ command: String) throws(ApplyError) -> [String: Any]? {
        Self.object(json: try run(command).output)
    }

    /// A daemon's JSON answer as an object; nil for anything else.
    public static func object(json text: String) -> [String: Any]? {
        guard !text.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static func terminator(_ b: [UInt8]) -> Int? {
        // Only the tail can hold it (nothing follows the status byte).
        var i = max(0, b.count - (1 << 16) - 4)
        while i + 2 < b.count {
            if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 0 { return i }
            i += 1
        }
        return nil
    }
}
