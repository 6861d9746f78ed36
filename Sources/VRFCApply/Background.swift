import Foundation

/// One piece of work on another thread while the reconcile goes on (a
/// `vtysh --dryrun` while the kernel is read, the kept state's files
/// written while FRR commits); `join` waits for its result.
final class Background<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: T?

    init(_ body: @escaping @Sendable () -> T) {
        Thread.detachNewThread { [self] in
            result = body()
            done.signal()
        }
    }

    /// The result (waits once; later calls return it at once).
    func join() -> T {
        if let result { return result }
        done.wait()
        return result!
    }
}
