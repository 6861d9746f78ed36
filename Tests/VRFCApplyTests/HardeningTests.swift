import Foundation
import Testing
import VRFCApply
import VRFCApplyTestSupport
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// The applier against hostile or broken surroundings, on this machine's
/// kernel in namespaces the tests create: tampered op lists aimed at
/// interfaces that are not vrfc's, creation logs that could claim a foreign
/// link or redirect root's writes, foreign ports on links vrfc deletes,
/// plans that cannot read everything, and lost bpffs pins.
@Suite struct HardeningTests {
    // MARK: Helpers

    /// The clsact qdisc on `dev`, per tc.
    static func hasClsact(_ ns: Namespace, _ dev: String) throws -> Bool {
        let r = try ns.exec(["tc", "-j", "qdisc", "show", "dev", dev])
        guard r.status == 0 else { throw SetupError("tc qdisc show dev \(dev): \(r)") }
        let qdiscs = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        return qdiscs.contains { $0["kind"] as? String == "clsact" }
    }

    /// The filters on one clsact hook of `dev` with a handle (not the per-priority heads).
    static func filters(_ ns: Namespace, _ dev: String, _ hook: String) throws -> [[String: Any]] {
        let r = try ns.exec(["tc", "-j", "filter", "show", "dev", dev, hook])
        guard r.status == 0 else { throw SetupError("tc filter show dev \(dev) \(hook): \(r)") }
        let all = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        return all.filter { $0["options"] != nil }
    }

    /// A node config with `bpfInterfaces`, owned by root and 0644 (the TempDir's umask).
    static func config(_ dir: TempDir, bpfInterfaces: [String]) throws -> String {
        try dir.write(
            "config-\(UUID().uuidString.prefix(4)).yaml",
            "vnimap:\n  vrf1: 100\n  vrf2: 101\nbpfInterfaces: [\(bpfInterfaces.joined(separator: ", "))]\n")
    }

    static func cookie(_ ns: Namespace) throws -> UInt64 {
        try NetlinkSocket.open(namespace: ns.name).namespaceCookie()
    }

    // MARK: 9. Router attachments only where the operator allows them

    /// A tampered op list names an interface that is neither vrfc's link nor
    /// one the operator listed: refused before any change; no clsact qdisc
    /// appears anywhere.
    @Test(arguments: ["eth0", "lo", "dum.underlay", "underlay lo"])
    func aTamperedAttachmentIsRefusedBeforeAnyChange(_ target: String) throws {
        var ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        let name = target == "underlay lo" ? "lo" : target
        if target == "underlay lo" {
            ops.underlay = try InterfaceName(validating: "lo")
            for i in ops.links.indices where ops.links[i].vxlan != nil { ops.links[i].vxlan!.device = ops.underlay }
        }
        ops.routerAttachments.append(try InterfaceName(validating: name))
        try Namespace.with("attach9") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "eth0", "mtu", "9100", "type", "veth", "peer", "name", "eth1")
            let before = try ns.ipLinks()
            let r = try ns.applyOps(ops)
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("router attachment \(name) is neither one of the op list's links"), "\(r)")
            #expect(r.stderr.contains("nothing was changed"), "\(r)")
            for dev in ["eth0", "lo", "dum.underlay"] {
                #expect(try !Self.hasClsact(ns, dev), "\(dev) got a clsact qdisc from a tampered op list")
            }
            #expect(try ns.ipLinks().mapValues(stableDescription) == before.mapValues(stableDescription))
        }
    }

    /// The operator allows interfaces on the command line or in the
    /// root-owned node config; a config others could write is not trusted.
    @Test func operatorListedInterfacesAreAllowedFromRootOnly() throws {
        let dir = try TempDir()
        let config = try Self.config(dir, bpfInterfaces: ["up0"])
        var ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        ops.routerAttachments.append(try InterfaceName(validating: "up0"))
        try Namespace.with("trust9") { ns in
            try ns.addUnderlay()
            try ns.ip("link", "add", "up0", "type", "veth", "peer", "name", "up0p")
            let plain = try ns.applyOps(ops)
            #expect(plain.status == 1 && plain.stderr.contains("router attachment up0 is neither"), "\(plain)")
            #expect(try !Self.hasClsact(ns, "up0"))

            // A config that group or others may write, or that is not root's, is refused whole.
            try Shell.check(["chmod", "0664", config])
            let writable = try ns.applyOps(ops, "--config", config)
            #expect(writable.status == 1 && writable.stderr.contains("not writable by group or others"), "\(writable)")
            try Shell.check(["chmod", "0644", config])
            try Shell.check(["chown", "65534", config])
            let notRoots = try ns.applyOps(ops, "--config", config)
            #expect(notRoots.status == 1 && notRoots.stderr.contains("owned by uid 65534"), "\(notRoots)")
            try Shell.check(["chown", "0", config])
            #expect(try !Self.hasClsact(ns, "up0"))

            let byFlag = try ns.applyOps(ops, "--bpf-interface", "up0")
            #expect(byFlag.status == 0, "\(byFlag)")
            #expect(try RouterEndToEndTests.routerInstances(ns, "up0") == 1)
            let byConfig = try ns.applyOps(ops, "--config", config)
            #expect(byConfig.status == 0 && byConfig.stdout.contains("nothing to change"), "\(byConfig)")
            #expect(try ns.planOps(ops, "--config", config).status == 0)
        }
    }

    /// Removing an attachment removes the clsact qdisc vrfc added, never
    /// one that was there before or that another filter still uses.
    @Test func removingAnAttachmentRemovesTheClsactVrfcAdded() throws {
        let base = try compiledOps("mgmt-vrf").withoutVRFDevices
        var with = base
        let extra = ["up0", "up1", "up2"]
        with.routerAttachments += try extra.map { try InterfaceName(validating: $0) }
        let allow = extra.flatMap { ["--bpf-interface", $0] }
        try Namespace.with("clsact9") { ns in
            try ns.addUnderlay()
            for dev in extra { try ns.ip("link", "add", dev, "type", "veth", "peer", "name", dev + "p") }
            try ns.exec(["tc", "qdisc", "add", "dev", "up1", "clsact"])  // someone else's
            try #require(try Self.hasClsact(ns, "up1"))

            let first = try ns.applier(["apply", "--ops", try ns.file("with.json", JSONOutput.encode(with))] + allow)
            try #require(first.status == 0, "\(first)")
            for dev in extra { #expect(try RouterEndToEndTests.routerInstances(ns, dev) == 1, "\(dev)") }
            // A foreign filter joins vrfc's clsact on up2 (egress).
            let foreign = try ns.exec([
                "tc", "filter", "add", "dev", "up2", "egress", "prio", "4", "u32", "match", "u32", "0", "0", "classid", "1:1",
            ])
            try #require(foreign.status == 0, "\(foreign)")
            let foreignFilters = try Self.filters(ns, "up2", "egress").count
            try #require(foreignFilters >= 1)

            let plan = try ns.planOps(base)
            #expect(plan.status == 3 && plan.stdout.contains("the clsact qdisc vrfc added goes too"), "\(plan)")
            let removed = try ns.applyOps(base)
            #expect(removed.status == 0, "\(removed)")
            for dev in extra { #expect(try RouterEndToEndTests.routerInstances(ns, dev) == 0, "\(dev)") }
            #expect(try !Self.hasClsact(ns, "up0"), "vrfc added up0's clsact: it must go with the program")
            #expect(try Self.hasClsact(ns, "up1"), "up1's clsact was there before vrfc: it stays")
            #expect(try Self.hasClsact(ns, "up2"), "up2's clsact carries a foreign filter: it stays")
            #expect(try Self.filters(ns, "up2", "egress").count == foreignFilters, "the foreign filter stays")
            #expect(try ns.planOps(base).status == 0)
        }
    }

    // MARK: 10. The creation log claims only what its run made

    /// An apply ends after creating a link (like kill -9), the link is then
    /// replaced by someone else's with the same name and ifindex: the next
    /// apply must not take it for its own half-made link.
    @Test func aLoggedCreationCannotClaimALinkMadeLaterBySomeoneElse() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        let first = try #require(ops.links.first).name.value
        try Namespace.with("log10") { ns in
            try ns.addUnderlay()
            let file = try ns.file("ops.json", JSONOutput.encode(ops))
            let crashed = try ns.crashingApply(file, after: 1)
            try #require(crashed.status == 137, "\(crashed)")
            let half = try #require(try ns.links().first { $0.name == first }, "the first creation happened")
            #expect(half.alias == nil)

            try ns.ip("link", "del", first)
            try ns.ip("link", "add", first, "index", String(half.index), "type", "bridge")
            let before = try ns.ipLinks()[first]
            let r = try ns.applyOps(ops)
            #expect(r.status == 1 && r.stdout.contains("\(first) exists (bridge) but is not vrfc's"), "\(r)")
            #expect(stableDescription(try ns.ipLinks()[first]) == stableDescription(before), "the foreign link was changed")
            // The stale entry is gone: the log proves nothing about this link any more.
            let log = (try? String(contentsOfFile: "/run/vrfc/created-netns-\(try Self.cookie(ns)).log", encoding: .utf8)) ?? ""
            #expect(!log.contains(" \(first) "), "resolved entries are dropped: \(log)")
            try ns.ip("link", "del", first)
            #expect(try ns.applyOps(ops).status == 0)
        }
    }

    /// A symlink planted where the log goes: root neither appends to its
    /// target nor reads it; apply refuses before any change.
    @Test func theCreationLogNeverFollowsASymlink() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        let dir = try TempDir()
        let target = try dir.write("target", "precious\n")
        try Namespace.with("link10") { ns in
            try ns.addUnderlay()
            // The default directory, but this namespace's own file (named by its cookie).
            try? FileManager.default.createDirectory(atPath: "/run/vrfc", withIntermediateDirectories: true)
            let log = "/run/vrfc/created-netns-\(try Self.cookie(ns)).log"
            try? FileManager.default.removeItem(atPath: log)
            try FileManager.default.createSymbolicLink(atPath: log, withDestinationPath: target)
            defer { try? FileManager.default.removeItem(atPath: log) }
            let before = try ns.ipLinks()
            let r = try ns.applyOps(ops)
            #expect(r.status == 1 && r.stdout.contains("is a symbolic link"), "\(r)")
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "root wrote through the planted link")
            #expect(Set(try ns.ipLinks().keys) == Set(before.keys))
        }
    }

    /// The state directory is checked before use: not a symlink, root's,
    /// closed to others (a root-owned one that is too open is tightened).
    @Test func theStateDirectoryIsCheckedBeforeUse() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        let dir = try TempDir()
        let real = dir.path + "/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let symlinked = dir.path + "/symlinked"
        try FileManager.default.createSymbolicLink(atPath: symlinked, withDestinationPath: real)
        let foreign = dir.path + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try Shell.check(["chown", "65534", foreign])
        let open = dir.path + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        try Shell.check(["chmod", "0777", open])
        try Namespace.with("state10") { ns in
            try ns.addUnderlay()
            let before = try ns.ipLinks()
            for (d, why) in [(symlinked, "is a symbolic link or not a directory"), (foreign, "owned by uid 65534")] {
                let r = try ns.applyOps(ops, "--run-dir", d)
                #expect(r.status == 1 && r.stdout.contains(why), "\(d)\n\(r)")
                #expect(Set(try ns.ipLinks().keys) == Set(before.keys), "\(d): nothing may change")
            }
            let r = try ns.applyOps(ops, "--run-dir", open)
            #expect(r.status == 0, "\(r)")
            let mode = try FileManager.default.attributesOfItem(atPath: open)[.posixPermissions] as? Int
            #expect(mode == 0o700, "a root-owned state directory is tightened to 0700, is \(String(mode ?? 0, radix: 8))")
        }
    }

    // MARK: 11. Foreign ports of a link vrfc deletes

    @Test func foreignPortsOfADeletedBridgeAreReportedAndKeptUnlessForced() throws {
        let all = try compiledOps("mgmt-vrf").withoutVRFDevices
        let fewer = all.keeping { $0.value != "vrf1" }
        try Namespace.with("ports11") { ns in
            try ns.addUnderlay()
            try #require(try ns.applyOps(all).status == 0)
            try ns.ip("link", "add", "p0", "type", "veth", "peer", "name", "p1")
            try ns.ip("link", "set", "p0", "master", "br.vrf1")
            let before = identities(try ns.links())

            let plan = try ns.planOps(fewer)
            #expect(plan.status == 1 && plan.stdout.contains("foreign port: p0 is enslaved to br.vrf1"), "\(plan)")
            let r = try ns.applyOps(fewer)
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.contains("p0 is a port of it and not vrfc's") && r.stdout.contains("--force"), "\(r)")
            #expect(identities(try ns.links()) == before, "nothing may be deleted")
            #expect(try ns.ipLinks()["p0"]?["master"] as? String == "br.vrf1")

            let forced = try ns.applyOps(fewer, "--force")
            #expect(forced.status == 0 && forced.stdout.contains("--force: detaches p0"), "\(forced)")
            let after = try ns.ipLinks()
            #expect(after["br.vrf1"] == nil && after["p0"] != nil && after["p0"]?["master"] == nil)
            #expect(try ns.planOps(fewer).status == 0)
        }
    }

    // MARK: 12. A plan that cannot read everything does not say "in sync"

    @Test func anUnprivilegedPlanThatCannotReadTheRouterStateIsIncomplete() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("unread12") { ns in
            try ns.addUnderlay()
            let file = try ns.file("ops.json", JSONOutput.encode(ops))
            try Shell.check(["chmod", "0755", (file as NSString).deletingLastPathComponent])
            try Shell.check(["chmod", "0644", file])
            try #require(try ns.applier("apply", "--ops", file).status == 0)
            #expect(try ns.applier("plan", "--ops", file).status == 0, "root's plan: in sync")
            let nobody = try ns.exec(
                [
                    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", try applierPath(), "plan", "--ops", file,
                ] + Namespace.operatorFlags)
            #expect(nobody.status == 4, "\(nobody)")
            #expect(!nobody.stdout.contains("in sync:"), "\(nobody)")
            #expect(nobody.stdout.contains("unreadable: the tc router program's state"), "\(nobody)")
            let json = try ns.exec(
                [
                    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", try applierPath(), "plan", "--json", "--ops", file,
                ] + Namespace.operatorFlags)
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(
                json.status == 4 && report?["inSync"] as? Bool == false && report?["complete"] as? Bool == false
                    && (report?["unreadable"] as? [String])?.isEmpty == false, "\(json)")
        }
    }

    // MARK: 13. Pins are a convenience: the kernel is the truth

    /// Under `ip netns exec` (a private /sys without the host's bpffs) the
    /// pins of one run are gone in the next; plan, apply and `bpf stats`
    /// find the program and its maps through the kernel and converge.
    @Test func withoutPinsPlanApplyAndStatsConverge() throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        try Namespace.with("pins13") { ns in
            try ns.addUnderlay()
            let file = try ns.file("ops.json", JSONOutput.encode(ops))
            let inside = { (args: [String]) throws -> CommandResult in
                try ns.exec([try applierPath()] + args + (args[0] == "bpf" ? [] : Namespace.operatorFlags))
            }
            let first = try inside(["apply", "--ops", file])
            try #require(first.status == 0, "\(first)")
            let plan = try inside(["plan", "--ops", file])
            #expect(plan.status == 0 && plan.stdout.contains("in sync"), "\(plan)")
            let again = try inside(["apply", "--ops", file])
            #expect(again.status == 0 && again.stdout.contains("nothing to change"), "\(again)")

            // One instance per interface, all counting into one set of maps.
            var mapSets: Set<[Int]> = []
            let own = Set(ops.links.map(\.name.value))
            for dev in ops.routerAttachments.map(\.value) where own.contains(dev) {
                let f = try Self.filters(ns, dev, "ingress")
                #expect(f.count == 1, "\(dev): \(f)")
                guard let id = (f.first?["options"] as? [String: Any])?["prog"].flatMap({ ($0 as? [String: Any])?["id"] as? Int }) else {
                    Issue.record("\(dev): no program id in \(f)")
                    continue
                }
                let prog = try Shell.check(["bpftool", "-j", "prog", "show", "id", String(id)]).stdout
                let info = try JSONSerialization.jsonObject(with: Data(prog.utf8)) as? [String: Any]
                mapSets.insert(((info?["map_ids"] as? [Int]) ?? []).sorted())
            }
            #expect(mapSets.count == 1, "every instance uses the same maps: \(mapSets)")

            let stats = try inside(["bpf", "stats", "--json"])
            #expect(stats.status == 0 && stats.stdout.contains("\"outcomes\""), "\(stats)")
        }
    }

    // MARK: 14. Op list parsing is strict

    @Test(arguments: [
        ("a duplicate key", "duplicate key 'version'"),
        ("an unknown top-level field", "unknown field 'colour'"),
        ("an unknown link field", "links[0]: unknown field 'index'"),
        ("a VNI beyond UInt32", "links[1].vxlan.vni: 4294967396 is out of range (0...4294967295)"),
        ("an MTU as a string", "links[0].mtu: expected an integer, found a string"),
        ("a text over the size cap", "larger than 16 MiB"),
        ("deep nesting", "nested deeper than 32 levels"),
    ])
    func opListParsingIsStrict(_ c: (String, String)) throws {
        let ops = try compiledOps("mgmt-vrf").withoutVRFDevices
        var text = JSONOutput.encode(ops)
        switch c.0 {
        case "a duplicate key": text = "{\n  \"version\" : 1," + text.dropFirst()
        case "an unknown top-level field": text = "{\n  \"colour\" : \"red\"," + text.dropFirst()
        case "an unknown link field":
            text = text.replacingOccurrences(of: "\"links\" : [\n    {", with: "\"links\" : [\n    {\n      \"index\" : 7,")
        case "a VNI beyond UInt32": text = text.replacingOccurrences(of: "\"vni\" : 100", with: "\"vni\" : 4294967396")
        case "an MTU as a string":
            let i = try #require(text.range(of: "\"mtu\" : 9000"))
            text.replaceSubrange(i, with: "\"mtu\" : \"-1\"")
        case "a text over the size cap": text += String(repeating: " ", count: 17 << 20)  // valid JSON, too long
        default: text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        }
        try Namespace.with("parse14") { ns in
            try ns.addUnderlay()
            let before = try ns.ipLinks()
            let r = try ns.applier("apply", "--ops", try ns.file("ops.json", text))
            #expect(r.status == 1, "\(c.0): \(r)")
            #expect(r.stderr.contains(c.1), "\(c.0): stderr should say '\(c.1)'\n\(r)")
            #expect(r.stderr.contains("nothing was changed"), "\(r)")
            if c.0 != "a text over the size cap" && c.0 != "deep nesting" {
                #expect(r.stderr.contains("ops.json: line "), "\(c.0): the line is named\n\(r)")
            }
            #expect(try ns.ipLinks().mapValues(stableDescription) == before.mapValues(stableDescription))
        }
    }
}
