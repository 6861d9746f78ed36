import Foundation
import VRFCApply
import VRFCBPF
import VRFCDriver
import VRFCKernel
import VRFCModel
import VRFCNetlink
import VRFCTestSupport

/// The built applier. scripts/test.sh runs `swift build` before `swift test`;
/// a missing binary fails the test that needs it, loudly.
public func applierPath() throws -> String {
    let path = Repo.executable("vrfc-apply")
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw SetupError("vrfc-apply is not built at \(path): run `swift build` before `swift test`")
    }
    return path
}

/// The test-only build of apply and agent with injected faults
/// (Tests/ApplyFaults), built by `swift build` like vrfc-apply.
public func faultsPath() throws -> String {
    let path = Repo.executable("vrfc-apply-faults")
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw SetupError("vrfc-apply-faults is not built at \(path): run `swift build` before `swift test`")
    }
    return path
}

/// The documentation address the tests give the underlay, and the MAC vrfc
/// must derive from it (02:54 + the four address bytes).
public let underlayAddress: [UInt8] = [192, 0, 2, 129]
public let underlayMAC = "02:54:c0:00:02:81"

/// A network namespace of its own for one test (`Netns`, `vrfca-` prefix),
/// with the applier's state in it (its files, pins, creation log), deleted
/// when the test ends, also on failure.
public final class Namespace: @unchecked Sendable {
    public let netns: Netns
    public var name: String { netns.name }
    private let dir: URL

    public init(_ tag: String) throws {
        netns = try Netns.create(String(tag.prefix(8)), prefix: "vrfca")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(netns.name)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            netns.delete()
            throw error
        }
    }

    /// This namespace's own bpffs pin directory for the tc router's maps, so
    /// tests running side by side never share counters or pins.
    public var pinDirectory: String { "/sys/fs/bpf/\(name)" }

    public func delete() {
        // vrfc-apply's state files of this namespace (named by its cookie).
        if let cookie = try? NetlinkSocket.open(namespace: name).namespaceCookie() {
            for file in ["created-netns-\(cookie).log", "clsact-netns-\(cookie).list"] {
                try? FileManager.default.removeItem(atPath: StateDirectory.defaultPath + "/" + file)
            }
        }
        netns.delete()
        try? FileManager.default.removeItem(at: dir)
        BPFFS.remove(directory: pinDirectory)
    }

    /// Runs `body` with a fresh namespace and always deletes it afterwards.
    public static func with<T>(_ tag: String, _ body: (Namespace) throws -> T) throws -> T {
        let ns = try Namespace(tag)
        defer { ns.delete() }
        return try body(ns)
    }

    @discardableResult
    public func ip(_ args: String...) throws -> String {
        try netns.ip(args)
    }

    /// Runs a command inside the namespace, whatever its exit status.
    @discardableResult
    public func exec(_ args: [String]) throws -> CommandResult {
        try netns.run(args)
    }

    /// The VTEP device. This kernel has no dummy links, so
    /// `dum.underlay` is one end of a veth pair here.
    public func addUnderlay(mtu: Int = 9100, addresses: [String] = ["192.0.2.129/32"], name: String = "dum.underlay") throws {
        try ip("link", "add", name, "mtu", String(mtu), "type", "veth", "peer", "name", "ul.peer", "mtu", String(mtu))
        for a in addresses { try ip("address", "add", a, "dev", name) }
    }

    /// Where vrfc-apply keeps the owned tables' names for this namespace's runs.
    public var tableNamesFile: String { dir.appendingPathComponent("iproute2/rt_tables.d/vrfc.conf").path }

    public func file(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// `vrfc-apply SUBCOMMAND ARGS` for this namespace. It enters the
    /// namespace itself (`--netns`) rather than under `ip netns exec`,
    /// whose private /sys would hide bpffs and lose the router's pins.
    @discardableResult
    public func applier(_ args: String...) throws -> CommandResult {
        try applier(args)
    }

    @discardableResult
    public func applier(_ args: [String]) throws -> CommandResult {
        var full = [try applierPath()] + args
        if ["plan", "apply"].contains(args.first) {
            full += ["--netns", name, "--bpf-pin-dir", pinDirectory] + Self.operatorFlags
            // The table names go to this test's directory, never the host's /etc/iproute2.
            if !args.contains("--table-names-file") { full += ["--table-names-file", tableNamesFile] }
        }
        return try Shell.run(full)
    }

    /// The harness plays the node's operator: it allows the router on the
    /// interfaces the fixtures' node configs list in bpfInterfaces, as a
    /// systemd unit would with --bpf-interface. Anything else an op list
    /// names (eth0, lo, the underlay, ...) stays refused.
    public static let operatorFlags: [String] = {
        var seen: Set<String> = []
        let names = Fixture.all.flatMap { (try? $0.ir().bpfInterfaces.map(\.value)) ?? [] }.filter { seen.insert($0).inserted }
        return names.flatMap { ["--bpf-interface", $0] }
    }()

    public func applyOps(_ ops: OpList, _ extra: String...) throws -> CommandResult {
        try applier(["apply", "--ops", try file("ops-\(UUID().uuidString.prefix(4)).json", JSONOutput.encode(ops))] + extra)
    }

    /// `apply --ops FILE` under `ip netns exec`, ending like kill -9 right
    /// after the request or datagram of its k-th acknowledged kernel change
    /// (status 137), or finishing
    /// as apply does when the run has fewer changes.
    public func crashingApply(_ file: String, after k: Int) throws -> CommandResult {
        try netns.run(
            [try faultsPath(), "apply", "--crash-after-changes", String(k), "--ops", file, "--table-names-file", tableNamesFile]
                + Self.operatorFlags)
    }

    public func planOps(_ ops: OpList, _ extra: String...) throws -> CommandResult {
        try applier(["plan", "--ops", try file("ops-\(UUID().uuidString.prefix(4)).json", JSONOutput.encode(ops))] + extra)
    }

    /// The links as the kernel reports them over netlink (a socket opened
    /// inside the namespace from a helper thread).
    public func links() throws -> [Link] {
        try NetlinkSocket.open(namespace: name).links()
    }

    /// `ip -d -j link show`, by name, as iproute2 reports it.
    public func ipLinks() throws -> [String: [String: Any]] {
        let out = try Shell.check(["ip", "-n", name, "-d", "-j", "link", "show"]).stdout
        return try parseIPLinks(out)
    }
}

public func parseIPLinks(_ json: String) throws -> [String: [String: Any]] {
    guard let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else {
        throw SetupError("ip -j link: not a JSON list: \(json.prefix(200))")
    }
    var out: [String: [String: Any]] = [:]
    for l in list { if let n = l["ifname"] as? String { out[n] = l } }
    return out
}

/// A fixture's op list, compiled in-process by the real compiler.
public func compiledOps(_ fixture: String, tableRange: TableRange = .default) throws -> OpList {
    let ir = try Fixture(name: fixture).ir()
    return KernelBackend.ops(ir, options: .init(tableRange: tableRange))
}

public func compiledOps(config: String, crs: [String], tableRange: TableRange = .default) throws -> OpList {
    KernelBackend.ops(try Compiler.ir(.init(config: config, objects: crs)), options: .init(tableRange: tableRange))
}

extension OpList {
    /// Only the links of `vrfs`, and only their router attachments (plus the
    /// node's bpfInterfaces), as the compiler would write it for those VRFs:
    /// an op list may attach the router to its own links, not to another's.
    public func keeping(_ keep: (VRFName) -> Bool) -> OpList {
        var o = self
        o.links = links.filter { keep($0.vrf) }
        let dropped = Set(links.map(\.name.value)).subtracting(o.links.map(\.name.value))
        o.routerAttachments = routerAttachments.filter { !dropped.contains($0.value) }
        return o
    }

    /// This machine's kernel has no VRF device: the host
    /// tests apply every other link of the compiled op list — bridge, VXLAN,
    /// veth pairs with all their settings — and the guest test does the VRFs.
    public var withoutVRFDevices: OpList {
        var o = self
        o.links = links.filter { $0.kind != .vrf }.map { l in
            var l = l
            if let m = l.master, m.value.hasPrefix("vr.") { l.master = nil }
            return l
        }
        return o
    }
}

/// Every link of the op list is in `ip -d -j link` output exactly as wanted.
/// Expectations come from the op list and the underlay the test set up;
/// `tables` (when given) are the VRF tables the test expects.
public func checkIPLinks(
    _ ops: OpList, _ live: [String: [String: Any]], underlay: String = "dum.underlay",
    tables: [String: Int]? = nil
) -> [String] {
    var problems: [String] = []
    func expect(_ ok: Bool, _ link: String, _ what: String, _ have: Any?) {
        if !ok { problems.append("\(link): expected \(what), ip -d -j shows \(have.map { "\($0)" } ?? "nothing")") }
    }
    for spec in ops.links {
        let n = spec.name.value
        guard let l = live[n] else {
            problems.append("\(n): missing")
            continue
        }
        let info = l["linkinfo"] as? [String: Any] ?? [:]
        let data = info["info_data"] as? [String: Any] ?? [:]
        expect(info["info_kind"] as? String == spec.kind.rawValue, n, "type \(spec.kind.rawValue)", info["info_kind"])
        expect(l["mtu"] as? Int == spec.mtu, n, "mtu \(spec.mtu)", l["mtu"])
        expect(l["master"] as? String == spec.master?.value, n, "master \(spec.master?.value ?? "none")", l["master"])
        expect(l["ifalias"] as? String == "vrfc:v1:\(spec.vrf)", n, "alias vrfc:v1:\(spec.vrf)", l["ifalias"])
        expect(
            l["inet6_addr_gen_mode"] as? String == spec.addrGenMode.rawValue, n, "addrgenmode \(spec.addrGenMode.rawValue)",
            l["inet6_addr_gen_mode"])
        expect((l["flags"] as? [String])?.contains("UP") == true, n, "UP", l["flags"])
        if spec.macFromUnderlay { expect(l["address"] as? String == underlayMAC, n, "address \(underlayMAC)", l["address"]) }
        if let v = spec.vxlan {
            expect(data["id"] as? Int == Int(v.vni), n, "vxlan id \(v.vni)", data["id"])
            expect(
                data["local"] as? String == underlayAddress.map(String.init).joined(separator: "."), n, "local 192.0.2.129", data["local"])
            expect(data["link"] as? String == underlay, n, "dev \(underlay)", data["link"])
            expect(data["port"] as? Int == Int(v.dstPort), n, "dstport \(v.dstPort)", data["port"])
            expect(data["learning"] as? Bool == v.learning, n, "vxlan learning \(v.learning)", data["learning"])
        }
        if let p = spec.bridgePort {
            let port = info["info_slave_data"] as? [String: Any] ?? [:]
            expect(info["info_slave_kind"] as? String == "bridge", n, "a bridge port", info["info_slave_kind"])
            expect(port["hairpin"] as? Bool == p.hairpin, n, "hairpin \(p.hairpin)", port["hairpin"])
            expect(port["learning"] as? Bool == p.learning, n, "learning \(p.learning)", port["learning"])
            expect(port["neigh_suppress"] as? Bool == p.neighSuppress, n, "neigh_suppress \(p.neighSuppress)", port["neigh_suppress"])
        }
        if let peer = spec.peer { expect(l["link"] as? String == peer.value, n, "veth peer \(peer)", l["link"]) }
        if spec.kind == .vrf {
            let t = data["table"] as? Int
            if let want = tables?[n] {
                expect(t == want, n, "table \(want)", t)
            } else {
                expect(t.map { ops.tableRange.contains(UInt32($0)) } == true, n, "a table in \(ops.tableRange)", t)
            }
        }
    }
    return problems
}

/// The same, read back over netlink with vrfc's own parser.
public func checkNetlinkLinks(_ ops: OpList, _ links: [Link], underlay: String = "dum.underlay") -> [String] {
    var problems: [String] = []
    let byName = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
    for spec in ops.links {
        let n = spec.name.value
        guard let l = byName[n] else {
            problems.append("\(n): missing over netlink")
            continue
        }
        func expect(_ ok: Bool, _ what: String) { if !ok { problems.append("\(n): netlink: expected \(what), have \(l)") } }
        expect(l.kind == spec.kind.rawValue, "kind \(spec.kind)")
        expect(l.mtu == UInt32(spec.mtu), "mtu \(spec.mtu)")
        expect(l.masterIndex.flatMap { byIndex[$0]?.name } == spec.master?.value, "master \(spec.master?.value ?? "none")")
        expect(l.alias == "vrfc:v1:\(spec.vrf)", "alias")
        expect(l.addrGenMode == spec.addrGenMode.kernelValue, "addr_gen_mode \(spec.addrGenMode.kernelValue)")
        expect(l.isUp, "IFF_UP")
        if spec.macFromUnderlay { expect(l.mac?.description == underlayMAC, "address \(underlayMAC)") }
        if let v = spec.vxlan {
            expect(
                l.vxlan?.vni == v.vni && l.vxlan?.port == v.dstPort && l.vxlan?.learning == v.learning
                    && l.vxlan?.local == underlayAddress && l.vxlan?.linkIndex == byName[underlay]?.index,
                "vxlan \(v)")
        }
        if let p = spec.bridgePort {
            expect(
                l.bridgePort == BridgePortFlags(hairpin: p.hairpin, learning: p.learning, neighSuppress: p.neighSuppress),
                "bridge port \(p)")
        }
        if let peer = spec.peer { expect(l.linkIndex.flatMap { byIndex[$0]?.name } == peer.value, "peer \(peer)") }
    }
    return problems
}

/// Names and ifindexes of every link: what "nothing changed" compares.
public func identities(_ links: [Link]) -> [String: Int32] {
    Dictionary(links.map { ($0.name, $0.index) }, uniquingKeysWith: { a, _ in a })
}

/// `ip -d -j` of one link without what moves by itself (counters, bridge
/// timers, carrier-driven state), for before/after comparisons.
public func stableDescription(_ l: [String: Any]?) -> String {
    guard let l else { return "(absent)" }
    func strip(_ v: Any) -> Any {
        guard let d = v as? [String: Any] else { return v }
        var out: [String: Any] = [:]
        for (k, x) in d where !k.hasSuffix("_timer") && !["stats", "stats64", "operstate", "linkmode"].contains(k) {
            out[k] = strip(x)
        }
        return out
    }
    let data = try? JSONSerialization.data(withJSONObject: strip(l), options: [.sortedKeys])
    return data.map { String(decoding: $0, as: UTF8.self) } ?? "?"
}

/// The op list as an iproute2 batch (scripts/ops-to-ip-batch.py): the same
/// links made the way the Go operator or a shell script would make them.
public func ipBatch(_ ops: OpList, marker: Bool, extra: [String] = []) throws -> String {
    var args = ["python3", Repo.path("scripts/ops-to-ip-batch.py"), "-", "--local", "192.0.2.129"] + extra
    if !marker { args.append("--no-marker") }
    return try Shell.check(args, stdin: Data(JSONOutput.encode(ops).utf8)).stdout
}

extension NetlinkSocket {
    /// A socket in the named network namespace (`/run/netns/NAME`), opened
    /// from a short-lived thread of its own: setns moves only that thread, so
    /// the test's thread stays where it is, and the socket stays bound to the
    /// namespace it was created in.
    public static func open(namespace: String, receiveBuffer: Int32 = 4 << 20) throws -> NetlinkSocket {
        final class Box: @unchecked Sendable {
            var result: Result<NetlinkSocket, any Error>?
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            box.result = Result {
                try NetlinkSocket.enterNamespace(namespace)
                return try NetlinkSocket(receiveBuffer: receiveBuffer)
            }
            done.signal()
        }.start()
        done.wait()
        return try box.result!.get()
    }
}

/// Node `number` (1 or 2) of the pod-route traffic tests as a router with a
/// pod behind it: forwarding on, a veth `cbr0` to the pod's `eth0`, the node
/// .1/::1 and the pod .2/::2 in 198.51.100.0/24 and 2001:db8:a::/64 (node 1)
/// or 203.0.113.0/24 and 2001:db8:b::/64 (node 2), the pod's default routes
/// via the node.
public func podBehind(node: Namespace, pod: Namespace, number n: Int) throws {
    try node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    try node.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
    try node.ip("link", "add", "cbr0", "type", "veth", "peer", "name", "eth0", "netns", pod.name)
    let v4 = n == 1 ? "198.51.100" : "203.0.113"
    let v6 = n == 1 ? "2001:db8:a" : "2001:db8:b"
    try node.ip("address", "add", "\(v4).1/24", "dev", "cbr0")
    try node.ip("address", "add", "\(v6)::1/64", "dev", "cbr0", "nodad")
    try node.ip("link", "set", "cbr0", "up")
    try pod.ip("address", "add", "\(v4).2/24", "dev", "eth0")
    try pod.ip("address", "add", "\(v6)::2/64", "dev", "eth0", "nodad")
    try pod.ip("link", "set", "eth0", "up")
    try pod.ip("route", "add", "default", "via", "\(v4).1")
    try pod.ip("-6", "route", "add", "default", "via", "\(v6)::1")
}
