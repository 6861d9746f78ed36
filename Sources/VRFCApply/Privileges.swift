import Foundation

/// Privileges, checked before anything else so an unprivileged apply
/// changes nothing and says why.
public enum Privileges {
    public static let capNetAdmin = 12

    /// CapEff of /proc/self/status as a bit set.
    public static func effectiveCapabilities(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            // Trimmed without Foundation's CharacterSet: its first use costs more than the whole check.
            var value = line.dropFirst("CapEff:".count)
            while let c = value.first, c == " " || c == "\t" { value = value.dropFirst() }
            while let c = value.last, c == " " || c == "\t" { value = value.dropLast() }
            return UInt64(value, radix: 16)
        }
        return nil
    }

    public static func hasNetAdmin() -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let caps = effectiveCapabilities(status: status)
        else { return false }
        return caps & (1 << UInt64(capNetAdmin)) != 0
    }
}
