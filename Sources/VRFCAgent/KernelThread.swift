import Foundation
import VRFCNetlink

/// One OS thread for the agent's blocking kernel work, inside the network
/// namespace the agent manages.
///
/// A network namespace belongs to a thread, not a process: entering one on a
/// thread of Swift's shared pool would move whatever task runs there next.
/// Netlink sockets, the apply lock (an abstract unix socket) and libbpf's tc
/// calls all act in the namespace of the thread that opens them, so they all
/// run here, one job at a time, which also serialises reconciles.
public final class KernelThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []  // guarded by `condition`

    /// Starts the thread and enters `namespace` (`/run/netns/NAME`) on it.
    public init(namespace: String?) throws(NetlinkError) {
        let started = NSCondition()
        nonisolated(unsafe) var result: Result<Void, NetlinkError>?
        let thread = Thread { [self] in
            var r: Result<Void, NetlinkError> = .success(())
            if let namespace {
                do throws(NetlinkError) { try NetlinkSocket.enterNamespace(namespace) } catch { r = .failure(error) }
            }
            started.lock()
            result = r
            started.signal()
            started.unlock()
            if case .success = r { self.loop() }
        }
        thread.name = "vrfc-kernel"
        thread.start()
        started.lock()
        while result == nil { started.wait() }
        started.unlock()
        if case .failure(let e) = result! { throw e }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on the kernel thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            condition.lock()
            jobs.append { c.resume(returning: body()) }
            condition.signal()
            condition.unlock()
        }
    }
}
