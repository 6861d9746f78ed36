import Foundation

/// Phase durations on stderr when `VRFC_TIMINGS` is set, one line per phase
/// (`timing: PHASE: MS ms`): where the time of a large node or a reconcile
/// goes, without a profiler. The benchmarks read these lines; both
/// executables (and vrfc-apply's compile child) print them the same way.
public enum Timings {
    /// Through getenv: Foundation's environment builds a dictionary of every
    /// variable, a cost vrfc-apply would pay on every run.
    public static let enabled = getenv("VRFC_TIMINGS") != nil

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func report(_ phase: String, since start: UInt64) {
        guard enabled else { return }
        let ms = Double(now() - start) / 1e6
        FileHandle.standardError.write(Data("timing: \(phase): \(String(format: "%.1f", ms)) ms\n".utf8))
    }

    public static func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = now()
        defer { report(phase, since: start) }
        return try body()
    }
}

/// Successive phases of one run: each mark reports the time since the
/// previous mark (or the timer's creation).
public struct PhaseTimer {
    private var last = Timings.now()

    public init() {}

    public mutating func mark(_ phase: String) {
        guard Timings.enabled else { return }
        Timings.report(phase, since: last)
        last = Timings.now()
    }
}
