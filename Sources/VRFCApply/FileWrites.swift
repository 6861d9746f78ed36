import Foundation
import Glibc

/// The one write(2) loop of vrfc-apply's files and sockets: a short write
/// continues where it stopped and EINTR retries. The errno of a failure;
/// nil when every byte was written.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var off = 0
    while off < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
        if n < 0 && errno == EINTR { continue }
        // write(2) returning 0 for a non-empty buffer would loop for ever.
        guard n > 0 else { return n == 0 ? EIO : errno }
        off += n
    }
    return nil
}

/// A private scratch file (candidate configs, deltas, their per-daemon
/// copies): created or truncated, mode 0600, never through a symbolic link.
func writePrivateFile(_ path: String, _ bytes: some ContiguousBytes) throws(ApplyError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ApplyError("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    if let e = bytes.withUnsafeBytes({ writeAll(fd, $0) }) {
        throw ApplyError("cannot write \(path): \(String(cString: strerror(e)))")
    }
}
