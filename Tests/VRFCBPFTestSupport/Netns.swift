import CBPF
import Foundation
import Glibc
import Synchronization
import VRFCTestSupport

/// Entering a test's namespace (`Netns`, VRFCTestSupport) from a thread of
/// its own, for code that must run inside it (netlink, libbpf's attach).
extension Netns {
    /// Runs `body` on a new thread that has entered this namespace (setns
    /// switches only the calling thread; the thread ends with `body`, so no
    /// pooled thread is ever left in a test's namespace).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try start(body).join()
    }

    public func start<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Joinable<T> {
        let job = Joinable<T>()
        let path = "/var/run/netns/\(name)"
        let thread = Thread {
            let result: Result<T, any Error>
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 || setns(fd, VRFC_CLONE_NEWNET) != 0 {
                result = .failure(SetupError("cannot enter network namespace \(path): \(String(cString: strerror(errno)))"))
            } else {
                result = Result { try body() }
            }
            if fd >= 0 { close(fd) }
            job.finish(result)
        }
        thread.start()
        return job
    }
}

/// The result of a body running on its own thread.
public final class Joinable<T: Sendable>: Sendable {
    private let state = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init() {}

    func finish(_ result: Result<T, any Error>) {
        state.withLock { $0 = result }
        done.signal()
    }

    public func join() throws -> T {
        done.wait()
        return try state.withLock { try $0!.get() }
    }
}

/// Runs `body` on a plain thread of its own (for work that blocks while the
/// caller carries on, e.g. traffic during a program swap).
public func background<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Joinable<T> {
    let job = Joinable<T>()
    Thread { job.finish(Result { try body() }) }.start()
    return job
}
