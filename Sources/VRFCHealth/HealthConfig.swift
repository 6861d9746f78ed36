import Foundation

/// The node's network healthcheck config (`net-healthcheck-config.yaml`),
/// in the network-operator's format, unchanged:
///
///     interfaces: [eth0]            # must be up
///     reachability:                 # TCP endpoints that must connect
///     - host: "192.0.2.1"
///       port: 80
///     timeout: 5s                   # per connect; default 3s
///     retries: 10                   # tries per endpoint; default 3
public struct HealthConfig: Equatable, Sendable {
    public struct Endpoint: Equatable, Sendable, Codable {
        public var host: String
        public var port: UInt16
        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }
    }

    public var interfaces: [String] = []
    public var reachability: [Endpoint] = []
    /// Seconds per connect attempt.
    public var timeout: Double = 3
    public var retries: Int = 3

    public init(interfaces: [String] = [], reachability: [Endpoint] = [], timeout: Double = 3, retries: Int = 3) {
        self.interfaces = interfaces
        self.reachability = reachability
        self.timeout = timeout
        self.retries = retries
    }

    public static let defaultPath = "/opt/network-operator/net-healthcheck-config.yaml"
    public static let environmentVariable = "OPERATOR_NETHEALTHCHECK_CONFIG"

    /// The file to read: an explicit path, else $OPERATOR_NETHEALTHCHECK_CONFIG, else the default.
    public static func path(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit { return explicit }
        if let env = environment[environmentVariable], !env.isEmpty { return env }
        return defaultPath
    }

    /// Reads and validates the file; every error names file, line and field.
    public static func load(path: String) throws(HealthConfigError) -> HealthConfig {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw HealthConfigError(file: path, line: 0, field: nil, message: "cannot read the file")
        }
        if let size = attributes[.size] as? Int, size > HealthConfigReader.maxBytes {
            throw HealthConfigError(
                file: path, line: 0, field: nil, message: "the file is larger than \(HealthConfigReader.maxBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HealthConfigError(file: path, line: 0, field: nil, message: "cannot read the file")
        }
        return try HealthConfigReader.parse(data, file: path)
    }
}

/// A located config error: `file:line: field: message`.
public struct HealthConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the error is about the whole file.
    public let line: Int
    public let field: String?
    public let message: String

    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return "\(place): \(field.map { "\($0): " } ?? "")\(message)"
    }
}

/// A strict reader for exactly the healthcheck file's shape. The privileged
/// binary links no YAML library, and this operator-owned file needs only
/// top-level keys, block or `[...]` lists of scalars, one list of
/// `host`/`port` maps and plain or quoted scalars. Anything else (anchors,
/// tags, multi-line scalars, unknown or repeated keys, tabs) is refused with
/// its line rather than guessed at.
enum HealthConfigReader {
    static let maxBytes = 64 * 1024

    private struct Line {
        let number: Int
        let indent: Int
        /// The content after the indent, without its comment and trailing blanks.
        let text: Substring
    }

    static func parse(_ data: Data, file: String) throws(HealthConfigError) -> HealthConfig {
        func fail(_ line: Int, _ field: String?, _ message: String) -> HealthConfigError {
            HealthConfigError(file: file, line: line, field: field, message: message)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw fail(0, nil, "the file is not UTF-8") }
        var lines: [Line] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = i + 1
            var raw = raw
            if raw.hasSuffix("\r") { raw = raw.dropLast() }
            if n == 1 && raw.hasPrefix("\u{FEFF}") { raw = raw.dropFirst() }
            let indent = raw.prefix { $0 == " " }.count
            let rest = raw.dropFirst(indent)
            if rest.first == "\t" { throw fail(n, nil, "tabs are not allowed for indentation") }
            let content = try stripComment(rest, line: n, fail: fail)
            if content.isEmpty { continue }
            if n == 1 || lines.isEmpty, content == "---" { continue }
            if content == "---" || content == "..." { throw fail(n, nil, "only one YAML document is allowed") }
            lines.append(Line(number: n, indent: indent, text: content))
        }

        var config = HealthConfig()
        var seen: Set<String> = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            guard line.indent == 0, !line.text.hasPrefix("-") else {
                throw fail(line.number, nil, "expected a top-level key (interfaces, reachability, timeout, retries)")
            }
            let (key, value) = try splitKey(line.text, line: line.number, field: nil, fail: fail)
            guard ["interfaces", "reachability", "timeout", "retries"].contains(key) else {
                throw fail(line.number, escaped(key), "unknown key (known: interfaces, reachability, timeout, retries)")
            }
            guard seen.insert(key).inserted else { throw fail(line.number, key, "the key is repeated") }
            i += 1
            // The block below a key: every following line that is indented or a list item.
            var block: [Line] = []
            while i < lines.count, lines[i].indent > 0 || lines[i].text.hasPrefix("-") {
                block.append(lines[i])
                i += 1
            }
            switch key {
            case "timeout", "retries":
                guard block.isEmpty else { throw fail(block[0].number, key, "expected a single value on the key's line") }
                guard let value, !value.isEmpty else { throw fail(line.number, key, "a value is required") }
                let scalar = try parseScalar(value, line: line.number, field: key, fail: fail)
                if key == "timeout" {
                    guard let seconds = parseDuration(scalar), seconds > 0, seconds <= 3600 else {
                        throw fail(line.number, key, "\(escaped(scalar)) is not a duration between 1ns and 1h (e.g. 3s, 500ms, 1m30s)")
                    }
                    config.timeout = seconds
                } else {
                    guard let n = Int(scalar), (1...1000).contains(n) else {
                        throw fail(line.number, key, "\(escaped(scalar)) is not a whole number from 1 to 1000")
                    }
                    config.retries = n
                }
            case "interfaces":
                let items = try listItems(value, block, line: line.number, field: key, fail: fail)
                var names: Set<String> = []
                for (n, item) in items {
                    guard item.rest.isEmpty else { throw fail(item.line, key, "expected an interface name, not a map") }
                    let name = try parseScalar(item.head, line: n, field: key, fail: fail)
                    guard isInterfaceName(name) else {
                        throw fail(n, key, "\(escaped(name)) is not an interface name (1-15 characters, no '/', ':' or blanks)")
                    }
                    guard names.insert(name).inserted else { throw fail(n, key, "\(escaped(name)) is listed twice") }
                    config.interfaces.append(name)
                }
            default:  // reachability
                let items = try listItems(value, block, line: line.number, field: key, fail: fail)
                for (index, (n, item)) in items.enumerated() {
                    let field = "reachability[\(index)]"
                    var host: String?
                    var port: UInt16?
                    for (ln, text) in [(n, item.head)] + item.rest {
                        let (k, v) = try splitKey(text, line: ln, field: field, fail: fail)
                        guard let v, !v.isEmpty else { throw fail(ln, "\(field).\(escaped(k))", "a value is required") }
                        let scalar = try parseScalar(v, line: ln, field: "\(field).\(k)", fail: fail)
                        switch k {
                        case "host":
                            guard host == nil else { throw fail(ln, "\(field).host", "the key is repeated") }
                            guard isHost(scalar) else {
                                throw fail(ln, "\(field).host", "\(escaped(scalar)) is not a host name or IP address")
                            }
                            host = scalar
                        case "port":
                            guard port == nil else { throw fail(ln, "\(field).port", "the key is repeated") }
                            guard let p = UInt16(scalar), p > 0 else {
                                throw fail(ln, "\(field).port", "\(escaped(scalar)) is not a port from 1 to 65535")
                            }
                            port = p
                        default:
                            throw fail(ln, "\(field).\(escaped(k))", "unknown key (known: host, port)")
                        }
                    }
                    guard let host else { throw fail(n, "\(field).host", "missing") }
                    guard let port else { throw fail(n, "\(field).port", "missing") }
                    config.reachability.append(.init(host: host, port: port))
                }
            }
        }
        return config
    }

    private struct Item {
        let line: Int
        /// The text after `- `.
        let head: Substring
        /// Continuation lines of a map item, at the column of its first key.
        let rest: [(Int, Substring)]
    }

    /// A list as `key: []`, `key: [a, b]`, `key:` with nothing, or a block of `- ` items.
    private static func listItems(
        _ value: Substring?, _ block: [Line], line: Int, field: String,
        fail: (Int, String?, String) -> HealthConfigError
    ) throws(HealthConfigError) -> [(Int, Item)] {
        if let value, !value.isEmpty {
            guard block.isEmpty else { throw fail(block[0].number, field, "a list is either on the key's line or below it, not both") }
            guard value.hasPrefix("["), value.hasSuffix("]") else { throw fail(line, field, "expected a list") }
            let inner = value.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return [] }
            guard !inner.contains("{"), !inner.contains("[") else {
                throw fail(line, field, "only a list of plain values may be written in [...]")
            }
            return inner.split(separator: ",", omittingEmptySubsequences: false).map {
                (line, Item(line: line, head: Substring($0.trimmingCharacters(in: .whitespaces)), rest: []))
            }
        }
        var items: [(Int, Item)] = []
        guard let first = block.first else { return [] }
        let dashIndent = first.indent
        var j = 0
        while j < block.count {
            let l = block[j]
            guard l.indent == dashIndent, l.text == "-" || l.text.hasPrefix("- ") else {
                throw fail(l.number, field, "expected a list item (`- ...`) indented like the first one")
            }
            let head = l.text.dropFirst().drop { $0 == " " }
            guard !head.isEmpty else { throw fail(l.number, field, "an empty list item") }
            let keyColumn = dashIndent + (l.text.count - head.count)
            var rest: [(Int, Substring)] = []
            j += 1
            while j < block.count, block[j].indent > dashIndent {
                guard block[j].indent == keyColumn, !block[j].text.hasPrefix("-") else {
                    throw fail(block[j].number, field, "expected a key indented like the item's first key")
                }
                rest.append((block[j].number, block[j].text))
                j += 1
            }
            items.append((l.number, Item(line: l.number, head: head, rest: rest)))
        }
        return items
    }

    /// `key: value` (value nil when the line ends after the colon).
    private static func splitKey(
        _ text: Substring, line: Int, field: String?,
        fail: (Int, String?, String) -> HealthConfigError
    ) throws(HealthConfigError) -> (String, Substring?) {
        guard let colon = text.firstIndex(of: ":") else { throw fail(line, field, "expected `key: value`") }
        let key = text[..<colon]
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw fail(line, field, "\(escaped(String(key))) is not a plain key")
        }
        let after = text[text.index(after: colon)...]
        if after.isEmpty { return (String(key), nil) }
        guard after.first == " " else { throw fail(line, field, "expected a blank after `\(key):`") }
        return (String(key), after.drop { $0 == " " })
    }

    /// A plain, "double" or 'single' quoted scalar on one line.
    private static func parseScalar(
        _ text: Substring, line: Int, field: String,
        fail: (Int, String?, String) -> HealthConfigError
    ) throws(HealthConfigError) -> String {
        if text.hasPrefix("\"") || text.hasPrefix("'") {
            let quote = text.first!
            guard text.count >= 2, text.hasSuffix(String(quote)) else { throw fail(line, field, "an unterminated quoted value") }
            let inner = text.dropFirst().dropLast()
            if quote == "'" {
                guard !inner.replacingOccurrences(of: "''", with: "").contains("'") else { throw fail(line, field, "a stray quote") }
                return inner.replacingOccurrences(of: "''", with: "'")
            }
            guard !inner.contains("\\") else { throw fail(line, field, "escape sequences are not supported in this file") }
            guard !inner.contains("\"") else { throw fail(line, field, "a stray quote") }
            return String(inner)
        }
        if let c = text.first, "&*!|>{}%@`,[]".contains(c) {
            throw fail(line, field, "\(escaped(String(text))) uses YAML syntax this file does not support")
        }
        guard !text.contains(": "), !text.contains(" #") else { throw fail(line, field, "\(escaped(String(text))) is not a single value") }
        return String(text)
    }

    /// Drops a `#` comment that is outside quotes and at the start or after a blank.
    private static func stripComment(
        _ s: Substring, line: Int,
        fail: (Int, String?, String) -> HealthConfigError
    ) throws(HealthConfigError) -> Substring {
        var quote: Character?
        var previous: Character = " "
        for i in s.indices {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                if previous == " " || previous == "[" || previous == "," || previous == "-" { quote = c }
            } else if c == "#" && (previous == " " || i == s.startIndex) {
                return trimTrailing(s[..<i])
            }
            previous = c
        }
        return trimTrailing(s)
    }

    private static func trimTrailing(_ s: Substring) -> Substring {
        var s = s
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }

    /// Go's time.ParseDuration syntax (the operator's format): `1m30s`, `500ms`, `2.5s`.
    static func parseDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(s)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total
    }

    static func isInterfaceName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 15 && s != "." && s != ".."
            && s.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0.value < 127 && $0 != "/" && $0 != ":" }
    }

    static func isHost(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 253
            && s.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || ".-:_%".unicodeScalars.contains($0)
            }
    }
}

/// User text in messages: quoted, with control characters escaped.
func escaped(_ s: String) -> String { s.debugDescription }
