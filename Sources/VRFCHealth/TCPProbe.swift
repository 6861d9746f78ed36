import Foundation

/// A TCP connect with a deadline, as the reachability check makes it.
enum TCPProbe {
    /// nil when a connection to one of the host's addresses was established
    /// within `timeout` seconds; else why not.
    static func connect(host: String, port: UInt16, timeout: Double) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return "cannot resolve \(host.debugDescription): \(String(cString: gai_strerror(rc)))"
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(
                ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            defer { close(fd) }
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, (timeout * 1000).rounded())))
            if ready == 0 {
                lastError = "no answer within \(formatSeconds(timeout))"
                continue
            }
            if ready < 0 {
                lastError = String(cString: strerror(errno))
                continue
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError == 0 { return nil }
            lastError = String(cString: strerror(soError))
        }
        return lastError
    }
}

func formatSeconds(_ s: Double) -> String {
    s >= 1 && s == s.rounded() ? "\(Int(s))s" : "\(Int((s * 1000).rounded()))ms"
}
