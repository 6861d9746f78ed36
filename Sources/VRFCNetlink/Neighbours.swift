import CNetlink
import Glibc
import VRFCModel

// The neighbour (ARP/NDP) table: RTM_GETNEIGH dumps parsed into plain
// values. vrfc reads it for one thing: the MAC of a node known only by its
// IPv4 address, whose IPv6 link-local address is the gateway of a pod route.

/// A neighbour entry's NUD_* state bits.
public struct NeighbourState: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let incomplete = Self(rawValue: UInt16(NUD_INCOMPLETE))
    public static let reachable = Self(rawValue: UInt16(NUD_REACHABLE))
    public static let stale = Self(rawValue: UInt16(NUD_STALE))
    public static let delay = Self(rawValue: UInt16(NUD_DELAY))
    public static let probe = Self(rawValue: UInt16(NUD_PROBE))
    public static let failed = Self(rawValue: UInt16(NUD_FAILED))
    public static let noARP = Self(rawValue: UInt16(NUD_NOARP))
    public static let permanent = Self(rawValue: UInt16(NUD_PERMANENT))

    /// States whose link-layer address the kernel itself sends to: confirmed
    /// (REACHABLE, PERMANENT, NOARP) or being re-confirmed (STALE, DELAY,
    /// PROBE). INCOMPLETE and FAILED have no usable address.
    public static let usable: Self = [.reachable, .stale, .delay, .probe, .permanent, .noARP]

    /// `ip neigh`'s words for the state.
    public var name: String {
        let names: [(Self, String)] = [
            (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"), (.delay, "DELAY"), (.probe, "PROBE"),
            (.failed, "FAILED"), (.noARP, "NOARP"), (.permanent, "PERMANENT"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "NONE" : set.joined(separator: ",")
    }
}

/// One neighbour entry as RTM_GETNEIGH reports it.
public struct KernelNeighbour: Hashable, Sendable {
    public var ifindex: Int32
    public var address: IPAddress
    /// NDA_LLADDR; nil while the entry is incomplete or failed.
    public var linkLayerAddress: [UInt8]?
    public var state: NeighbourState

    public init(ifindex: Int32, address: IPAddress, linkLayerAddress: [UInt8]?, state: NeighbourState) {
        self.ifindex = ifindex
        self.address = address
        self.linkLayerAddress = linkLayerAddress
        self.state = state
    }

    /// In a usable state and with a link-layer address.
    public var isUsable: Bool { !state.isDisjoint(with: .usable) && linkLayerAddress != nil }

    /// Parses an RTM_NEWNEIGH message (ndmsg + attributes); nil for other
    /// families and for entries without a destination.
    init?(payload: Bytes) {
        // struct ndmsg: family u8, pad u8, pad u16, ifindex i32, state u16, flags u8, type u8.
        guard let fam = payload.u8(at: 0), let idx = payload.i32(at: 4), let state = payload.u16(at: 8),
            let rest = payload.slice(from: MemoryLayout<ndmsg>.size)
        else { return nil }
        let family: AddressFamily
        switch Int32(fam) {
        case AF_INET: family = .ipv4
        case AF_INET6: family = .ipv6
        default: return nil
        }
        let a = Attributes(rest)
        guard let dst = a[NDA_DST].flatMap({ ipAddress($0, family) }) else { return nil }
        ifindex = idx
        address = dst
        linkLayerAddress = a[NDA_LLADDR]?.array
        self.state = NeighbourState(rawValue: state)
    }
}

extension NetlinkSocket {
    /// Every neighbour entry of one family on every interface, in one dump.
    public func neighbours(family: AddressFamily) throws(NetlinkError) -> [KernelNeighbour] {
        var h = ndmsg()
        h.ndm_family = UInt8(family.af)
        return try dump(Request("listing neighbours", type: RTM_GETNEIGH, header: h)).compactMap { KernelNeighbour(payload: $0) }
    }
}
