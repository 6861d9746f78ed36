import Foundation
import Logging
import Synchronization

/// One log event per line on stderr, as logfmt (`key=value`, values quoted
/// when they need it) or as a JSON object: what journald, `kubectl logs` and
/// log shippers take as they are. Every value is escaped, so an input path or
/// error message can never forge another line or field.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let format: Format
    let label: String

    private static let output = Mutex<FileHandle>(FileHandle.standardError)

    public init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()),
            ("level", event.level.rawValue),
            ("msg", event.message.description),
        ]
        var all = metadata
        if let p = metadataProvider { all.merge(p.get(), uniquingKeysWith: { _, b in b }) }
        if let m = event.metadata { all.merge(m, uniquingKeysWith: { _, b in b }) }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { fields.append((k, Self.flatten(v))) }
        let line = format == .json ? Self.json(fields) : Self.logfmt(fields)
        Self.output.withLock { $0.write(Data((line + "\n").utf8)) }
    }

    static func flatten(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): a.map(flatten).joined(separator: ",")
        case .dictionary(let d): d.sorted { $0.key < $1.key }.map { "\($0.key)=\(flatten($0.value))" }.joined(separator: ",")
        }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &t)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
            t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1_000_000)
    }

    /// logfmt: bare when the value is plain, else double-quoted with `\`,
    /// `"` and control characters escaped (newlines become `\n`).
    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { k, v in
            let plain =
                !v.isEmpty && v.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "=" && $0 != "\\" }
            return "\(k)=" + (plain ? v : quote(v))
        }.joined(separator: " ")
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\(quote($0.1))" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal (also valid logfmt quoting).
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80...0x9f).contains(u.value) || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
