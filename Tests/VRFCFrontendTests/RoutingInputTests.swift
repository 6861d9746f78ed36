import Foundation
import Testing
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCTestSupport

@testable import VRFCFrontend

/// README "Return-path routing" and "Pod routes": MetalLB's configuration in
/// both shapes and Node objects as kubectl prints them, the node config's
/// returnPath and podRoutes, every validation rule, hostile strings.
@Suite struct RoutingInputTests {
    struct Outcome {
        var routing: RoutingIR?
        var errors: [String]
        var warnings: [String]
    }

    /// The frontend on in-memory files, as `vrfc compile` runs it.
    static func run(config: String, _ files: [(String, String)], vrfTables: ClosedRange<UInt32> = 50...79) -> Outcome {
        let cfg: NodeConfig
        do throws(Diagnostics) {
            cfg = try NodeConfig.parse(InputFile(name: "config.yaml", text: config))
        } catch {
            return Outcome(routing: nil, errors: error.items.map(\.description), warnings: [])
        }
        let (objects, diags) = InputObjects.parse(files.map { InputFile(name: $0.0, text: $0.1) })
        if !diags.isEmpty { return Outcome(routing: nil, errors: diags.map(\.description), warnings: []) }
        let r = RoutingLowering.lower(config: cfg, objects: objects, vrfTables: vrfTables)
        return Outcome(
            routing: r.errors.isEmpty ? r.routing : nil, errors: r.errors.map(\.description), warnings: r.warnings.map(\.description))
    }

    static func fixtureFiles(_ name: String) throws -> [(String, String)] {
        let dir = Fixture(name: name).crs
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map {
            ("crs/" + $0, try #require(readText(dir + "/" + $0)))
        }
    }

    static func prefix(_ s: String) -> IPPrefix { try! IPPrefix.parse(s).get() }
    static func address(_ s: String) -> IPAddress { IPAddress(parsing: s[...])! }

    static let returnPathConfig = """
        nodeName: node-a
        returnPath:
          table: 200
        """

    static func peer(_ name: String, _ address: String, selectors: String = "") -> String {
        """
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: \(name), namespace: metallb-system}
        spec:
          myASN: 64512
          peerASN: 64500
          peerAddress: \(address)
        \(selectors)
        """
    }

    static func pool(_ name: String, _ addresses: [String], labels: String = "{}") -> String {
        """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: \(name), namespace: metallb-system, labels: \(labels)}
        spec:
          addresses: [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]
        """
    }

    static let advertiseAll = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: all, namespace: metallb-system}\n"

    static func docs(_ parts: String...) -> String { parts.map { "---\n" + $0 + "\n" }.joined() }

    // MARK: MetalLB CRDs

    @Test func crdsAsKubectlPrintsThemGiveTheECMPRoutesAndOneRulePerPrefix() throws {
        let config = try #require(readText(Fixture(name: "metallb-return-path").config))
        let o = Self.run(config: config, try Self.fixtureFiles("metallb-return-path"))
        #expect(o.errors.isEmpty, "\(o.errors)")
        let r = try #require(o.routing)
        #expect(r.ownedTables == [OwnedTable(id: 200, name: try RouteTableName(validating: "metallb-nra"))])
        #expect(r.routes.map(\.destination) == [Self.prefix("0.0.0.0/0"), Self.prefix("::/0")])
        // tor-c peers only with rack r2; node-a is in r1.
        #expect(r.routes[0].nexthops.map(\.gateway) == [Self.address("192.0.2.1"), Self.address("192.0.2.2")])
        #expect(r.routes[0].nexthops.allSatisfy { $0.weight == 100 })
        #expect(r.routes[1].nexthops.map(\.source) == ["BGPPeer \"tor-a-v6\""])
        // The range 198.51.100.200-203 is one /30; lan-l2 is not announced over BGP.
        #expect(r.rules.map(\.from) == ["198.51.100.0/25", "198.51.100.200/30", "2001:db8:100::/120"].map(Self.prefix))
        #expect(r.rules.allSatisfy { $0.fwmark == 0x14 && $0.priority == 20 && $0.table == 200 })
        // Lowered: a single path has no weight in the kernel.
        let ops = KernelBackend.routeOps(r)
        #expect(ops.ownedTables == [200])
        #expect(ops.routes[1].nexthops.map(\.weight) == [1] && ops.routes[0].nexthops.map(\.weight) == [100, 100])
        #expect(ops.routes.allSatisfy { $0.protocol == RouteOwnership.protocol })
        #expect(ops.rules.map(\.family) == [.ipv4, .ipv4, .ipv6])
    }

    @Test func advertisementsDecideWhichPoolsAreAnnouncedFromThisNode() {
        let node = "apiVersion: v1\nkind: Node\nmetadata: {name: node-a, labels: {rack: r1}}\n"
        let ad = { (spec: String) in "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: ad}\nspec:\n" + spec }
        let inputs = { (advert: String) in
            [
                (
                    "in.yaml",
                    Self.docs(
                        Self.peer("p", "192.0.2.1"), Self.pool("a", ["198.51.100.0/28"], labels: "{tier: web}"),
                        Self.pool("b", ["198.51.100.16/28"]), advert, node)
                )
            ]
        }
        func froms(_ advert: String) -> [String] {
            Self.run(config: Self.returnPathConfig, inputs(advert)).routing?.rules.map(\.from.text) ?? ["failed"]
        }
        #expect(froms(ad("  ipAddressPools: [b]\n")) == ["198.51.100.16/28"])
        #expect(froms(ad("  ipAddressPoolSelectors:\n  - matchLabels: {tier: web}\n")) == ["198.51.100.0/28"])
        #expect(froms(ad("  nodeSelectors:\n  - matchLabels: {rack: r2}\n")) == [])
        #expect(
            froms(ad("  nodeSelectors:\n  - matchExpressions:\n    - {key: rack, operator: NotIn, values: [r2]}\n")) == [
                "198.51.100.0/28", "198.51.100.16/28",
            ])
        #expect(froms(Self.advertiseAll) == ["198.51.100.0/28", "198.51.100.16/28"])
        let none = Self.run(
            config: Self.returnPathConfig, [("in.yaml", Self.docs(Self.peer("p", "192.0.2.1"), Self.pool("a", ["198.51.100.0/28"])))])
        #expect(none.routing?.rules == [] && none.routing?.ownedTables.map(\.id) == [200])
        #expect(
            none.warnings.count == 1 && none.warnings[0].contains("warning: ") && none.warnings[0].contains("no address pool is announced"),
            "\(none.warnings)")
    }

    @Test func returnPathPoolsNameWhichPoolsToCover() {
        let files = [
            (
                "in.yaml",
                Self.docs(
                    Self.peer("p", "192.0.2.1"), Self.pool("a", ["198.51.100.0/28"]), Self.pool("b", ["198.51.100.16/28"]),
                    Self.advertiseAll)
            )
        ]
        let ok = Self.run(config: Self.returnPathConfig + "\n  pools: [b]", files)
        #expect(ok.routing?.rules.map(\.from.text) == ["198.51.100.16/28"], "\(ok.errors)")
        let unknown = Self.run(config: Self.returnPathConfig + "\n  pools: [c]", files)
        #expect(
            unknown.errors.count == 1 && unknown.errors[0].contains("config.yaml:4: error: node config: returnPath.pools[0]: ")
                && unknown.errors[0].contains("no address pool is named 'c'")
                && unknown.errors[0].contains("known pools: a, b"), "\(unknown.errors)")
        let notAnnounced = Self.run(
            config: Self.returnPathConfig + "\n  pools: [a]",
            [("in.yaml", Self.docs(Self.peer("p", "192.0.2.1"), Self.pool("a", ["198.51.100.0/28"])))])
        #expect(
            notAnnounced.errors.count == 1
                && notAnnounced.errors[0].contains("IPAddressPool \"a\" is not announced over BGP from this node"), "\(notAnnounced.errors)"
        )
    }

    // MARK: the legacy ConfigMap

    static let legacyConfigMap = """
        apiVersion: v1
        data:
          config: |
            peers:
            - peer-address: 192.0.2.1
              peer-asn: 64500
              my-asn: 64512
            - peer-address: 192.0.2.2
              peer-asn: 64500
              my-asn: 64512
              node-selectors:
              - match-labels:
                  rack: r2
            address-pools:
            - name: default
              protocol: bgp
              addresses:
              - 198.51.100.0/26
              - 198.51.100.64-198.51.100.66
            - name: l2
              protocol: layer2
              addresses: [203.0.113.0/28]
        kind: ConfigMap
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: |
              {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"config","namespace":"metallb-system"}}
          creationTimestamp: "2026-10-02T09:14:07Z"
          name: config
          namespace: metallb-system
          resourceVersion: "1182"
          uid: 1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a
        """

    @Test func legacyConfigMapGivesTheSameKindOfTable() throws {
        let node = "---\napiVersion: v1\nkind: Node\nmetadata: {name: node-a, labels: {rack: r1}}\n"
        let o = Self.run(config: Self.returnPathConfig, [("cm.yaml", Self.legacyConfigMap + "\n" + node)])
        #expect(o.errors.isEmpty, "\(o.errors)")
        let r = try #require(o.routing)
        // The second peer is for rack r2 only; layer2 pools get no rule.
        #expect(r.routes.map { $0.nexthops.map(\.gateway) } == [[Self.address("192.0.2.1")]])
        #expect(r.routes[0].nexthops[0].source == "ConfigMap \"config\": peers[0]")
        #expect(r.rules.map(\.from.text) == ["198.51.100.0/26", "198.51.100.64/31", "198.51.100.66/32"])
        #expect(r.rules[0].source == "ConfigMap \"config\": address-pools \"default\"")
    }

    @Test func legacyConfigMapMessagesPointIntoItsLiteralBlock() {
        let broken = Self.legacyConfigMap.replacingOccurrences(of: "- peer-address: 192.0.2.2", with: "- peer-adress: 192.0.2.2")
        let o = Self.run(config: Self.returnPathConfig, [("cm.yaml", broken)])
        // Line 8 of the file is the misspelt key inside `config: |`.
        #expect(
            o.errors.count == 2
                && o.errors[0].hasPrefix("cm.yaml:8: error: ConfigMap \"config\": data.config.peers[1].peer-adress: unknown field")
                && o.errors[0].contains("did you mean 'peer-address'")
                && o.errors[1].contains("data.config.peers[1]: missing peer-address"), "\(o.errors)")
        let badYAML = Self.legacyConfigMap.replacingOccurrences(
            of: "      my-asn: 64512\n    - peer-address: 192.0.2.2", with: "      my-asn: [64512\n    - peer-address: 192.0.2.2")
        let y = Self.run(config: Self.returnPathConfig, [("cm.yaml", badYAML)])
        #expect(
            y.errors.count == 1 && y.errors[0].contains("cm.yaml:") && y.errors[0].contains("data.config") && y.errors[0].contains("YAML"),
            "\(y.errors)")
    }

    @Test func legacyConfigMapAsJSONNamesTheConfigKeysLine() {
        let json = """
            {
                "apiVersion": "v1",
                "data": {
                    "config": "peers:\\n- peer-address: 192.0.2.1\\n  peer-asn: 64500\\n  my-asn: 64512\\naddress-pools:\\n- name: default\\n  protocol: bgp\\n  addresses: [198.51.100.0/26]\\n  colour: blue\\n"
                },
                "kind": "ConfigMap",
                "metadata": {"name": "config", "namespace": "metallb-system"}
            }
            """
        let o = Self.run(config: Self.returnPathConfig, [("cm.json", json)])
        #expect(
            o.errors.count == 1
                && o.errors[0].hasPrefix("cm.json:4: error: ConfigMap \"config\": data.config.address-pools[0].colour: unknown field"),
            "\(o.errors)")
    }

    @Test func bothShapesAtOnceAreRefused() {
        let o = Self.run(config: Self.returnPathConfig, [("a.yaml", Self.legacyConfigMap), ("b.yaml", Self.peer("p", "192.0.2.1"))])
        #expect(o.errors.count == 1 && o.errors[0].contains("both as CRDs and as its legacy ConfigMap"), "\(o.errors)")
    }

    // MARK: validation

    @Test func overlappingPoolsAreRefusedNamingBoth() {
        let o = Self.run(
            config: Self.returnPathConfig,
            [
                (
                    "p.yaml",
                    Self.docs(
                        Self.peer("p", "192.0.2.1"), Self.pool("a", ["198.51.100.0/24"]),
                        Self.pool("b", ["198.51.100.252/30"]), Self.advertiseAll)
                )
            ])
        #expect(o.errors.count == 1, "\(o.errors)")
        #expect(
            o.errors.first?.contains("p.yaml:") == true
                && o.errors.first?.contains("IPAddressPool \"b\": 198.51.100.252/30 overlaps 198.51.100.0/24 of IPAddressPool \"a\"")
                    == true,
            "\(o.errors)")
    }

    @Test func aPeerOffTheConnectedNetworksIsLeftOutWithAWarning() throws {
        let config = Self.returnPathConfig + "\n  connectedNetworks: [192.0.2.0/28]"
        let o = Self.run(
            config: config,
            [
                (
                    "p.yaml",
                    Self.docs(
                        Self.peer("near", "192.0.2.1"), Self.peer("far", "198.51.100.1"),
                        Self.pool("a", ["203.0.113.0/28"]), Self.advertiseAll)
                )
            ])
        #expect(o.errors.isEmpty, "\(o.errors)")
        #expect(try #require(o.routing).routes[0].nexthops.map(\.gateway) == [Self.address("192.0.2.1")])
        #expect(
            o.warnings.count == 1 && o.warnings[0].contains("p.yaml:")
                && o.warnings[0].contains("warning: BGPPeer \"far\": spec.peerAddress:")
                && o.warnings[0].contains("not on a connected network"), "\(o.warnings)")
    }

    @Test func theTableStaysOutOfTheVRFRangeAndTheKernelsTables() {
        let files = [("p.yaml", Self.docs(Self.peer("p", "192.0.2.1"), Self.pool("a", ["203.0.113.0/28"]), Self.advertiseAll))]
        let inRange = Self.run(config: "returnPath: {table: 60}", files)
        #expect(
            inRange.errors.count == 1
                && inRange.errors[0].hasPrefix(
                    "config.yaml:1: error: node config: returnPath.table: table 60 is inside the VRF table range 50-79"),
            "\(inRange.errors)")
        #expect(
            Self.run(config: "returnPath: {table: 1060}", files, vrfTables: 1000...1999).errors.first?.contains("range 1000-1999") == true)
        for (t, name) in [(253, "default"), (254, "main"), (255, "local")] {
            let o = Self.run(config: "returnPath: {table: \(t)}", files)
            #expect(o.errors.count == 1 && o.errors[0].contains("the kernel's '\(name)' table"), "\(o.errors)")
        }
        #expect(Self.run(config: "returnPath: {table: 0}", files).errors.first?.contains("out of range") == true)
        #expect(
            Self.run(config: "returnPath: {table: 200, tableName: main}", files).errors.first?.contains(
                "returnPath.tableName: 'main' is not valid") == true)
        #expect(Self.run(config: "returnPath: {rulePriority: 20}", files).errors.first?.contains("missing required field 'table'") == true)
    }

    @Test func nodeConfigKeysAreStrict() {
        let files = [("p.yaml", Self.docs(Self.peer("p", "192.0.2.1"), Self.pool("a", ["203.0.113.0/28"]), Self.advertiseAll))]
        let typo = Self.run(config: "returnPath: {table: 200, rulePriorty: 20}", files)
        #expect(
            typo.errors.count == 1 && typo.errors[0].contains("returnPath.rulePriorty: unknown field")
                && typo.errors[0].contains("did you mean 'rulePriority'"), "\(typo.errors)")
        #expect(Self.run(config: "returnPath: {table: 200, rulePriority: 32766}", files).errors.first?.contains("out of range") == true)
        #expect(Self.run(config: "returnPath: {table: 200, peerWeight: 257}", files).errors.first?.contains("out of range") == true)
        #expect(Self.run(config: "returnPath: {table: 200, fwmark: 0x}", files).errors.first?.contains("is not a fwmark") == true)
        #expect(Self.run(config: "returnPath: {table: 200, fwmark: \"20\"}", files).errors.first?.contains("without quotes") == true)
        #expect(Self.run(config: "returnPath: {table: 200, fwmark: 20}", files).routing?.rules.first?.fwmark == 20)
        #expect(Self.run(config: "returnPath: {table: 200, destination: 10.0.0.1/8}", files).errors.first?.contains("host bits") == true)
        let podTypo = Self.run(config: "nodeName: a\npodRoutes: {interface: eth1, ipv6prefix: 2001:db8::/96}", [])
        #expect(podTypo.errors.first?.contains("did you mean 'ipv6Prefix'") == true, "\(podTypo.errors)")
        #expect(
            Self.run(config: "podRoutes: {interface: eth1, ipv6Prefix: 2001:db8::/112}", []).errors.first?.contains("fewer than 32 bits")
                == true)
    }

    @Test func unknownFieldsInObjectsAreRefused() {
        let typo = Self.run(
            config: Self.returnPathConfig,
            [("p.yaml", Self.peer("p", "192.0.2.1").replacingOccurrences(of: "peerAddress", with: "peerAdress"))])
        #expect(
            typo.errors.contains {
                $0.hasPrefix("p.yaml:7: error: BGPPeer \"p\": spec.peerAdress: unknown field") && $0.contains("did you mean 'peerAddress'")
            }, "\(typo.errors)")
        let node = Self.run(
            config: "nodeName: n\npodRoutes: {interface: eth1}",
            [("n.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {podCIRDs: [198.51.100.0/26]}\n")])
        #expect(node.errors.first?.contains("Node \"n\": spec.podCIRDs: unknown field") == true, "\(node.errors)")
        let pool = Self.run(config: Self.returnPathConfig, [("p.yaml", Self.pool("a", ["198.51.100.0/26"]) + "\n  autoAsign: true")])
        #expect(pool.errors.first?.contains("did you mean 'autoAssign'") == true, "\(pool.errors)")
        let version = Self.run(
            config: Self.returnPathConfig, [("p.yaml", Self.peer("p", "192.0.2.1").replacingOccurrences(of: "v1beta2", with: "v2"))])
        #expect(version.errors.first?.contains("apiVersion 'metallb.io/v2' is not supported") == true, "\(version.errors)")
        let range = Self.run(config: Self.returnPathConfig, [("p.yaml", Self.pool("a", ["198.51.100.9-198.51.100.2"]))])
        #expect(range.errors.first?.contains("ends before it starts") == true, "\(range.errors)")
    }

    @Test func metalLBObjectsWithoutReturnPathAreAMistake() {
        let o = Self.run(config: "vnimap: {vrf1: 100}", [("p.yaml", Self.peer("p", "192.0.2.1"))])
        #expect(o.errors.count == 1 && o.errors[0].contains("the node config has no returnPath"), "\(o.errors)")
        let n = Self.run(config: "vnimap: {vrf1: 100}", [("n.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n")])
        #expect(n.errors.count == 1 && n.errors[0].contains("neither podRoutes nor returnPath"), "\(n.errors)")
    }

    /// vrfc-apply compiles the node config with no input at all (--clean, and
    /// to learn the operator's bpfInterfaces): that must not fail.
    @Test func theNodeConfigAloneCompilesWithWarnings() throws {
        let o = Self.run(config: "nodeName: a\npodRoutes: {interface: eth1}\nreturnPath: {table: 200}", [])
        #expect(o.errors.isEmpty, "\(o.errors)")
        let r = try #require(o.routing)
        #expect(r.ownedTables.map(\.id) == [200] && r.routes.isEmpty && r.rules.isEmpty && r.podNetwork == nil)
        #expect(o.warnings.count == 2 && o.warnings.allSatisfy { $0.contains(": warning: ") }, "\(o.warnings)")
    }

    // MARK: Node objects and pod routes

    static func node(_ name: String, _ addresses: [String], _ cidrs: [String]) -> String {
        """
        apiVersion: v1
        kind: Node
        metadata:
          name: \(name)
          managedFields:
          - {apiVersion: v1, fieldsType: FieldsV1, manager: kubelet, operation: Update}
        spec:
          podCIDRs: [\(cidrs.map { "\"\($0)\"" }.joined(separator: ", "))]
        status:
          addresses: [\((addresses.map { "{type: InternalIP, address: \"\($0)\"}" } + ["{type: Hostname, address: \(name)}"]).joined(separator: ", "))]
          conditions: [{type: Ready, status: "True"}]
          nodeInfo: {kubeletVersion: v1.31.2}
        """
    }

    static let podConfig = "nodeName: a\npodRoutes:\n  interface: eth1\n"

    @Test func podRoutesGoToEveryOtherNodeInBothFamilies() throws {
        let config = try #require(readText(Fixture(name: "pod-routes").config))
        let o = Self.run(config: config, try Self.fixtureFiles("pod-routes"))
        #expect(o.errors.isEmpty, "\(o.errors)")
        let r = try #require(o.routing)
        #expect(r.routes.map(\.destination.text) == ["198.51.100.0/26", "198.51.100.64/26", "2001:db8:10::/64", "2001:db8:20::/64"])
        #expect(
            r.routes.map { $0.nexthops[0].gateway?.description } == [
                "192.0.2.11", "192.0.2.12", "2001:db8:1000::c000:20b", "2001:db8:ffff::12",
            ])
        #expect(r.routes.allSatisfy { $0.table == 254 && $0.purpose == .podRoute && $0.nexthops[0].device?.value == "eth1" })
        #expect(r.podNetwork?.podCIDRs.map(\.text) == ["198.51.100.128/26", "2001:db8:30::/64"])
        #expect(
            o.warnings.count == 1 && o.warnings[0].contains("Node \"vm-004\"") && o.warnings[0].contains("has no podCIDRs"), "\(o.warnings)"
        )
    }

    @Test func withoutAnIPv6AddressOrPrefixTheIPv6RouteGoesViaTheNodesLinkLocalAddress() throws {
        let o = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    Self.docs(
                        Self.node("a", ["192.0.2.1"], ["198.51.100.0/26"]),
                        Self.node("b", ["192.0.2.2"], ["198.51.100.64/26", "2001:db8:20::/64"]))
                )
            ])
        #expect(o.errors.isEmpty && o.warnings.isEmpty, "\(o.errors) \(o.warnings)")
        let r = try #require(o.routing)
        #expect(r.routes.map(\.destination.text) == ["198.51.100.64/26", "2001:db8:20::/64"])
        let hop = try #require(r.routes.last?.nexthops.first)
        // The compiler cannot know the MAC: the IR names the neighbour.
        #expect(hop.gateway == nil && hop.linkLocalOf == Self.address("192.0.2.2") && hop.device?.value == "eth1")
        #expect(hop.source == "Node \"b\"")
        // Into the op list as it is, validated and read back strictly.
        let ops = OpList(
            underlay: KernelBackend.defaultUnderlay, tableRange: .default, links: [], routerAttachments: [],
            routes: KernelBackend.routeOps(r).routes)
        try ops.validate()
        let text = JSONOutput.encode(ops)
        #expect(text.contains("\"linkLocalOf\" : \"192.0.2.2\""), "\(text)")
        let back = try OpListReader.decode(Array(text.utf8))
        #expect(back == ops)
        #expect(back.routes[1].description == "2001:db8:20::/64 table 254 via link-local of 192.0.2.2 dev eth1")
    }

    @Test func aNodeWithoutAnyAddressGetsNoPodRouteAndAWarningPerFamily() {
        let o = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    Self.docs(
                        Self.node("a", ["192.0.2.1"], ["198.51.100.0/26"]),
                        Self.node("b", ["2001:db8::b"], ["198.51.100.64/26", "2001:db8:20::/64"]),
                        Self.node("c", [], ["198.51.100.128/26", "2001:db8:30::/64"]))
                )
            ])
        #expect(o.errors.isEmpty, "\(o.errors)")
        #expect(o.routing?.routes.map(\.destination.text) == ["2001:db8:20::/64"])
        #expect(o.warnings.count == 3, "\(o.warnings)")
        #expect(o.warnings.contains { $0.contains("Node \"b\"") && $0.contains("has no ipv4 address for its pod CIDR 198.51.100.64/26") })
        #expect(
            o.warnings.contains {
                $0.contains("Node \"c\"") && $0.contains("has no ipv6 address for its pod CIDR 2001:db8:30::/64")
                    && $0.contains("or else at its link-local address")
            }, "\(o.warnings)")
    }

    @Test func duplicateNodeAddressesAndOverlappingPodCIDRsAreRefused() {
        let dup = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    Self.docs(
                        Self.node("a", ["192.0.2.1"], ["198.51.100.0/26"]),
                        Self.node("b", ["192.0.2.1"], ["198.51.100.64/26"]))
                )
            ])
        #expect(
            dup.errors.count == 1 && dup.errors[0].contains("Node \"b\"")
                && dup.errors[0].contains("InternalIP 192.0.2.1 is also the address of Node 'a'"), "\(dup.errors)")
        let overlap = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    Self.docs(
                        Self.node("a", ["192.0.2.1"], ["198.51.100.0/24"]),
                        Self.node("b", ["192.0.2.2"], ["198.51.100.64/26"]))
                )
            ])
        #expect(
            overlap.errors.count == 1 && overlap.errors[0].contains("pod CIDR 198.51.100.64/26 overlaps 198.51.100.0/24 of Node \"a\""),
            "\(overlap.errors)")
        let twice = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    Self.docs(
                        Self.node("a", ["192.0.2.1"], ["198.51.100.0/26"]),
                        Self.node("a", ["192.0.2.2"], ["198.51.100.64/26"]))
                )
            ])
        #expect(twice.errors.count == 1 && twice.errors[0].contains("Node 'a' is also defined at n.yaml:2"), "\(twice.errors)")
        let missing = Self.run(config: Self.podConfig, [("n.yaml", Self.node("b", ["192.0.2.2"], ["198.51.100.64/26"]))])
        #expect(missing.errors.count == 1 && missing.errors[0].contains("nodeName 'a' is not among the Node objects"), "\(missing.errors)")
        let mismatch = Self.run(
            config: Self.podConfig,
            [
                (
                    "n.yaml",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: a}\nspec:\n  podCIDR: 198.51.100.0/26\n  podCIDRs: [198.51.100.64/26]\n"
                )
            ])
        #expect(mismatch.errors.first?.contains("podCIDR 198.51.100.0/26 is not podCIDRs[0]") == true, "\(mismatch.errors)")
    }

    @Test func theCNIConfigMatchesItsGoldenFile() throws {
        let f = Fixture(name: "pod-routes")
        let (ir, _) = try Compiler.compile(.init(config: f.config, objects: [f.crs], options: Fixture.options))
        let network = try #require(ir.routing?.podNetwork)
        #expect(JSONOutput.encode(CNIConfig(network)) == readText(f.golden("cni.json")))
    }

    // MARK: hostile strings and ranges

    @Test func hostileStringsAreRefusedWithOneVisibleLine() {
        let hostile = ["a\nb", "x\u{1B}[2J", "tor a", "\"quoted\"", "ab!", String(repeating: "A", count: 5000), "{{.X}}"]
        for h in hostile {
            let escaped = h.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\u{1B}", with: "\\e")
            let cases: [(String, [(String, String)])] = [
                ("nodeName: \"\(escaped)\"", []),
                ("nodeName: a\npodRoutes: {interface: \"\(escaped)\"}", []),
                (Self.returnPathConfig, [("p.yaml", Self.peer("p", "\"\(escaped)\""))]),
                (Self.returnPathConfig, [("p.yaml", Self.pool("\"\(escaped)\"", ["198.51.100.0/26"]))]),
                (Self.returnPathConfig, [("p.yaml", Self.pool("a", [escaped]))]),
                (Self.podConfig, [("n.yaml", Self.node("\"\(escaped)\"", ["192.0.2.1"], ["198.51.100.0/26"]))]),
                (Self.podConfig, [("n.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: a, labels: {\"\(escaped)\": x}}\n")]),
            ]
            for (config, files) in cases {
                let o = Self.run(config: config, files)
                #expect(!o.errors.isEmpty, "accepted \(h.debugDescription) in \(config) \(files)")
                for e in o.errors {
                    #expect(
                        !e.contains("\n") && !e.contains("\u{1B}") && e.count < 2_500 && e.contains(": error: "), "\(e.debugDescription)")
                }
            }
        }
    }

    @Test func rangesBecomeTheFewestPrefixes() {
        func cover(_ a: String, _ b: String) -> [String] { AddressRange.prefixes(from: Self.address(a), to: Self.address(b)).map(\.text) }
        #expect(cover("192.0.2.1", "192.0.2.6") == ["192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6/32"])
        #expect(cover("192.0.2.0", "192.0.2.255") == ["192.0.2.0/24"])
        #expect(cover("0.0.0.0", "255.255.255.255") == ["0.0.0.0/0"])
        #expect(cover("2001:db8::", "2001:db8::ff") == ["2001:db8::/120"])
        #expect(cover("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == ["::/0"])
        #expect(cover("8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == ["8000::/1"])
        #expect(cover("2001:db8::5", "2001:db8::5") == ["2001:db8::5/128"])
        // Every address of a random range, exactly once.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let lo = UInt32.random(in: 0xC000_0200...0xC000_02FF, using: &rng)
            let hi = UInt32.random(in: lo...0xC000_02FF, using: &rng)
            let ps = AddressRange.prefixes(from: .v4(IPv4Address(lo)), to: .v4(IPv4Address(hi)))
            var covered: [UInt32] = []
            for p in ps {
                guard case .v4(let a) = p.address else { continue }
                covered += (0..<(UInt32(1) << (32 - p.length))).map { a.value + $0 }
            }
            #expect(covered == Array(lo...hi))
        }
    }
}
