import Foundation
import VRFCFrontend

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a file the way a node needs it: all or nothing, via a temporary
/// file in the same directory, fsync and rename(2). An existing file keeps
/// its mode and owner (a 0640 frr:frr frr.conf stays so), and a symlink
/// stays a symlink: its target is what gets replaced.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ text: String, to path: String) throws {
        var target = path
        if let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        }
        let existing = FileStatus.of(target)
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path
        let temp = dir + "/." + url.lastPathComponent + ".vrfc-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        func fail(_ what: String) -> Failure { Failure(description: "\(what): \(String(cString: strerror(errno)))") }

        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw fail("cannot create a temporary file in \(dir)") }
        var done = false
        defer {
            if !done {
                close(fd)
                unlink(temp)
            }
        }
        if let existing {
            // Owner first: chown clears set-id bits, which the mode then restores.
            if existing.owner != getuid() || existing.group != getgid() {
                guard fchown(fd, existing.owner, existing.group) == 0 else { throw fail("cannot give the new file the owner of \(target)") }
            }
            guard fchmod(fd, mode_t(existing.mode)) == 0 else { throw fail("cannot give the new file the mode of \(target)") }
        }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write")
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw fail("cannot sync") }
        done = true
        guard close(fd) == 0 else {
            unlink(temp)
            throw fail("cannot write")
        }
        guard rename(temp, target) == 0 else {
            let f = fail("cannot rename the temporary file to \(target)")
            unlink(temp)
            throw f
        }
    }
}
