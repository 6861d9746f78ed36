import VRFCModel

/// Why an op list was refused: every problem found, each naming the link and
/// what would be right.
public struct OpListError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

extension OpList {
    /// VXLAN over IPv4 adds 50 bytes (outer Ethernet 14, IPv4 20, UDP 8,
    /// VXLAN 8); the kernel caps a VXLAN link at its lower device's MTU minus this.
    public static let vxlanOverhead = 50
    public static let vniRange: ClosedRange<UInt32> = 1...16_777_215
    public static let mtuRange: ClosedRange<Int> = 68...65535

    /// Checks everything the applier relies on before it touches a kernel:
    /// the op list may come from a file anyone could have edited, so a link
    /// named `eth0`, a VNI out of range or a table range over the kernel's
    /// own tables must never get as far as a netlink request. Names are
    /// already valid interface names (≤ 15 bytes) by construction of
    /// `InterfaceName`; here they must also follow vrfc's naming scheme.
    public func validate() throws(OpListError) {
        var problems: [String] = []
        if format != Self.formatName {
            problems.append("op list: format is '\(format)', expected '\(Self.formatName)'")
        }
        if version != Self.currentVersion {
            problems.append("op list: version \(version) is not supported, expected \(Self.currentVersion) (compile it with this vrfc)")
        }
        if !tableRange.isValid {
            problems.append("op list: tableRange \(tableRange) is not valid: expected \(TableRange.rule)")
        }
        if let p = StackLink(prefixOf: underlay.value)?.prefix {
            problems.append(
                "op list: underlay \(underlay) carries vrfc's own prefix '\(p)'; the underlay is a pre-existing interface such as dum.underlay"
            )
        }

        var byName: [String: (index: Int, link: LinkSpec)] = [:]
        var vnis: [UInt32: String] = [:]
        for (i, link) in links.enumerated() {
            let name = link.name.value
            let where_ = "op list: link \(name)"
            if byName[name] != nil {
                problems.append("\(where_): listed twice")
                continue
            }
            byName[name] = (i, link)

            let names = VRFNames(link.vrf)
            let allowed = link.kind.stackLinks.map(names.link)
            if !allowed.contains(link.name) {
                problems.append(
                    "\(where_): a \(link.kind.rawValue) link of VRF \(link.vrf) must be named \(allowed.map(\.value).joined(separator: " or "))"
                )
            }
            // Its place in the stack, by prefix (a misnamed one is reported above).
            let role = StackLink(prefixOf: name).flatMap { link.kind.stackLinks.contains($0) ? $0 : nil } ?? link.kind.stackLinks[0]
            if !Self.mtuRange.contains(link.mtu) {
                problems.append("\(where_): mtu \(link.mtu) is outside \(Self.mtuRange.lowerBound)...\(Self.mtuRange.upperBound)")
            }

            // Masters as the naming contract has them (StackLink.master).
            let expectedMaster = role.master
            if let master = link.master {
                if let m = byName[master.value]?.link {
                    if m.kind != expectedMaster?.kind || m.vrf != link.vrf {
                        let want = expectedMaster.map { "the \($0.kind.rawValue) link \(names.link($0))" } ?? "no master"
                        problems.append("\(where_): master \(master) is not allowed, expected \(want)")
                    }
                } else {
                    problems.append("\(where_): master \(master) must be a link listed before it")
                }
            }

            if link.kind == .vxlan {
                if let v = link.vxlan {
                    if !Self.vniRange.contains(v.vni) {
                        problems.append("\(where_): VNI \(v.vni) is outside \(Self.vniRange.lowerBound)...\(Self.vniRange.upperBound)")
                    } else if let other = vnis[v.vni] {
                        problems.append("\(where_): VNI \(v.vni) is already used by \(other)")
                    } else {
                        vnis[v.vni] = name
                    }
                    if v.dstPort == 0 { problems.append("\(where_): dstPort 0 is not a UDP port") }
                    if v.device != underlay {
                        problems.append("\(where_): VTEP device \(v.device) must be the op list's underlay \(underlay)")
                    }
                    if link.mtu + Self.vxlanOverhead > 65535 {
                        problems.append(
                            "\(where_): mtu \(link.mtu) leaves no room for the \(Self.vxlanOverhead) bytes of VXLAN encapsulation")
                    }
                } else {
                    problems.append("\(where_): a vxlan link needs its vxlan settings (vni, dstPort, learning, device)")
                }
            } else if link.vxlan != nil {
                problems.append("\(where_): vxlan settings on a \(link.kind.rawValue) link")
            }
            if link.bridgePort != nil && link.kind != .vxlan {
                problems.append("\(where_): bridge-port settings are only for the \(StackLink.vxlan.prefix) link in its bridge")
            }

            if let peer = role.peer {
                if link.peer != names.link(peer) {
                    problems.append("\(where_): a veth end's peer must be \(names.link(peer))")
                }
            } else if link.peer != nil {
                problems.append("\(where_): only veth links have a peer")
            }
        }
        // Both ends of every pair are listed.
        for link in links where link.kind == .veth {
            if let peer = link.peer, byName[peer.value]?.link.peer != link.name {
                problems.append("op list: link \(link.name): its peer \(peer) is not listed as a veth end pointing back at it")
            }
        }
        problems += routeProblems()
        if !problems.isEmpty { throw OpListError(problems) }
    }
}
