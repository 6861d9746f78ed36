import Foundation

/// Phase durations on stderr when `VRFC_TIMINGS` is set: where the time of
/// a large node goes, without a profiler.
public enum Timings {
    public static let enabled = ProcessInfo.processInfo.environment["VRFC_TIMINGS"] != nil

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func report(_ phase: String, since start: UInt64) {
        guard enabled else { return }
        let ms = Double(now() - start) / 1e6
        FileHandle.standardError.write(Data("vrfc: \(phase): \(String(format: "%.1f", ms)) ms\n".utf8))
    }

    public static func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = now()
        defer { report(phase, since: start) }
        return try body()
    }
}
