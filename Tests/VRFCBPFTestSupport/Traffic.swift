import Foundation
import Glibc
import VRFCTestSupport

/// Real traffic between namespaces from plain sockets on namespace threads:
/// exact packet counts (no ping needed) and a TCP stream for the GSO path.
public enum Traffic {
    /// Sends `count` UDP datagrams from `client` to `address` (in `server`),
    /// which echoes each one back; returns how many echoes arrived intact.
    /// Every datagram crosses the router twice: once each way.
    public static func udpEcho(
        from client: Netns, to server: Netns, address: String, count: Int,
        port: UInt16 = 7777
    ) throws -> Int {
        let r = try udpEchoDetailed(from: client, to: server, address: address, count: count, port: port)
        if r.received != count {
            print("udpEcho \(client) -> \(address) in \(server): \(r)")
        }
        return r.received
    }

    public struct EchoResult: Sendable, CustomStringConvertible {
        public var received: Int
        public var echoedByServer: Int
        public var firstError: String?
        public var description: String {
            "\(received) echoes received, \(echoedByServer) sent back by the server, first error: \(firstError ?? "none")"
        }
    }

    public static func udpEchoDetailed(
        from client: Netns, to server: Netns, address: String, count: Int,
        port: UInt16 = 7777
    ) throws -> EchoResult {
        let ready = DispatchSemaphore(value: 0)
        let echo = server.start { () throws -> Int in
            let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else {
                ready.signal()
                throw SetupError("udp socket: \(errnoText())")
            }
            defer { close(fd) }
            var off: Int32 = 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, 4)
            setTimeout(fd, milliseconds: 200)
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            let bound = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            guard bound == 0 else {
                let text = errnoText()
                let sockets = (try? server.exec(["ss", "-uanp"])) ?? "?"
                ready.signal()
                throw SetupError("udp bind [::]:\(port) in \(server): \(text); sockets:\n\(sockets)")
            }
            ready.signal()
            // Echo until `count` arrived, or nothing did for 5 s.
            var echoed = 0
            var idle = 0
            var buffer = [UInt8](repeating: 0, count: 2048)
            while echoed < count && idle < 25 {
                var peer = sockaddr_storage()
                var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = buffer.withUnsafeMutableBytes { b in
                    withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &len) }
                    }
                }
                if n < 0 {
                    idle += 1
                    continue
                }
                idle = 0
                _ = buffer.withUnsafeBytes { b in
                    withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, n, 0, $0, len) }
                    }
                }
                echoed += 1
            }
            return echoed
        }
        ready.wait()
        let clientResult = Result {
            try client.run { () throws -> (Int, String?) in
                let fd = try connected(address: address, port: port, type: Int32(SOCK_DGRAM.rawValue))
                defer { close(fd) }
                // A first packet may wait for neighbour resolution on a busy
                // machine; an echo that comes late is still matched by content.
                setTimeout(fd, milliseconds: 3000)
                var got = Set<Int>()
                var firstError: String?
                var buffer = [UInt8](repeating: 0, count: 2048)
                func message(_ i: Int) -> [UInt8] {
                    Array("vrfc echo \(i) ".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: 64)
                }
                /// Receives until echo `i` (or, with nil, anything) arrives or the timeout hits.
                func receive(until i: Int?) -> Bool {
                    while true {
                        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                        if n < 0 {
                            firstError = firstError ?? "receive \(i.map(String.init) ?? "straggler"): \(errnoText())"
                            return false
                        }
                        let text = String(decoding: buffer.prefix(n), as: UTF8.self)
                        let parts = text.split(separator: " ")
                        if parts.count >= 3, let k = Int(parts[2]), k >= 0, k < count, Array(buffer.prefix(n)) == message(k) {
                            got.insert(k)
                            if i == nil || k == i { return true }
                        } else {
                            firstError = firstError ?? "a corrupt echo of \(n) bytes"
                        }
                    }
                }
                for i in 0..<count {
                    let m = message(i)
                    guard send(fd, m, m.count, 0) == m.count else {
                        firstError = firstError ?? "send #\(i): \(errnoText())"
                        continue
                    }
                    _ = receive(until: i)
                }
                while got.count < count && receive(until: nil) {}
                return (got.count, firstError)
            }
        }
        // Always wait for the server, so its port is free for the next call.
        let echoed = try echo.join()
        let (received, firstError) = try clientResult.get()
        return EchoResult(received: received, echoedByServer: echoed, firstError: firstError)
    }

    /// Streams `bytes` over TCP from `client` to `address` in `server`;
    /// returns how many bytes arrived in order and intact.
    public static func tcpStream(
        from client: Netns, to server: Netns, address: String, bytes: Int,
        port: UInt16 = 7778
    ) throws -> Int {
        let ready = DispatchSemaphore(value: 0)
        let sink = server.start { () throws -> Int in
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else {
                ready.signal()
                throw SetupError("tcp socket: \(errnoText())")
            }
            defer { close(fd) }
            var off: Int32 = 0
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, 4)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, 4)
            setTimeout(fd, milliseconds: 10_000)
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            let bound = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            guard bound == 0, listen(fd, 1) == 0 else {
                ready.signal()
                throw SetupError("tcp listen :\(port): \(errnoText())")
            }
            ready.signal()
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { throw SetupError("tcp accept: \(errnoText())") }
            defer { close(conn) }
            setTimeout(conn, milliseconds: 10_000)
            var good = 0
            var position = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                for k in 0..<n where buffer[k] == UInt8((position + k) % 251) { good += 1 }
                position += n
            }
            return good
        }
        ready.wait()
        _ = try client.run { () throws -> Int in
            let fd = try connected(address: address, port: port, type: Int32(SOCK_STREAM.rawValue))
            defer { close(fd) }
            let chunk = 1 << 16
            var sent = 0
            while sent < bytes {
                let piece = (0..<min(chunk, bytes - sent)).map { UInt8((sent + $0) % 251) }
                var offset = 0
                while offset < piece.count {
                    let n = piece[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    guard n > 0 else { throw SetupError("tcp send to \(address): \(errnoText())") }
                    offset += n
                }
                sent += piece.count
            }
            shutdown(fd, Int32(SHUT_WR))
            return sent
        }
        return try sink.join()
    }

    static func connected(address: String, port: UInt16, type: Int32) throws -> Int32 {
        let v6 = address.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, type, 0)
        guard fd >= 0 else { throw SetupError("socket: \(errnoText())") }
        var rc: Int32
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            inet_pton(AF_INET6, address, &sa.sin6_addr)
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &sa.sin_addr)
            rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            let text = errnoText()
            close(fd)
            throw SetupError("connect to \(address) port \(port): \(text)")
        }
        return fd
    }

    static func setTimeout(_ fd: Int32, milliseconds: Int) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
