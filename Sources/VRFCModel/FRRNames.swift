// Names of the FRR objects vrfc generates, in one place: the FRR backend
// writes them and the analysis (diff, explain, graph) reads policy by them.

/// Names of the generated FRR objects. The route-map names are a contract
/// with base configs (`call rm_mgmt_vrf_export`); prefix-list names are ours.
public enum FRRNames {
    public static func routeMap(_ vrf: VRFName, _ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "rm" : "rm6")_\(vrf)_\(direction.rawValue)"
    }

    public static func prefixList(_ vrf: VRFName, seq: Int, _ family: AddressFamily, _ direction: Direction) -> String {
        "\(family == .ipv4 ? "pl" : "pl6")_\(vrf)_\(seq)_\(direction.rawValue)"
    }

    public enum Direction: String, Sendable, CaseIterable {
        case `import`, export
    }
}
