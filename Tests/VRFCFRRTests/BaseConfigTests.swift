import Testing
import VRFCDriver
import VRFCFRR
import VRFCModel
import VRFCTestSupport

/// The hinted base config: hints, their placement, inline placeholders.
@Suite struct BaseConfigTests {
    static let good = """
    hostname {{.Hostname}}
    #++{{.VRFs}}
    router bgp 64510
     bgp router-id {{.UnderlayRouterID}}
     #++{{.Neighbors}}
     address-family ipv4 unicast
      #++{{.NeighborsV4}}
     exit-address-family
    exit
    #++{{.BGP}}
    #++{{.PrefixLists}}
    #++{{.RouteMaps}}

    """

    func messages(_ text: String) -> [String] {
        do throws(Diagnostics) {
            _ = try BaseConfig(text: text, file: "frr.conf")
            return []
        } catch {
            return error.items.map(\.description)
        }
    }

    @Test func goodBaseParses() throws {
        let base = try BaseConfig(text: Self.good, file: "frr.conf")
        #expect(base.defaultBGPASN == 64510)
        #expect(base.placeholders == [.hostname, .underlayRouterID])
    }

    @Test func missingRequiredHintIsAnError() {
        let text = Self.good.replacingOccurrences(of: "#++{{.BGP}}\n", with: "")
        let m = messages(text)
        #expect(m.count == 1 && m[0].contains("required hint #++{{.BGP}} is missing"), "\(m)")
    }

    @Test func neighborsV6IsOptional() {
        #expect(messages(Self.good).isEmpty)
    }

    @Test func hintTwiceIsAnError() {
        let text = Self.good + "#++{{.RouteMaps}}\n"
        let m = messages(text)
        #expect(m.count == 1 && m[0].contains("frr.conf:13") && m[0].contains("appears twice (first on line 12)"), "\(m)")
    }

    @Test func unknownHintIsAnErrorWithTheKnownOnes() {
        let m = messages(Self.good + "#++{{.Routemaps}}\n")
        #expect(m.count == 1 && m[0].contains("unknown hint '{{.Routemaps}}'") && m[0].contains("#++{{.RouteMaps}}"), "\(m)")
    }

    @Test func misplacedHintsAreErrors() {
        // Neighbors outside router bgp; BGP inside it.
        let text = Self.good.replacingOccurrences(of: " #++{{.Neighbors}}\n", with: "")
            .replacingOccurrences(of: "#++{{.VRFs}}\n", with: "#++{{.VRFs}}\n#++{{.Neighbors}}\n")
            .replacingOccurrences(of: "#++{{.BGP}}\n", with: "")
            .replacingOccurrences(of: "exit-address-family\nexit\n", with: "exit-address-family\n #++{{.BGP}}\nexit\n")
        let m = messages(text)
        #expect(m.count == 2, "\(m)")
        #expect(m.contains { $0.contains("{{.Neighbors}} is at the top level") && $0.contains("inside 'router bgp ASN' of the default VRF") })
        #expect(m.contains { $0.contains("{{.BGP}} is inside 'router bgp ASN' of the default VRF") && $0.contains("move it at the top level") })
    }

    @Test func neighborsInAVRFInstanceIsMisplaced() {
        let text = Self.good.replacingOccurrences(of: "router bgp 64510\n", with: "router bgp 64510 vrf cluster\n")
        let m = messages(text)
        #expect(m.count == 2 && m.allSatisfy { $0.contains("inside 'router bgp 64510 vrf cluster'") }, "\(m)")
    }

    @Test func unknownPlaceholderIsAnError() {
        let m = messages(Self.good + "log file {{.LogFile}}\n")
        #expect(m.count == 1 && m[0].contains("unknown placeholder '{{.LogFile}}'"), "\(m)")
    }

    @Test func templateFormWithoutHashPlusPlusIsAccepted() throws {
        let tpl = Self.good.replacingOccurrences(of: "#++", with: "")
        #expect(messages(tpl).isEmpty)
    }

    @Test func placeholdersNeedValues() throws {
        let ir = NodeIR(asn: 64510, routerID: nil, hostname: nil, bpfInterfaces: [], vrfs: [])
        do throws(Diagnostics) {
            _ = try FRRBackend.render(ir, base: try BaseConfig(text: Self.good, file: "frr.conf"))
            Issue.record("expected errors")
        } catch {
            let m = error.items.map(\.description)
            #expect(m.contains { $0.contains("{{.Hostname}}") && $0.contains("--hostname") })
            #expect(m.contains { $0.contains("{{.UnderlayRouterID}}") && $0.contains("--router-id") })
        }
    }

    @Test func asnMismatchWithTheDefaultInstanceIsAnError() throws {
        let ir = try Fixture(name: "dual-stack").ir()  // serverASN default 4200065169
        var other = ir
        other.asn = 64999
        do throws(Diagnostics) {
            _ = try FRRBackend.render(other, base: try Compiler.baseConfig(Fixture(name: "dual-stack").base))
            Issue.record("expected an error")
        } catch {
            #expect(error.items.count == 1)
            #expect(error.items[0].description.contains("'router bgp 4200065169' differs from the node config's serverASN 64999"))
        }
    }

    @Test func templateOverridesReplaceOneSection() throws {
        let dir = try TempDir()
        _ = try dir.write("vrfs.mustache", "{{#fullVRFs}}\nvrf vr.{{name}}\n vni {{vni}}\n exit-vrf\n{{/fullVRFs}}\n")
        let set = try TemplateSet(overrides: dir.path)
        let f = Fixture(name: "dual-stack")
        let out = try Compiler.frr(try f.ir(), base: Compiler.baseConfig(f.base), templates: set)
        #expect(out.contains("vrf vr.tenant-a\n vni 2001\n exit-vrf\n"))
        #expect(out.contains("route-map rm_tenant-a_export deny 1"), "other sections keep the shipped templates")
    }

    @Test func unknownTemplateFileIsAnError() throws {
        let dir = try TempDir()
        _ = try dir.write("route-maps.mustache", "")
        #expect(throws: Diagnostics.self) { try TemplateSet(overrides: dir.path) }
    }
}
