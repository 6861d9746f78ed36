import CSpawn

/// Privileges, checked before anything else so an unprivileged apply
/// changes nothing and says why.
public enum Privileges {
    public static let capNetAdmin = 12

    /// The effective capability set (capget), nil when it cannot be read.
    public static func effectiveCapabilities() -> UInt64? {
        var caps: UInt64 = 0
        return vrfc_effective_capabilities(&caps) == 0 ? caps : nil
    }

    public static func hasNetAdmin() -> Bool {
        guard let caps = effectiveCapabilities() else { return false }
        return caps & (1 << UInt64(capNetAdmin)) != 0
    }
}
