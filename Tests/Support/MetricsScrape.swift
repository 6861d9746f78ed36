import Foundation

/// One real scrape of a metrics endpoint over HTTP, parsed by Prometheus'
/// own Python parser (`scripts/scrape-metrics.py`, prometheus_client).
public struct MetricsScrape: @unchecked Sendable {
    public struct Sample: Sendable {
        public let labels: [String: String]
        public let value: Double
    }

    public let doc: [String: Any]

    public init(doc: [String: Any]) { self.doc = doc }

    public var status: Int? { doc["status"] as? Int }
    public var contentType: String? { doc["contentType"] as? String }

    /// Every sample called `name` (a counter's samples end in `_total`).
    public func samples(_ name: String) -> [Sample] {
        let families = doc["families"] as? [String: [String: Any]] ?? [:]
        return families.values.flatMap { ($0["samples"] as? [[String: Any]]) ?? [] }
            .filter { $0["name"] as? String == name }
            .map { Sample(labels: $0["labels"] as? [String: String] ?? [:], value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan) }
    }

    /// The first sample called `name` whose labels include `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples(name).first { s in labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
    }

    public func success(_ collector: String) -> Double? { value("vrfc_scrape_collector_success", ["collector": collector]) }

    /// Family names, for messages.
    public var families: [String] { ((doc["families"] as? [String: Any]) ?? [:]).keys.sorted() }

    /// Scrapes `url` (inside `netns` when given), retrying while the
    /// endpoint comes up; fails after `seconds`.
    public static func get(_ url: String, netns: String? = nil, seconds: Double = 20) throws -> MetricsScrape {
        var last: CommandResult?
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let args = (netns.map { ["ip", "netns", "exec", $0] } ?? []) + ["python3", Repo.path("scripts/scrape-metrics.py"), url]
            let r = try Shell.run(args, timeout: 60)
            if r.status == 0, let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] {
                return MetricsScrape(doc: doc)
            }
            last = r
            usleep(200_000)
        } while Date() < deadline
        throw SetupError("no scrape from \(url) in \(Int(seconds)) s: \(last.map(String.init(describing:)) ?? "")")
    }
}

/// What the kernel says about a running process (/proc/PID/status).
public struct ProcessStatus: Sendable {
    public let fields: [String: String]

    public init?(pid: Int32) {
        guard let text = readText("/proc/\(pid)/status") else { return nil }
        var f: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            f[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        fields = f
    }

    /// Real, effective, saved and filesystem ids.
    public var uids: [UInt32] { (fields["Uid"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) } }
    public var gids: [UInt32] { (fields["Gid"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) } }
    public var groups: [UInt32] { (fields["Groups"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) } }
    public func capabilities(_ set: String) -> UInt64? { fields["Cap" + set].flatMap { UInt64($0, radix: 16) } }
    public var noNewPrivs: Bool { fields["NoNewPrivs"] == "1" }

    /// The children of `pid` (every process whose parent it is).
    public static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = readText("/proc/\(child)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            return rest.count > 2 && Int32(rest[1]) == pid
        }
    }

    /// Whether the process has a file mapped whose path contains `part` (a shared library).
    public static func maps(_ pid: Int32, contain part: String) -> Bool {
        // Read to the end: procfs files report no size.
        guard let h = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { return false }
        defer { try? h.close() }
        return String(decoding: h.readDataToEndOfFile(), as: UTF8.self).contains(part)
    }
}

/// `vrfc-apply metrics` serving in a namespace (`ip netns exec` execs it in
/// place, so the process is vrfc-apply), its messages kept off the test's
/// output; `stop()` ends it by its PID.
public final class MetricsServer {
    public let process = Process()
    let errors = Pipe()

    public init(netns: String, listen: String, frrPathspace: String, pinDirectory: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = [
            "netns", "exec", netns, Repo.executable("vrfc-apply"), "metrics",
            "--listen", listen, "--frr-pathspace", frrPathspace, "--bpf-pin-dir", pinDirectory,
        ]
        process.standardError = errors
        try process.run()
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
