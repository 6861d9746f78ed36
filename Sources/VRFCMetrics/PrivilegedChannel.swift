import Foundation
import Glibc
import Synchronization

/// What the privileged side answers per scrape: its sections (the tc
/// router's counters, the links it owns) and, from the agent, its own
/// families kept across scrapes. It is the only thing that crosses from the
/// privileged side to the unprivileged exporter.
public struct PrivilegedReply: Codable, Sendable, Equatable {
    /// The request's sequence number, so a late reply is never taken for the next one's.
    public var sequence: UInt64
    public var sections: [Section]
    /// The agent's families (reconciles, reloads, last error); empty standalone.
    public var persistent: String

    public init(sequence: UInt64, sections: [Section], persistent: String) {
        self.sequence = sequence
        self.sections = sections
        self.persistent = persistent
    }
}

/// The channel between the privileged side (`vrfc-apply metrics`, the
/// agent) and the unprivileged exporter (`vrfc-metrics`): one AF_UNIX
/// SOCK_SEQPACKET pair, the exporter's end its descriptor 3. A request is
/// exactly one 8-byte sequence number; the privileged side reads nothing
/// else from the exporter, parses nothing, and answers each request with
/// one `PrivilegedReply` as JSON.
public enum PrivilegedChannel {
    /// The sections the privileged side answers with, in order.
    public static let collectorNames = ["router", "links"]
    /// A reply is a few KB; anything larger is refused by both ends.
    public static let maxReply = 200_000
    /// The exporter's end of the pair in the exporter.
    public static let exporterFD: Int32 = 3

    /// A connected pair, close-on-exec: (privileged end, exporter end).
    public static func pair() throws(MetricsSetupError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw MetricsSetupError("cannot create the exporter's socket pair: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }
}

/// The privileged side of the channel: answers every request with its
/// collectors' sections, until the exporter's end is closed.
public final class PrivilegedResponder: Sendable {
    let fd: Int32
    let collectors: [any MetricsCollector]
    let persistent: (@Sendable () -> String)?

    public init(fd: Int32, collectors: [any MetricsCollector], persistent: (@Sendable () -> String)? = nil) {
        self.fd = fd
        self.collectors = collectors
        self.persistent = persistent
    }

    /// Serves on the calling thread (its network namespace is the one the
    /// links collector reads); returns when the exporter is gone.
    /// `failure`, when set, is answered for every section (e.g. the
    /// namespace could not be entered).
    public func serve(failure: String? = nil) {
        var request = [UInt8](repeating: 0, count: 16)
        while true {
            // MSG_TRUNC: the real length, so an oversized message is seen as such.
            let n = request.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_TRUNC)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            // Anything but an 8-byte sequence number is ignored.
            guard n == 8 else { continue }
            var sequence: UInt64 = 0
            for i in 0..<8 { sequence |= UInt64(request[i]) << (8 * UInt64(i)) }
            let sections =
                failure.map { why in
                    PrivilegedChannel.collectorNames.map { Section(collector: $0, seconds: 0, error: why, exposition: "") }
                } ?? collectors.map(Section.run)  // on this thread: its network namespace is the one to read
            var reply = PrivilegedReply(sequence: sequence, sections: sections, persistent: persistent?() ?? "")
            var data = (try? JSONEncoder().encode(reply)) ?? Data()
            if data.count > PrivilegedChannel.maxReply {
                reply = PrivilegedReply(
                    sequence: sequence,
                    sections: sections.map {
                        Section(
                            collector: $0.collector, seconds: $0.seconds,
                            error: "the privileged side's reply exceeds \(PrivilegedChannel.maxReply) bytes", exposition: "")
                    }, persistent: "")
                data = (try? JSONEncoder().encode(reply)) ?? Data()
            }
            let sent = data.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno != EINTR { return }
        }
    }
}

/// The exporter's side of the channel: one request per scrape, with a deadline.
public final class PrivilegedClient: Sendable {
    let fd: Int32
    let timeout: Double
    let sequence = Atomic<UInt64>(0)
    /// One request at a time on the socket.
    let lock = Mutex(())

    /// The deadline only keeps a scrape from hanging: the answer is a map
    /// read and a netlink dump, but a loaded node can be slow.
    public init(fd: Int32 = PrivilegedChannel.exporterFD, timeout: Double = 30) {
        self.fd = fd
        self.timeout = timeout
    }

    /// The privileged side's sections; on any failure, each of its sections
    /// failed with the reason (the exporter's own sections are still served).
    public func fetch() -> PrivilegedReply {
        lock.withLock { _ in
            let seq = sequence.add(1, ordering: .relaxed).newValue
            do {
                return try exchange(seq)
            } catch {
                return PrivilegedReply(
                    sequence: seq,
                    sections: PrivilegedChannel.collectorNames.map {
                        Section(collector: $0, seconds: 0, error: "\(error)", exposition: "")
                    }, persistent: "")
            }
        }
    }

    func exchange(_ seq: UInt64) throws(MetricsSetupError) -> PrivilegedReply {
        var request = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { request[i] = UInt8(truncatingIfNeeded: seq >> (8 * UInt64(i))) }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, 8, Int32(MSG_NOSIGNAL)) }
        guard sent == 8 else { throw MetricsSetupError("cannot ask the privileged side: \(String(cString: strerror(errno)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: PrivilegedChannel.maxReply + 1)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw MetricsSetupError("the privileged side did not answer within \(Int(timeout)) s") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(left * 1000) + 1)
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_TRUNC)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { throw MetricsSetupError("the privileged side closed the channel") }
            guard n <= PrivilegedChannel.maxReply else {
                throw MetricsSetupError("the privileged side's reply is larger than \(PrivilegedChannel.maxReply) bytes")
            }
            let reply: PrivilegedReply
            do { reply = try JSONDecoder().decode(PrivilegedReply.self, from: Data(buffer[..<n])) } catch {
                throw MetricsSetupError("the privileged side's reply is not one: \(error)")
            }
            // A reply to an earlier request that timed out: skip it.
            if reply.sequence == seq { return reply }
        }
    }

    /// Ends this process when the privileged side's end closes (it exited
    /// or was killed): the exporter never outlives what it reports on.
    public func exitOnHangup() {
        let fd = self.fd
        let t = Thread {
            while true {
                // No events asked: POLLHUP is always reported, and nothing is read.
                var p = pollfd(fd: fd, events: 0, revents: 0)
                let r = poll(&p, 1, -1)
                if r < 0 && errno == EINTR { continue }
                if r < 0 || p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    FileHandle.standardError.write(Data("vrfc-metrics: the privileged side is gone; exiting\n".utf8))
                    exit(0)
                }
            }
        }
        t.start()
    }
}

public struct MetricsSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
