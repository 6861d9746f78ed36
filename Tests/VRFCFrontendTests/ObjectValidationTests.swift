import Testing
import VRFCModel

/// README "Validation" rules at the level of whole CRs and across CRs.
@Suite struct ObjectValidationTests {
    @Test func specSeqMustBeIn1To65534() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 0")), "spec.seq", "1..65534")
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 65535")), "spec.seq", "1..65534")
    }

    @Test func specSeqBoundsAreAccepted() throws {
        let ir = try ir(cr("a", spec: "vrf: vrf1\nseq: 1"), cr("b", spec: "vrf: vrf1\nseq: 65534"))
        #expect(ir.vrfs[0].imports.map(\.routeMapSeq) == [2, 65535])
    }

    @Test func duplicateSpecSeqInOneVRFNamesBothCRs() {
        let m = expectOneError(
            errors(cr("first", spec: "vrf: vrf1\nseq: 10"), cr("second", spec: "vrf: vrf1\nseq: 10")),
            "spec.seq 10 of VRF 'vrf1'", "\"first\"", "\"second\"", "cr0.yaml", "cr1.yaml")
        #expect(m?.hasPrefix("cr1.yaml:") == true)
    }

    @Test func sameSpecSeqInDifferentVRFsIsFine() throws {
        #expect(try ir(cr("a", spec: "vrf: vrf1\nseq: 10"), cr("b", spec: "vrf: vrf2\nseq: 10")).vrfs.count == 2)
    }

    @Test func vrfMustBeInTheNodeConfig() {
        expectOneError(
            errors(cr(spec: "vrf: vrf9\nseq: 10")), "spec.vrf", "VRF 'vrf9' is not in the node config",
            "known VRFs: mgmt_vrf, vrf1, vrf2")
    }

    @Test func skipVRFIsAccepted() throws {
        let vrf = try #require(try ir(cr(spec: "vrf: mgmt_vrf\nseq: 10")).vrfs.first)
        #expect(vrf.kind == .policyOnly)
    }

    @Test func vrfNameIsLimitedToTwelveSafeCharacters() {
        expectOneError(errors(cr(spec: "vrf: abcdefghijklm\nseq: 10")), "spec.vrf", "'abcdefghijklm' is not valid", "1 to 12 characters")
        expectOneError(errors(cr(spec: "vrf: \"vrf1 x\"\nseq: 10")), "spec.vrf", "is not valid")
        expectOneError(errors(cr(spec: "vrf: vrf.1\nseq: 10")), "spec.vrf", "is not valid")
    }

    @Test func vrfAndSeqAreRequired() {
        let all = errors(cr(spec: "import: []"))
        #expect(all.count == 2)
        #expect(all.contains { $0.contains("missing required field 'vrf'") })
        #expect(all.contains { $0.contains("missing required field 'seq'") })
    }

    @Test func communityMustBeAANNOrWellKnown() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"65536:1\"")), "spec.community", "'AA:NN'")
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"65000:1 additive\"")), "spec.community")
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: nonsense")), "spec.community", "no-export")
    }

    @Test func validCommunitiesAreAccepted() throws {
        for (given, written) in [
            ("65000:100", "65000:100"), ("no-export", "no-export"), ("0:0", "internet"),
            ("65535:65281", "no-export"), ("65535:666", "blackhole"),
        ] {
            let entry = try #require(try ir(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"\(given)\"")).vrfs.first?.exports.first)
            #expect(entry.community?.value == written, "\(given) should be written as FRR prints it")
        }
    }

    /// Several communities in one `set community`, written in the order
    /// FRR's running config shows them (FRR sorts by value).
    @Test func communityListsAreAcceptedInFRRsOrder() throws {
        for (given, written) in [
            ("65000:200 65000:100", "65000:100 65000:200"),
            ("no-export 65000:100", "65000:100 no-export"),
            ("65535:65281 blackhole 0:0 65001:1", "internet 65001:1 blackhole no-export"),
            ("local-AS no-advertise no-export", "no-export no-advertise local-AS"),
            // Read back from FRR 8.4's running config after `set community` in this input order.
            (
                "graceful-shutdown accept-own llgr-stale no-llgr accept-own-nexthop no-peer route-filter-v6 route-filter-v4 route-filter-translated-v6 route-filter-translated-v4 65535:1000",
                "graceful-shutdown accept-own route-filter-translated-v4 route-filter-v4 route-filter-translated-v6 route-filter-v6 llgr-stale no-llgr accept-own-nexthop 65535:1000 no-peer"
            ),
        ] {
            let entry = try #require(try ir(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"\(given)\"")).vrfs.first?.exports.first)
            #expect(entry.community?.value == written, "\(given)")
            #expect(entry.community?.members.map(\.value) == written.split(separator: " ").map(String.init))
        }
    }

    @Test func communityListsAreStrict() {
        for bad in [
            "65000:100  65000:200", " 65000:100", "65000:100 ", "65000:100\t65000:200", "65000:100 additive",
            "65000:100 none", "65000:100 65536:1", "65000:100,65000:200",
        ] {
            expectOneError(
                errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"\(bad)\"")), "spec.community", "is not valid",
                "separated by single spaces")
        }
        expectOneError(
            errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"65000:1 65000:2 65000:1\"")),
            "spec.community", "each community once", "'65000:1' is listed twice")
        expectOneError(
            errors(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: \"no-export 65535:65281\"")),
            "spec.community", "'65535:65281' is 'no-export', listed before it")
    }

    @Test func unquotedCommunityIsReadAsWritten() throws {
        // YAML 1.1 would make 65000:100 a base-60 number; vrfc keeps the text.
        let entry = try #require(try ir(cr(spec: "vrf: vrf1\nseq: 10\ncommunity: 65000:100")).vrfs.first?.exports.first)
        #expect(entry.community?.value == "65000:100")
    }

    @Test func aggregateMustBeCanonical() {
        expectOneError(
            errors(cr(spec: "vrf: vrf1\nseq: 10\naggregate: [203.0.113.1/24]")), "spec.aggregate[0]", "host bits", "'203.0.113.0/24'")
    }

    @Test func hostRouteAggregateIsRejected() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\naggregate: [203.0.113.1/32]")), "spec.aggregate[0]", "single address")
    }

    @Test func aggregateOnAPolicyOnlyVRFIsRejected() {
        expectOneError(
            errors(cr(spec: "vrf: mgmt_vrf\nseq: 10\naggregate: [203.0.113.0/24]")), "spec.aggregate", "skipVRFConfig", "no BGP instance")
    }

    @Test func aggregatesAreMergedAcrossCRs() throws {
        let vrf = try #require(
            try ir(
                cr("a", spec: "vrf: vrf1\nseq: 10\naggregate: [203.0.113.0/24, 2001:db8::/32]"),
                cr("b", spec: "vrf: vrf1\nseq: 20\naggregate: [203.0.113.0/24, 198.51.100.0/24]")
            ).vrfs.first)
        #expect(vrf.aggregates.map(\.description) == ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"])
    }

    @Test func unknownSpecFieldIsRejected() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\nimprot: []")), "spec.improt", "unknown field", "did you mean 'import'")
    }

    @Test func unknownTopLevelFieldIsRejectedButStatusIsIgnored() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10") + "extra: 1\n"), "extra", "unknown field")
        #expect(errors(cr(spec: "vrf: vrf1\nseq: 10") + "status: {}\n").isEmpty)
    }

    @Test func objectNameMustBeADNSSubdomain() {
        expectOneError(errors(cr("Web_1", spec: "vrf: vrf1\nseq: 10")), "metadata.name", "DNS-1123")
    }

    @Test func objectNameIsRequired() {
        let text = "apiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\nmetadata: {}\nspec: {vrf: vrf1, seq: 10}\n"
        expectOneError(errors(text), "metadata.name", "missing metadata.name")
    }

    @Test func duplicateObjectNameAcrossFilesIsRejected() {
        expectOneError(
            errors(cr("same", spec: "vrf: vrf1\nseq: 10"), cr("same", spec: "vrf: vrf2\nseq: 10")),
            "'same' is also defined at cr0.yaml:1")
    }

    @Test func wrongAPIVersionIsRejected() {
        let text = cr(spec: "vrf: vrf1\nseq: 10").replacingOccurrences(of: "v1alpha1", with: "v1beta9")
        expectOneError(errors(text), "apiVersion", "network.schiff.telekom.de/v1alpha1")
    }

    @Test func otherKindsAreRejected() {
        expectOneError(errors("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"), "kind 'Deployment' is not one vrfc reads")
        expectOneError(errors("apiVersion: v1\nkind: DeploymentList\nitems: []\n"), "kind 'DeploymentList' is not one vrfc reads")
        // A ConfigMap is read only as MetalLB's legacy configuration.
        expectOneError(
            errors("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), "ConfigMap \"x\"", "holds no MetalLB configuration")
    }

    @Test func missingKindIsRejected() {
        expectOneError(errors("apiVersion: v1\nmetadata: {name: x}\n"), "missing 'kind'")
    }

    @Test func yamlSyntaxErrorsCarryTheLine() {
        let m = expectOneError(errors("apiVersion: v1\nkind: [unclosed\n"), "YAML syntax error")
        #expect(m?.hasPrefix("cr0.yaml:") == true)
    }

    @Test func duplicateYAMLKeysAreRejected() {
        expectOneError(errors(cr(spec: "vrf: vrf1\nseq: 10\nseq: 20")), "duplicate key 'seq'")
    }

    @Test func everyErrorOfARunIsReported() {
        let bad = cr("a", spec: "vrf: vrf1\nseq: 0\nimport:\n- {cidr: 10.0.0.1/8, action: permit}\n- {cidr: 203.0.113.0/24, action: maybe}")
        let worse = cr("b", spec: "vrf: nowhere\nseq: 10\ncommunity: x")
        let all = errors(bad, worse)
        #expect(all.count == 4, "\(all)")
    }

    @Test func listsMultiDocumentsAndJSONAreAllRead() throws {
        let multi = cr("a", spec: "vrf: vrf1\nseq: 10") + "---\n" + cr("b", spec: "vrf: vrf1\nseq: 20")
        let list =
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: network.schiff.telekom.de/v1alpha1\n  kind: VRFRouteConfiguration\n  metadata: {name: c}\n  spec: {vrf: vrf2, seq: 10}\n"
        let json = """
            {"apiVersion": "network.schiff.telekom.de/v1alpha1", "kind": "VRFRouteConfiguration",
             "metadata": {"name": "d"},
            \t"spec": {"vrf": "vrf2", "seq": 20, "export": [{"cidr": "198.51.100.0/24", "action": "permit"}]}}
            """
        let ir = try ir(multi, list, json)
        #expect(ir.vrfs.flatMap { $0.exports.map(\.source.value) }.sorted() == ["a", "b", "c", "d"])
    }

    @Test func listItemsAreNamedInMessages() {
        let list =
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: network.schiff.telekom.de/v1alpha1\n  kind: VRFRouteConfiguration\n  metadata: {name: c}\n  spec: {vrf: vrf2, seq: 99999}\n"
        expectOneError(errors(list), "cr0.yaml:7", "VRFRouteConfiguration \"c\"", "spec.seq")
    }

    @Test func irIsSortedByVNIThenName() throws {
        let config = "vnimap:\n  b: 5\n  a: 7\n  c: 5000\nskipVRFConfig: [z]\n"
        let ir = try ir(
            config: config, cr("1", spec: "vrf: c\nseq: 1"), cr("2", spec: "vrf: a\nseq: 1"),
            cr("3", spec: "vrf: b\nseq: 1"), cr("4", spec: "vrf: z\nseq: 1"))
        #expect(ir.vrfs.map(\.name.value) == ["z", "b", "a", "c"])
    }

    @Test func vnimapEntryWithoutCRsProducesNothing() throws {
        #expect(try ir(cr(spec: "vrf: vrf1\nseq: 10")).vrfs.map(\.name.value) == ["vrf1"])
    }
}
