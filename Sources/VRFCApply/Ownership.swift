import VRFCKernel
import VRFCModel

/// How vrfc recognises its own links: by name (one of its prefixes) AND by
/// a marker in the link's alias (IFLA_IFALIAS), which no other tool writes.
/// A link with a vrfc name but no marker belongs to someone else.
public enum Ownership {
    /// `vrfc:v1:<vrf>`; the version lets a later format be told apart.
    public static let markerPrefix = "vrfc:v1:"

    public static func marker(_ vrf: VRFName) -> String { markerPrefix + vrf.value }

    public static func isMarked(_ alias: String?) -> Bool { alias?.hasPrefix(markerPrefix) ?? false }

    /// The kernel accepts the alias only after creation, so a new link is
    /// created under a staging name, completed, and renamed to its real name
    /// in the same request that writes the marker. A link under its real name
    /// therefore always carries the marker; a staging link is the leftover of
    /// an interrupted apply and is deleted by the next one. The prefix is
    /// reserved for vrfc.
    public static let stagingPrefix = "vrfc.new."

    public static func stagingName(_ n: Int) -> String { stagingPrefix + String(n) }

    /// Names vrfc may own: its link prefixes and its staging prefix.
    public static func hasOwnedPrefix(_ name: String) -> Bool {
        OpList.ownedPrefixes.contains { name.hasPrefix($0) }
    }
}
