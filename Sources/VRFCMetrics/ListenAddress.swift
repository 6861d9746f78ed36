import Glibc

/// `ADDR:PORT` as the metrics commands take it: `192.0.2.1:7082`,
/// `[2001:db8::1]:7082`, `:7082` (every IPv4 address) or `7082`.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public static let defaultPort: UInt16 = 7082

    public init?(_ text: String) {
        var host = "0.0.0.0"
        var portText = text
        if let colon = text.lastIndex(of: ":") {
            let h = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
            if h.hasPrefix("[") && h.hasSuffix("]") { host = String(h.dropFirst().dropLast()) } else if !h.isEmpty { host = h }
            guard !host.contains(":") || h.hasPrefix("[") else { return nil }
        }
        guard let port = UInt16(portText) else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        self.host = host
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
