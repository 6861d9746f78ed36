import VRFCModel
import VRFCYAML

/// A Kubernetes `Node` (v1) as `kubectl get nodes -o json` prints it. vrfc
/// reads its name, labels, pod CIDRs and InternalIP addresses; the rest of
/// `status` and the server's metadata are ignored, and unknown `spec`
/// fields are errors.
public struct KubernetesNode: Sendable, Equatable {
    public static let apiVersion = "v1"
    public static let kind = "Node"
    /// NodeSpec's fields (Kubernetes v1); vrfc uses podCIDR and podCIDRs.
    static let specKeys = ["podCIDR", "podCIDRs", "providerID", "taints", "unschedulable", "configSource", "externalID"]

    public var name: ObjectName
    public var location: SourceLocation
    public var labels: [String: String]
    /// At most one per family, in the order Kubernetes lists them.
    public var podCIDRs: [IPPrefix]
    public var podCIDRsLocation: SourceLocation
    /// `status.addresses` of type InternalIP, the first of each family.
    public var internalIPs: [IPAddress]
    public var addressesLocation: SourceLocation

    public var label: String { "\(Self.kind) \"\(name)\"" }

    public func internalIP(_ family: AddressFamily) -> IPAddress? { internalIPs.first { $0.family == family } }

    static func readObject(_ raw: Field, label: String) -> KubernetesNode? {
        let errorsBefore = raw.sink.items.count
        guard
            let o = KubernetesObject.read(
                raw, kind: kind, apiVersions: [apiVersion], label: label,
                allowed: ["apiVersion", "kind", "metadata", "spec", "status"])
        else { return nil }
        var podCIDRs: [IPPrefix] = []
        var cidrField = o.field
        if let specField = o.top["spec"], !specField.isNull, let spec = specField.mapping(allowed: specKeys) {
            cidrField = specField
            var list: [IPPrefix] = []
            if let f = spec["podCIDRs"], !f.isNull {
                cidrField = f
                for element in f.sequence() ?? [] {
                    guard let p = element.prefix() else { continue }
                    if list.contains(where: { $0.family == p.family }) {
                        element.error(
                            "a second \(p.family.rawValue) pod CIDR \(p)", fix: "Kubernetes assigns at most one pod CIDR per family")
                    } else {
                        list.append(p)
                    }
                }
            }
            if let f = spec["podCIDR"], !f.isNull, let p = f.prefix() {
                // podCIDR is kept for old clients: it is podCIDRs[0].
                if list.isEmpty {
                    list = [p]
                    cidrField = f
                } else if list[0] != p {
                    f.error(
                        "podCIDR \(p) is not podCIDRs[0] (\(list[0]))", fix: "podCIDR repeats the first of podCIDRs; write the same prefix")
                }
            }
            podCIDRs = list
        }
        var internals: [IPAddress] = []
        var addressesField = o.field
        if let status = o.top["status"], case .mapping = status.node, let addresses = status.value("addresses"), !addresses.isNull {
            addressesField = addresses
            for entry in addresses.sequence() ?? [] {
                guard let e = entry.mapping(allowed: ["type", "address"]) else { continue }
                guard let type = e["type"]?.string(), let addressField = e["address"] else {
                    if e["type"] == nil { entry.error("missing required field 'type'") }
                    if e["address"] == nil { entry.error("missing required field 'address'") }
                    continue
                }
                guard type == "InternalIP", let text = addressField.string() else { continue }
                guard let a = IPAddress(parsing: text[...]) else {
                    addressField.error("\(quoted(text)) is not an IPv4 or IPv6 address")
                    continue
                }
                guard a.description == text else {
                    addressField.error("\(quoted(text)) is not in canonical form", fix: "write '\(a)'")
                    continue
                }
                if !internals.contains(where: { $0.family == a.family }) { internals.append(a) }
            }
        }
        guard raw.sink.items.count == errorsBefore else { return nil }
        return KubernetesNode(
            name: o.name, location: SourceLocation(file: raw.context.file, line: raw.line, object: o.label),
            labels: o.labels, podCIDRs: podCIDRs,
            podCIDRsLocation: cidrField.location,
            internalIPs: internals,
            addressesLocation: addressesField.location)
    }
}
