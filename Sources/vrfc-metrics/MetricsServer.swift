import FlyingFox
import FlyingSocks
import Foundation
import VRFCMetrics

/// The HTTP side: `GET /metrics` answers one scrape in Prometheus' text
/// format; every other path is 404. Scrapes run one at a time on a queue
/// of their own (they run vtysh), off the server's tasks.
enum MetricsServer {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// FlyingFox answers 500 to a handler that takes longer than this; a
    /// scrape is bounded by its collectors' own deadlines (vtysh, the
    /// privileged side), each well below it.
    static let handlerTimeout: TimeInterval = 60

    static func make(_ address: ListenAddress) throws -> HTTPServer {
        if address.isIPv6 {
            return HTTPServer(address: try .inet6(ip6: address.host, port: address.port), timeout: handlerTimeout, logger: .disabled)
        }
        return HTTPServer(address: try .inet(ip4: address.host, port: address.port), timeout: handlerTimeout, logger: .disabled)
    }

    /// Serves until the server fails (e.g. it cannot listen).
    static func serve(_ server: HTTPServer, scrape: Scrape) async throws {
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
