import Dispatch

/// `items.map(transform)`, with the elements spread over the machine's
/// cores. Results come back in input order, so output stays deterministic
/// whatever the scheduling.
public func parallelMap<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
    if items.count <= 1 { return items.map(transform) }
    let slots = Slots<R>(count: items.count)
    DispatchQueue.concurrentPerform(iterations: items.count) { i in
        slots.store(transform(items[i]), at: i)
    }
    return slots.values()
}

/// Result slots written by concurrent workers, one slot each.
private final class Slots<R>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<R?>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }

    /// Each index is written by exactly one worker, so no two threads touch
    /// the same memory; concurrentPerform's return orders these writes
    /// before `values()` reads them.
    func store(_ value: R, at index: Int) { buffer[index] = value }

    func values() -> [R] { buffer.map { $0! } }
}
