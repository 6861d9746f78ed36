import Foundation
import Glibc
import Synchronization
import VRFCNetlink
import VRFCTestSupport

/// A network namespace the tests created (`vrfcb-` + random suffix, so
/// parallel tests never collide), deleted by `delete()`.
public struct Netns: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public var description: String { name }

    public static func create(_ role: String) throws -> Netns {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let ns = Netns(name: "vrfcb-\(role)-\(suffix)")
        try Shell.check(["ip", "netns", "add", ns.name])
        try ns.ip("link", "set", "lo", "up")
        return ns
    }

    public func delete() {
        _ = try? Shell.check(["ip", "netns", "del", name])
    }

    /// `ip -n NS ARGS...`
    @discardableResult
    public func ip(_ args: String...) throws -> String {
        try Shell.check(["ip", "-n", name] + args).stdout
    }

    /// `ip netns exec NS ARGS...`
    @discardableResult
    public func exec(_ args: [String]) throws -> String {
        try Shell.check(["ip", "netns", "exec", name] + args).stdout
    }

    public func sysctl(_ setting: String) throws {
        try exec(["sysctl", "-q", "-w", setting])
    }

    /// Runs `body` on a new thread that has entered this namespace (setns
    /// switches only the calling thread; the thread ends with `body`, so no
    /// pooled thread is ever left in a test's namespace).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try start(body).join()
    }

    public func start<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Joinable<T> {
        let job = Joinable<T>()
        let name = self.name
        let thread = Thread {
            let result: Result<T, any Error>
            do {
                try NetlinkSocket.enterNamespace(name)
                result = Result { try body() }
            } catch {
                result = .failure(SetupError("cannot enter network namespace \(name): \(error)"))
            }
            job.finish(result)
        }
        thread.start()
        return job
    }

    /// The interface's ifindex inside this namespace.
    public func ifindex(_ interface: String) throws -> Int32 {
        let text = try exec(["cat", "/sys/class/net/\(interface)/ifindex"])
        guard let value = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SetupError("no ifindex for \(interface) in \(name): \(text)")
        }
        return value
    }

    /// A counter from /proc/net/snmp (e.g. ("Ip", "ForwDatagrams")) or, for
    /// IPv6 names, /proc/net/snmp6 ("Ip6OutForwDatagrams").
    public func snmp(_ group: String, _ field: String) throws -> UInt64 {
        let text = try exec(["cat", "/proc/net/snmp"])
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(group + ":") }
        guard lines.count >= 2 else { throw SetupError("no \(group) in /proc/net/snmp of \(name)") }
        let keys = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let i = keys.firstIndex(where: { $0 == field }), let v = UInt64(values[i]) else {
            throw SetupError("no \(group) \(field) in /proc/net/snmp of \(name)")
        }
        return v
    }

    public func snmp6(_ field: String) throws -> UInt64 {
        let text = try exec(["cat", "/proc/net/snmp6"])
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count == 2, parts[0] == field, let v = UInt64(parts[1]) { return v }
        }
        throw SetupError("no \(field) in /proc/net/snmp6 of \(name)")
    }
}

/// The result of a body running on its own thread.
public final class Joinable<T: Sendable>: Sendable {
    private let state = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init() {}

    func finish(_ result: Result<T, any Error>) {
        state.withLock { $0 = result }
        done.signal()
    }

    public func join() throws -> T {
        done.wait()
        return try state.withLock { try $0!.get() }
    }
}

/// Cleans up namespaces (and pin directories) on every exit path.
public func withNamespaces<T>(_ roles: [String], _ body: ([Netns]) throws -> T) throws -> T {
    var created: [Netns] = []
    defer { created.forEach { $0.delete() } }
    for role in roles { created.append(try Netns.create(role)) }
    return try body(created)
}

/// Runs `body` on a plain thread of its own (for work that blocks while the
/// caller carries on, e.g. traffic during a program swap).
public func background<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Joinable<T> {
    let job = Joinable<T>()
    Thread { job.finish(Result { try body() }) }.start()
    return job
}
