import Foundation

/// A network namespace a test created, deleted by `delete()`: the one
/// namespace helper of every test target. Names are `PREFIX-ROLE-RANDOM`,
/// unique, so tests run side by side; the prefix says which suite made it
/// (`vrfca-` the applier's, `vrfcb-` the router's, `vrfco-` FRR's).
public struct Netns: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public var description: String { name }

    /// Creates the namespace with its loopback up; root only.
    public static func create(_ role: String, prefix: String = "vrfct") throws -> Netns {
        guard getuid() == 0 else { throw SetupError("network namespaces need root: run the kernel tests as root (scripts/test.sh)") }
        _ = try Shell.which("ip")
        let ns = Netns(name: "\(prefix)-\(role)-\(UUID().uuidString.prefix(8).lowercased())")
        try Shell.check(["ip", "netns", "add", ns.name])
        do {
            try ns.ip("link", "set", "lo", "up")
        } catch {
            ns.delete()
            throw error
        }
        return ns
    }

    public func delete() {
        _ = try? Shell.run(["ip", "netns", "del", name])
    }

    /// `ip -n NS ARGS...`; a failure throws with the output.
    @discardableResult
    public func ip(_ args: String...) throws -> String {
        try ip(args)
    }

    @discardableResult
    public func ip(_ args: [String]) throws -> String {
        try Shell.check(["ip", "-n", name] + args).stdout
    }

    /// `ip netns exec NS ARGS...`; a failure throws with the output.
    @discardableResult
    public func exec(_ args: [String]) throws -> String {
        try Shell.check(["ip", "netns", "exec", name] + args).stdout
    }

    /// `ip netns exec NS ARGS...`, whatever its exit status.
    public func run(_ args: [String], environment: [String: String]? = nil, timeout: Double? = nil) throws -> CommandResult {
        try Shell.run(["ip", "netns", "exec", name] + args, environment: environment, timeout: timeout)
    }

    public func sysctl(_ setting: String) throws {
        try exec(["sysctl", "-q", "-w", setting])
    }

    /// The interface's ifindex inside this namespace.
    public func ifindex(_ interface: String) throws -> Int32 {
        let text = try exec(["cat", "/sys/class/net/\(interface)/ifindex"])
        guard let value = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SetupError("no ifindex for \(interface) in \(name): \(text)")
        }
        return value
    }

    /// A counter from /proc/net/snmp (e.g. ("Ip", "ForwDatagrams")).
    public func snmp(_ group: String, _ field: String) throws -> UInt64 {
        let text = try exec(["cat", "/proc/net/snmp"])
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(group + ":") }
        guard lines.count >= 2 else { throw SetupError("no \(group) in /proc/net/snmp of \(name)") }
        let keys = lines[0].split(separator: " ")
        let values = lines[1].split(separator: " ")
        guard let i = keys.firstIndex(where: { $0 == field }), let v = UInt64(values[i]) else {
            throw SetupError("no \(group) \(field) in /proc/net/snmp of \(name)")
        }
        return v
    }

    /// A counter from /proc/net/snmp6 (e.g. "Ip6OutForwDatagrams").
    public func snmp6(_ field: String) throws -> UInt64 {
        let text = try exec(["cat", "/proc/net/snmp6"])
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count == 2, parts[0] == field, let v = UInt64(parts[1]) { return v }
        }
        throw SetupError("no \(field) in /proc/net/snmp6 of \(name)")
    }
}

/// Namespaces for `roles`, deleted on every exit path.
public func withNamespaces<T>(_ roles: [String], prefix: String = "vrfct", _ body: ([Netns]) throws -> T) throws -> T {
    var created: [Netns] = []
    defer { created.forEach { $0.delete() } }
    for role in roles { created.append(try Netns.create(role, prefix: prefix)) }
    return try body(created)
}
