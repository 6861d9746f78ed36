import FlyingFox
import FlyingSocks
import Foundation

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
            if h.hasPrefix("[") && h.hasSuffix("]") { host = String(h.dropFirst().dropLast()) }
            else if !h.isEmpty { host = h }
            guard !host.contains(":") || h.hasPrefix("[") else { return nil }
        }
        guard let port = UInt16(portText) else { return nil }
        var v4 = in_addr(), v6 = in6_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        self.host = host
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The HTTP side: `GET /metrics` answers one scrape in Prometheus' text
/// format; every other path is 404. Scrapes run one at a time on a queue
/// of their own (they run vtysh), off the server's tasks.
public enum MetricsServer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func make(_ address: ListenAddress) throws -> HTTPServer {
        if address.isIPv6 {
            return HTTPServer(address: try .inet6(ip6: address.host, port: address.port), logger: .disabled)
        }
        return HTTPServer(address: try .inet(ip4: address.host, port: address.port), logger: .disabled)
    }

    /// Serves until the server fails (e.g. it cannot listen).
    public static func serve(_ server: HTTPServer, scrape: Scrape) async throws {
        let box = UncheckedBox(scrape: scrape, queue: DispatchQueue(label: "vrfc.metrics.scrape"))
        await server.appendRoute("GET /metrics") { _ in
            let body: [UInt8] = await withCheckedContinuation { c in box.queue.async { c.resume(returning: box.scrape.exposition()) } }
            return HTTPResponse(statusCode: .ok, headers: [.contentType: MetricsServer.contentType], body: Data(body))
        }
        try await server.run()
    }
}

private struct UncheckedBox: @unchecked Sendable {
    let scrape: Scrape
    let queue: DispatchQueue
}
