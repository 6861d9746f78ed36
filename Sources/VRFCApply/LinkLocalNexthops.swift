import VRFCKernel
import VRFCModel
import VRFCNetlink

// `linkLocalOf` nexthops: an IPv6 pod route to a node known only by its
// IPv4 address goes via that node's EUI-64 link-local address, made from
// the MAC its IPv4 address has in the neighbour table of the route's device.
// Only the node can know the MAC, so the op list names the neighbour and
// the plan resolves it from the snapshot. A route that cannot be resolved
// (no entry, an INCOMPLETE or FAILED one, no MAC) is not a reason to leave
// the node's other routes undone: it is reported as unresolved and skipped,
// and a route vrfc installed for it earlier stays (its neighbour entry may
// just have aged out); the next run tries again.

extension IPv6Address {
    /// fe80::/64 with the modified EUI-64 interface identifier of `mac`
    /// (RFC 4291 appendix A): the universal/local bit flipped, ff:fe in the middle.
    public static func linkLocal(mac m: [UInt8]) -> IPv6Address? {
        guard m.count == 6 else { return nil }
        let id = [m[0] ^ 0x02, m[1], m[2], 0xFF, 0xFE, m[3], m[4], m[5]].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return IPv6Address(high: 0xFE80_0000_0000_0000, low: id)
    }
}

extension KernelSnapshot {
    /// Reads the IPv4 neighbour table when the op list needs it (only then:
    /// a node without such routes pays nothing).
    mutating func readNeighbours(_ socket: NetlinkSocket, for ops: OpList) {
        guard ops.routes.contains(where: { $0.nexthops.contains { $0.linkLocalOf != nil } }) else { return }
        do throws(NetlinkError) {
            neighbours = try socket.neighbours(family: .ipv4)
        } catch {
            neighbourError = "\(error)"
        }
    }
}

func macText(_ m: [UInt8]) -> String {
    m.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
}

enum LinkLocalNexthops {
    /// The op list with every `linkLocalOf` path replaced by its gateway,
    /// routes that cannot be resolved dropped or kept as installed, and
    /// why (`unresolved`) and what refuses the plan (`problems`).
    static func resolve(_ ops: OpList, _ snap: KernelSnapshot) -> (ops: OpList, unresolved: [String], problems: [String]) {
        guard ops.routes.contains(where: { $0.nexthops.contains { $0.linkLocalOf != nil } }) else { return (ops, [], []) }
        let links = Dictionary(snap.links.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Indexed once: a node may have a route per other node and as many entries.
        let entries = snap.neighbours.map { Dictionary(grouping: $0, by: { NeighbourKey(ifindex: $0.ifindex, address: $0.address) }) }
        var out = ops
        out.routes = []
        var unresolved: [String] = []
        var problems: [String] = []
        for route in ops.routes {
            guard route.nexthops.contains(where: { $0.linkLocalOf != nil }) else {
                out.routes.append(route)
                continue
            }
            var resolved = route
            var failures: [String] = []
            var missingDevice = false
            for (i, hop) in route.nexthops.enumerated() {
                guard let neighbour = hop.linkLocalOf, let device = hop.device else { continue }
                guard let link = links[device.value] else {
                    problems.append("route \(route): device \(device) does not exist")
                    missingDevice = true
                    continue
                }
                switch lookUp(neighbour, on: link, entries, snap) {
                case .success(let gateway):
                    resolved.nexthops[i] = Nexthop(gateway: .v6(gateway), device: device, weight: hop.weight)
                case .failure(let why):
                    failures.append(why.description)
                }
            }
            if missingDevice { continue }
            if failures.isEmpty {
                out.routes.append(resolved)
                continue
            }
            let why = "route \(route): " + failures.joined(separator: "; ")
            if let kept = installed(route, links, snap) {
                out.routes.append(kept)
                unresolved.append("\(why); the route installed earlier (\(kept)) is kept as it is")
            } else {
                unresolved.append("\(why); not installed until a later run finds the MAC")
            }
        }
        return (out, unresolved, problems)
    }

    /// The gateway for the neighbour `address` on `link`, or why there is none.
    static func lookUp(
        _ address: IPAddress, on link: Link, _ table: [NeighbourKey: [KernelNeighbour]]?, _ snap: KernelSnapshot
    ) -> Result<IPv6Address, Unresolved> {
        guard let table else {
            return .failure(Unresolved("the neighbour table could not be read (\(snap.neighbourError ?? "not read"))"))
        }
        let entries = table[NeighbourKey(ifindex: link.index, address: address)] ?? []
        let hint = "any IPv4 traffic to it (e.g. ping \(address)) makes the kernel learn it"
        guard let entry = entries.first(where: \.isUsable) ?? entries.first else {
            return .failure(Unresolved("no neighbour entry for \(address) on \(link.name), so its MAC is unknown; \(hint)"))
        }
        guard entry.isUsable, let mac = entry.linkLayerAddress else {
            return .failure(
                Unresolved(
                    "the neighbour entry for \(address) on \(link.name) is \(entry.state.name), without a MAC (it does not answer ARP); \(hint) once it is up"
                ))
        }
        guard mac.count == 6 else {
            return .failure(
                Unresolved(
                    "the neighbour entry for \(address) on \(link.name) has a \(mac.count)-byte link-layer address, not a MAC: no EUI-64 link-local address"
                ))
        }
        guard mac[0] & 1 == 0, mac.contains(where: { $0 != 0 }) else {
            return .failure(Unresolved("the neighbour entry for \(address) on \(link.name) has \(macText(mac)), not a unicast MAC"))
        }
        return .success(IPv6Address.linkLocal(mac: mac)!)
    }

    struct NeighbourKey: Hashable {
        var ifindex: Int32
        var address: IPAddress
    }

    struct Unresolved: Error, CustomStringConvertible {
        let description: String
        init(_ s: String) { description = s }
    }

    /// vrfc's live route for the same table and destination whose paths are
    /// link-local gateways on the op list's devices (what an earlier
    /// resolution installed), as the route spec that matches it exactly.
    static func installed(_ want: RouteSpec, _ links: [String: Link], _ snap: KernelSnapshot) -> RouteSpec? {
        let names = Dictionary(snap.links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        let devices = Set(want.nexthops.compactMap { $0.device?.value }.compactMap { links[$0]?.index })
        guard
            let live = snap.routes.first(where: {
                $0.protocol == RouteOwnership.protocol && $0.table == want.table && $0.destination == want.destination
                    && $0.tos == 0 && $0.metric == KernelRoute.defaultMetric(want.family) && $0.type == 1 && !$0.hasOtherAttributes
            }), live.nexthops.count == want.nexthops.count,
            live.nexthops.allSatisfy({ h in h.gateway?.isIPv6LinkLocal == true && h.ifindex.map(devices.contains) == true })
        else { return nil }
        var hops: [Nexthop] = []
        for h in live.nexthops {
            guard let i = h.ifindex, let name = names[i], let device = try? InterfaceName(validating: name) else { return nil }
            hops.append(Nexthop(gateway: h.gateway, device: device, weight: live.nexthops.count > 1 ? h.weight : 1))
        }
        return RouteSpec(table: want.table, destination: want.destination, nexthops: hops, protocol: want.protocol)
    }
}
