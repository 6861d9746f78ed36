import Glibc

/// One apply at a time per network namespace: two concurrent runs would
/// race for the same names and tables. The lock is an abstract unix socket
/// name, which exists per network namespace and vanishes with its holder,
/// even after kill -9: no lock file to clean up.
public final class ApplyLock {
    private let fd: Int32

    public init() throws(ApplyError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ApplyError("cannot create the apply lock: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let name = Array("\0vrfc-apply.lock".utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in name.enumerated() { p[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else {
            let e = errno
            close(fd)
            if e == EADDRINUSE {
                throw ApplyError("another vrfc-apply is running in this network namespace; wait for it and rerun")
            }
            throw ApplyError("cannot take the apply lock: \(String(cString: strerror(e)))")
        }
    }

    deinit { close(fd) }
}
