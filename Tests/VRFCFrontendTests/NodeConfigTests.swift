import Testing
import VRFCFrontend
import VRFCModel

/// README "Node config": every key, and unknown keys as errors.
@Suite struct NodeConfigTests {
    func parse(_ text: String) -> Result<NodeConfig, Diagnostics> {
        do throws(Diagnostics) {
            return .success(try NodeConfig.parse(InputFile(name: "config.yaml", text: text)))
        } catch {
            return .failure(error)
        }
    }

    func messages(_ text: String) -> [String] {
        if case .failure(let d) = parse(text) { return d.items.map(\.description) }
        return []
    }

    @Test func fullConfigParses() throws {
        let c = try parse(
            """
            vnimap: {vrf1: 100}
            vrfConfig:
              vrf2: {vni: 101, rt: "65000:101"}
            skipVRFConfig: [mgmt_vrf]
            bpfInterfaces: [br.mgmt_vrf, vx.200]
            serverASN: 64510
            """
        ).get()
        #expect(c.mappings[try VRFName(validating: "vrf1")]?.vni == 100)
        #expect(c.mappings[try VRFName(validating: "vrf2")]?.routeTarget?.value == "65000:101")
        #expect(c.skip.map(\.value) == ["mgmt_vrf"])
        #expect(c.bpfInterfaces.map(\.value) == ["br.mgmt_vrf", "vx.200"])
        #expect(c.serverASN == 64510)
    }

    @Test func serverASNDefaultsTo4200065169() throws {
        #expect(try parse("vnimap: {a: 1}").get().serverASN == 4_200_065_169)
    }

    @Test func emptyConfigIsValid() throws {
        #expect(try parse("").get().mappings.isEmpty)
    }

    @Test func vrfConfigWinsOverVnimap() throws {
        let c = try parse("vnimap: {red: 300}\nvrfConfig: {red: {vni: 310, rt: \"65000:310\"}}").get()
        #expect(c.mappings[try VRFName(validating: "red")]?.vni == 310)
    }

    @Test func unknownKeyIsRejectedWithSuggestion() {
        expectOneError(
            messages("vnimap: {a: 1}\nskipVRFconfig: [b]"), "config.yaml:2", "node config", "skipVRFconfig", "did you mean 'skipVRFConfig'")
    }

    @Test func vniMustBeIn1To16777215() {
        expectOneError(messages("vnimap: {a: 0}"), "vnimap.a", "1..16777215")
        expectOneError(messages("vnimap: {a: 16777216}"), "vnimap.a", "1..16777215")
        expectOneError(messages("vrfConfig: {a: {vni: 16777216}}"), "vrfConfig.a.vni", "1..16777215")
    }

    @Test func duplicateVNIIsRejected() {
        expectOneError(messages("vnimap: {a: 5, b: 5}"), "VNI 5 is used by both 'a' and 'b'")
    }

    @Test func vrfConfigNeedsVNIAndKnowsOnlyVNIAndRT() {
        expectOneError(messages("vrfConfig: {a: {rt: \"65000:1\"}}"), "vrfConfig.a", "missing required field 'vni'")
        expectOneError(messages("vrfConfig: {a: {vni: 1, route-target: \"65000:1\"}}"), "vrfConfig.a.route-target", "unknown field")
    }

    @Test func routeTargetsAreValidated() {
        for bad in ["65000", "65000:4294967296", "4200000000:65536", "0:1", "192.0.2.1:65536", "192.0.2:1", "a:b", "65000:1 x"] {
            expectOneError(messages("vrfConfig: {a: {vni: 1, rt: \"\(bad)\"}}"), "vrfConfig.a.rt", "ASN:NN")
        }
        for good in ["65000:4294967295", "4200000000:65535", "192.0.2.1:65535", "1:0"] {
            #expect(messages("vrfConfig: {a: {vni: 1, rt: \"\(good)\"}}").isEmpty, "\(good)")
        }
    }

    @Test func vrfNamesInMapsAreValidated() {
        expectOneError(messages("vnimap: {\"bad name\": 1}"), "vnimap.bad name", "not a valid VRF name")
    }

    @Test func skipListIsValidatedAndUnique() {
        expectOneError(messages("skipVRFConfig: [a, a]"), "skipVRFConfig[1]", "listed twice")
        expectOneError(messages("skipVRFConfig: [\"a;b\"]"), "skipVRFConfig[0]", "not valid")
    }

    @Test func bpfInterfacesAreValidatedAndUnique() {
        expectOneError(messages("bpfInterfaces: [eth0, eth0]"), "bpfInterfaces[1]", "listed twice")
        expectOneError(messages("bpfInterfaces: [averyveryverylongname]"), "bpfInterfaces[0]", "1 to 15 characters")
        expectOneError(messages("bpfInterfaces: [\"..\"]"), "bpfInterfaces[0]", "not '.' or '..'")
        expectOneError(messages("bpfInterfaces: [\"eth0/1\"]"), "bpfInterfaces[0]")
    }

    @Test func serverASNIsValidated() {
        expectOneError(messages("serverASN: 4294967296"), "serverASN", "out of range")
        expectOneError(messages("serverASN: \"64510\""), "without quotes")
        expectOneError(messages("serverASN: -1"), "serverASN")
    }

    /// ASNs FRR refuses or warns about ("Reserved AS used") are refused.
    @Test func reservedServerASNsAreRefused() {
        expectOneError(messages("serverASN: 0"), "config.yaml:1", "serverASN", "ASN 0 is reserved", "RFC 7607", "private ASN")
        expectOneError(messages("serverASN: 23456"), "config.yaml:1", "serverASN", "ASN 23456 is reserved", "AS_TRANS")
        expectOneError(messages("serverASN: 4294967295"), "config.yaml:1", "serverASN", "ASN 4294967295 is reserved", "Reserved AS used")
    }

    @Test func serverASNsNextToReservedOnesAreAccepted() throws {
        for asn: UInt32 in [1, 23455, 23457, 65535, 65536, 4_294_967_294] {
            #expect(try parse("serverASN: \(asn)").get().serverASN == asn)
        }
    }

    /// vrfc would make it policy-only, the Go operator a full VRF: refused,
    /// naming both places and which one to remove for which intent.
    @Test func mappedAndSkippedVRFIsRefused() {
        let m = expectOneError(
            messages("vnimap:\n  vrf1: 100\nskipVRFConfig:\n- vrf2\n- vrf1\n"),
            "config.yaml:5", "skipVRFConfig[1]", "VRF 'vrf1' is in skipVRFConfig and also mapped in vnimap (config.yaml:2)",
            "remove it from skipVRFConfig if vrfc should create the VRF", "remove it from vnimap if the node's provisioning creates the VRF"
        )
        #expect(m?.contains("vrfConfig") == false, "\(m ?? "")")
        expectOneError(
            messages("vrfConfig:\n  vrf1: {vni: 100}\nskipVRFConfig: [vrf1]\n"),
            "config.yaml:3", "also mapped in vrfConfig (config.yaml:2)", "remove it from vrfConfig if")
        expectOneError(
            messages("vnimap: {vrf1: 100}\nvrfConfig:\n  vrf1: {vni: 100}\nskipVRFConfig: [vrf1]\n"),
            "also mapped in vnimap (config.yaml:1) and vrfConfig (config.yaml:3)", "remove it from vnimap and vrfConfig if")
    }

    @Test func moreThanOneDocumentIsRejected() {
        expectOneError(messages("vnimap: {a: 1}\n---\nvnimap: {b: 2}"), "2 YAML documents")
    }

    @Test func nonMappingIsRejected() {
        expectOneError(messages("- a\n- b"), "expected a mapping")
    }
}
