import VRFCModel

/// How vrfc recognises its own links: by name (one of its prefixes) AND by
/// the marker `VRFNames.marker` in the link's alias (IFLA_IFALIAS), which no
/// other tool writes. A link with a vrfc name but no marker belongs to
/// someone else, unless the creation log says vrfc made it and was
/// interrupted before marking it.
public enum Ownership {
    public static func isMarked(_ alias: String?) -> Bool { alias?.hasPrefix(VRFNames.markerPrefix) ?? false }

    public static func hasOwnedPrefix(_ name: String) -> Bool { StackLink(prefixOf: name) != nil }
}
