import VRFCModel

/// Why an op list was refused: every problem found, each naming the link and
/// what would be right.
public struct OpListError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

extension LinkKind {
    /// The name prefixes of this kind: the naming scheme is a contract with
    /// existing nodes (`vr.`, `br.`, `vx.`, `vd.`/`dv.`).
    public var prefixes: [String] {
        switch self {
        case .vrf: ["vr."]
        case .bridge: ["br."]
        case .vxlan: ["vx."]
        case .veth: ["vd.", "dv."]
        }
    }
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
        if let p = Self.ownedPrefixes.first(where: { underlay.value.hasPrefix($0) }) {
            problems.append("op list: underlay \(underlay) carries vrfc's own prefix '\(p)'; the underlay is a pre-existing interface such as dum.underlay")
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

            let prefixes = link.kind.prefixes
            if !prefixes.contains(where: { name == $0 + link.vrf.value }) {
                problems.append("\(where_): a \(link.kind.rawValue) link of VRF \(link.vrf) must be named \(prefixes.map { $0 + link.vrf.value }.joined(separator: " or "))")
            }
            if !Self.mtuRange.contains(link.mtu) {
                problems.append("\(where_): mtu \(link.mtu) is outside \(Self.mtuRange.lowerBound)...\(Self.mtuRange.upperBound)")
            }

            // Masters: vr. ← br. ← vx., vr. ← vd.; the VRF and dv. have none.
            let expectedMaster: LinkKind? = switch (link.kind, name.hasPrefix("dv.")) {
            case (.bridge, _): .vrf
            case (.vxlan, _): .bridge
            case (.veth, false): .vrf
            default: nil
            }
            if let master = link.master {
                if let m = byName[master.value]?.link {
                    if m.kind != expectedMaster || m.vrf != link.vrf {
                        let want = expectedMaster.map { "the \($0.rawValue) link \($0.prefixes[0])\(link.vrf)" } ?? "no master"
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
                        problems.append("\(where_): mtu \(link.mtu) leaves no room for the \(Self.vxlanOverhead) bytes of VXLAN encapsulation")
                    }
                } else {
                    problems.append("\(where_): a vxlan link needs its vxlan settings (vni, dstPort, learning, device)")
                }
            } else if link.vxlan != nil {
                problems.append("\(where_): vxlan settings on a \(link.kind.rawValue) link")
            }
            if link.bridgePort != nil && link.kind != .vxlan {
                problems.append("\(where_): bridge-port settings are only for the vx. link in its bridge")
            }

            if link.kind == .veth {
                let other = name.hasPrefix("vd.") ? "dv." : "vd."
                if link.peer?.value != other + link.vrf.value {
                    problems.append("\(where_): a veth end's peer must be \(other)\(link.vrf)")
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
