import Testing
import VRFCDriver
import VRFCFrontend
import VRFCModel
import VRFCTestSupport

/// Strings that would break or inject FRR config, or an interface name, are
/// refused in every string field, with the field named; nothing is output.
@Suite struct HostileInputTests {
    static let hostile = [
        "vrf1\nrouter bgp 1", "a b", "x!", "\"q\"", "'", "a\tb", "#++{{.BGP}}", "{{.Hostname}}", "a;b",
        "vrf1\r", "ä", "$(reboot)", "`id`", "a\\b", "exit\n", "65000:1\n!", "no-export additive", "",
    ]

    enum Slot: CaseIterable {
        case objectName, vrf, community, cidr, action, aggregate, vnimapKey, vrfConfigKey, routeTarget, skip, bpfInterface
    }

    /// Puts `value` into `slot` of a valid random node; returns the field path messages must name.
    static func inject(_ value: String, into slot: Slot, _ node: inout RandomNode) -> String {
        switch slot {
        case .objectName:
            node.crs[0].name = value
            return "metadata.name"
        case .vrf:
            node.crs[0].vrf = value
            return "spec.vrf"
        case .community:
            node.crs[0].community = value
            return "spec.community"
        case .cidr:
            node.crs[0].imports.insert(.init(cidr: value, action: "permit", seq: nil, ge: nil, le: nil), at: 0)
            return "spec.import[0].cidr"
        case .action:
            node.crs[0].exports.insert(.init(cidr: "198.51.100.0/24", action: value, seq: nil, ge: nil, le: nil), at: 0)
            return "spec.export[0].action"
        case .aggregate:
            node.crs[0].aggregates = [value]
            return "spec.aggregate[0]"
        case .vnimapKey:
            node.vnimap.append((value, 16_777_215))
            return "vnimap."
        case .vrfConfigKey:
            node.vrfConfig.append((value, 16_777_214, nil))
            return "vrfConfig."
        case .routeTarget:
            node.vrfConfig.append(("rtslot", 16_777_213, value))
            return "vrfConfig.rtslot.rt"
        case .skip:
            node.skip.append(value)
            return "skipVRFConfig["
        case .bpfInterface:
            node.bpfInterfaces.append(value)
            return "bpfInterfaces["
        }
    }

    @Test(arguments: Slot.allCases)
    func hostileStringsAreRefusedInEveryField(_ slot: Slot) throws {
        var rng = SplitMix64(seed: 0xBAD_5EED)
        for (i, value) in Self.hostile.enumerated() {
            var node = RandomNode.generate(&rng)
            // A skip VRF cannot carry aggregates; keep the slot meaningful.
            if slot == .aggregate, node.skip.contains(node.crs[0].vrf) {
                node.skip.removeAll { $0 == node.crs[0].vrf }
                node.vnimap.append((node.crs[0].vrf, 16_777_000 + i))
            }
            let path = Self.inject(value, into: slot, &node)
            let dir = try TempDir()
            let config = try dir.write("config.yaml", node.configYAML())
            let crs = try dir.write("crs.\(node.fileExtension)", node.crsText())
            do throws(Diagnostics) {
                let ir = try Compiler.ir(.init(config: config, objects: [crs], options: Fixture.options))
                Issue.record("\(slot) = \(quotedForTest(value)) was accepted: \(ir.vrfs.map(\.name))")
            } catch {
                #expect(
                    error.items.contains { $0.location.field?.contains(path) == true || $0.description.contains(path) },
                    "\(slot) = \(quotedForTest(value)): no message names \(path): \(error)")
            }
        }
    }

    func quotedForTest(_ s: String) -> String { s.debugDescription }
}
