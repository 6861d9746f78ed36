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
        #expect(
            m.contains { $0.contains("{{.Neighbors}} is at the top level") && $0.contains("inside 'router bgp ASN' of the default VRF") })
        #expect(
            m.contains { $0.contains("{{.BGP}} is inside 'router bgp ASN' of the default VRF") && $0.contains("move it at the top level") })
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

    // MARK: router-id of the default instance vs. the VRF instances (--router-id)

    /// Renders the dual-stack fixture's IR (full VRFs, --router-id
    /// 192.0.2.129) into `good` with its `bgp router-id` line replaced.
    func routerIDMessages(_ line: String?, extra: String = "", vrfs: Bool = true) throws -> [String] {
        var ir = try Fixture(name: "dual-stack").ir()
        ir.asn = 64510
        if !vrfs { ir.vrfs = ir.vrfs.filter { $0.kind != .full } }
        let text = extra + Self.good.replacingOccurrences(of: " bgp router-id {{.UnderlayRouterID}}\n", with: line.map { $0 + "\n" } ?? "")
        do throws(Diagnostics) {
            let out = try FRRBackend.render(ir, base: try BaseConfig(text: text, file: "frr.conf"))
            #expect(out.contains(" bgp router-id 192.0.2.129\n"), "the VRF instances get --router-id")
            return []
        } catch {
            return error.items.map(\.description)
        }
    }

    @Test func defaultInstanceWithTheUnderlayRouterIDIsRefused() throws {
        let m = try routerIDMessages(" bgp router-id {{.UnderlayRouterID}}")
        #expect(m.count == 1, "\(m)")
        #expect(m.first?.hasPrefix("frr.conf:4: error: ") == true, "located at the bgp router-id line: \(m)")
        #expect(
            m.first.map {
                $0.contains("Bad BGP Identifier") && $0.contains("192.0.2.129")
                    && $0.contains("give the default instance a router-id of its own")
            } == true, "\(m)")
    }

    @Test func defaultInstanceWithTheSameLiteralRouterIDIsRefused() throws {
        let m = try routerIDMessages(" bgp router-id 192.0.2.129")
        #expect(m.count == 1 && m[0].hasPrefix("frr.conf:4: error: ") && m[0].contains("is 192.0.2.129"), "\(m)")
    }

    @Test func defaultInstanceWithItsOwnRouterIDIsAccepted() throws {
        #expect(try routerIDMessages(" bgp router-id 198.51.100.1").isEmpty)
    }

    /// Without `bgp router-id` FRR takes zebra's, typically the underlay
    /// address on the loopback: refused, at the `router bgp` line.
    @Test func defaultInstanceWithoutRouterIDIsRefused() throws {
        let m = try routerIDMessages(nil)
        #expect(
            m.count == 1 && m[0].hasPrefix("frr.conf:3: error: ") && m[0].contains("sets no 'bgp router-id'")
                && m[0].contains("bgp router-id ADDRESS"), "\(m)")
    }

    /// zebra's top-level router-id is what the default instance then uses.
    @Test func zebraRouterIDStandsInForAMissingBGPRouterID() throws {
        #expect(try routerIDMessages(nil, extra: "router-id 198.51.100.7\n").isEmpty)
        #expect(try routerIDMessages(nil, extra: "ip router-id 198.51.100.7\n").isEmpty)
        let m = try routerIDMessages(nil, extra: "router-id {{.UnderlayRouterID}}\n")
        #expect(m.count == 1 && m[0].hasPrefix("frr.conf:1: error: ") && m[0].contains("zebra's 'router-id'"), "\(m)")
        // The instance's own setting wins over zebra's.
        #expect(try routerIDMessages(" bgp router-id 198.51.100.1", extra: "router-id {{.UnderlayRouterID}}\n").isEmpty)
    }

    /// Without full VRFs there is no dv./vd. session to break.
    @Test func routerIDIsNotCheckedWithoutSessions() throws {
        #expect(try routerIDMessages(" bgp router-id {{.UnderlayRouterID}}", vrfs: false).isEmpty)
    }

    @Test func routerIDOfAnotherVRFInstanceIsNotTheDefaultOne() throws {
        let vrfBlock = "router bgp 64510 vrf mgmt\n bgp router-id {{.UnderlayRouterID}}\nexit\n"
        #expect(try routerIDMessages(" bgp router-id 198.51.100.1", extra: vrfBlock).isEmpty)
    }

    // MARK: the base config's own entries in vrfc's route-maps

    /// The dual-stack fixture's output with `lines` added to its base config.
    func withBaseEntries(_ lines: String) throws -> [String] {
        let f = Fixture(name: "dual-stack")
        let text = try #require(readText(f.base)) + lines
        let ir = try f.ir()
        do throws(Diagnostics) {
            _ = try FRRBackend.render(ir, base: try BaseConfig(text: text, file: "frr.conf"))
            return []
        } catch {
            return error.items.map(\.description)
        }
    }

    @Test func baseEntryAtASequenceVRFCWritesIsRefused() throws {
        let lines = try #require(readText(Fixture(name: "dual-stack").base)).split(separator: "\n", omittingEmptySubsequences: false).count
        // tenant-a imports at spec.seq 10 -> entry 11; every export map has deny 1.
        var m = try withBaseEntries("route-map rm_tenant-a_import permit 11\n match tag 7\nexit\n")
        #expect(
            m.count == 1 && m[0].hasPrefix("frr.conf:\(lines):")
                && m[0].contains("'route-map rm_tenant-a_import permit 11' is an entry vrfc writes too")
                && m[0].contains("VRFRouteConfiguration \"tenant-a-services\"") && m[0].contains("spec.seq 10"), "\(m)")
        m = try withBaseEntries("route-map rm6_tenant-b_export permit 1\nexit\n")
        #expect(m.count == 1 && m[0].contains("deny 1 / match tag 20000"), "\(m)")
        // tenant-b has no IPv4 imports: vrfc writes a match-less deny 65535 there.
        m = try withBaseEntries("route-map rm_tenant-b_import permit 65535\nexit\n")
        #expect(m.count == 1 && m[0].contains("match-less 'deny 65535'"), "\(m)")
    }

    @Test func baseEntriesVRFCDoesNotWriteAreAccepted() throws {
        // The management-VRF pattern: the same match-less deny vrfc writes.
        #expect(try withBaseEntries("route-map rm_tenant-b_import deny 65535\nexit\n").isEmpty)
        // Entries at free sequence numbers extend vrfc's maps.
        #expect(
            try withBaseEntries("route-map rm_tenant-a_import deny 65535\nexit\nroute-map rm_tenant-a_export permit 500\nexit\n").isEmpty)
        // Other maps are the base config's own business.
        #expect(try withBaseEntries("route-map rm_other_import permit 11\nexit\n").isEmpty)
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
