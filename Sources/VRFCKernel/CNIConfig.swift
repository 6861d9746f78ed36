import VRFCModel

/// IR → the node's CNI network configuration (a conflist): the `bridge`
/// plugin with `host-local` IPAM over exactly the pod CIDRs Kubernetes
/// assigned this node, one range set per family, so the node's pods get
/// addresses only there.
public struct CNIConfig: Codable, Hashable, Sendable {
    public static let version = "1.0.0"

    public struct Subnet: Codable, Hashable, Sendable {
        public var subnet: String
    }

    public struct IPAM: Codable, Hashable, Sendable {
        public var type = "host-local"
        /// One range set per family: host-local hands out one address of each.
        public var ranges: [[Subnet]]
    }

    public struct Bridge: Codable, Hashable, Sendable {
        public var type = "bridge"
        public var bridge: String
        /// The bridge gets the first address of each range and is the pods' default gateway.
        public var isGateway = true
        public var isDefaultGateway = true
        public var ipam: IPAM
    }

    public var cniVersion = CNIConfig.version
    public var name: String
    public var plugins: [Bridge]

    public init(_ network: PodNetwork) {
        name = network.name
        plugins = [Bridge(bridge: network.bridge.value, ipam: IPAM(ranges: network.podCIDRs.map { [Subnet(subnet: $0.text)] }))]
    }
}
