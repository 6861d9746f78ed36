import Glibc
import VRFCKernel
import VRFCModel

/// How vrfc recognises its own links: by name (one of its prefixes) AND by
/// a marker in the link's alias (IFLA_IFALIAS), which no other tool writes.
/// A link with a vrfc name but no marker belongs to someone else, unless
/// the creation log says vrfc made it and was interrupted before marking it.
public enum Ownership {
    /// `vrfc:v1:<vrf>`; the version lets a later format be told apart.
    public static let markerPrefix = "vrfc:v1:"

    public static func marker(_ vrf: VRFName) -> String { markerPrefix + vrf.value }

    public static func isMarked(_ alias: String?) -> Bool { alias?.hasPrefix(markerPrefix) ?? false }

    public static func hasOwnedPrefix(_ name: String) -> Bool {
        OpList.ownedPrefixes.contains { name.hasPrefix($0) }
    }
}
