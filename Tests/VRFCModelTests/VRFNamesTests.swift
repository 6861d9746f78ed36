import Testing
import VRFCModel

/// The naming contract: the spellings existing nodes and base configs
/// depend on, and the relations everything else derives from them.
@Suite struct VRFNamesTests {
    let names = VRFNames(try! VRFName(validating: "vrf1"))

    @Test func theSpellingsAreTheContract() {
        #expect(names.stack.map(\.value) == ["vr.vrf1", "br.vrf1", "vx.vrf1", "vd.vrf1", "dv.vrf1"])
        #expect(names.marker == "vrfc:v1:vrf1")
        #expect(names.routeMap(.ipv4, .export) == "rm_vrf1_export")
        #expect(names.routeMap(.ipv6, .import) == "rm6_vrf1_import")
        #expect(names.prefixList(seq: 10, .ipv4, .import) == "pl_vrf1_10_import")
        #expect(names.prefixList(seq: 7, .ipv6, .export) == "pl6_vrf1_7_export")
        #expect(StackLink.prefixes == ["vr.", "br.", "vx.", "vd.", "dv."])
        #expect(LinkKind.veth.prefixes == ["vd.", "dv."] && LinkKind.vrf.prefixes == ["vr."])
    }

    @Test func theLongestVRFNameGivesValidInterfaceNames() throws {
        let longest = String(repeating: "a", count: VRFName.maxLength)
        #expect(VRFName.maxLength == 12)
        for name in VRFNames(try VRFName(validating: longest)).stack {
            #expect(name.value.utf8.count == InterfaceName.maxLength)
        }
        #expect(throws: NameError.self) { try VRFName(validating: longest + "a") }
    }

    @Test func mastersComeFirstAndPeersPointBack() {
        for link in StackLink.allCases {
            if let master = link.master {
                #expect(StackLink.allCases.firstIndex(of: master)! < StackLink.allCases.firstIndex(of: link)!, "\(link)")
                #expect(StackLink.deletionOrder.firstIndex(of: master)! > StackLink.deletionOrder.firstIndex(of: link)!, "\(link)")
            }
            if let peer = link.peer {
                #expect(peer.peer == link && peer.kind == .veth && link.kind == .veth)
            }
        }
        #expect(Set(StackLink.deletionOrder) == Set(StackLink.allCases))
    }

    @Test func namesAreRecognisedByTheirPrefix() {
        #expect(StackLink(prefixOf: "dv.x") == .defaultSide)
        #expect(StackLink(prefixOf: "vr.") == .vrfDevice)
        #expect(StackLink(prefixOf: "eth0") == nil && StackLink(prefixOf: "dum.underlay") == nil)
        let sorted = ["eth0", "vr.a", "dv.a", "vx.a", "br.a", "vd.a"].sorted {
            (StackLink.deletionRank(of: $0), $0) < (StackLink.deletionRank(of: $1), $1)
        }
        #expect(sorted == ["vx.a", "br.a", "vd.a", "dv.a", "vr.a", "eth0"])
    }
}
