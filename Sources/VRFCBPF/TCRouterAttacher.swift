import CBPF
import Glibc
import Synchronization
import VRFCNetlink

/// One vrfc router instance found on an interface's clsact ingress hook.
public struct AttachedRouter: Hashable, Sendable {
    public var priority: UInt16
    public var handle: UInt32
    public var programID: UInt32
    public var identity: ProgramIdentity
    /// This build's program, counting into the node's one set of maps.
    public var isCurrent: Bool
}

/// The loaded program, the probe (loaded only to learn this build's tag)
/// and the maps the attached instances use when nothing is pinned.
private struct LoadedState {
    var program: RouterProgram?
    var probe: RouterProgram?
    var attachedMaps: [UInt32]?
}

/// The real `RouterAttacher`: the embedded router program on clsact
/// ingress through libbpf, with its maps pinned under `pinDirectory`.
///
/// Pins are a convenience, not the truth: what runs where is read from the
/// kernel (each clsact filter's program id → program info → tag and map
/// ids). "Current" means this build's tag counting into the node's one set
/// of maps: the pinned maps when there are pins, otherwise the maps most
/// attached instances of this build share, which a new load then reuses.
/// So plan, apply and `bpf stats` agree also where the pins are gone
/// (`ip netns exec` mounts a private /sys without the host's bpffs).
///
/// Works in the calling thread's network namespace (a netlink socket is
/// opened per call). The program is loaded on first use and then shared by
/// every interface: one program, one set of counters. `state` alone loads
/// an unpinned copy just to learn this build's tag, so `plan` pins nothing.
public final class TCRouterAttacher: RouterAttacher, Sendable {
    public static let defaultPinDirectory = RouterStats.defaultPinDirectory
    /// vrfc's slot on the hook (bpf/router.h).
    public static let priority = UInt16(VRFC_TC_PRIORITY)
    public static let handle = UInt32(VRFC_TC_HANDLE)

    /// The program's object; the embedded one is decoded on first use, so
    /// a run that loads no program (every vrfc-apply run builds an
    /// attacher) does not pay for it.
    public var object: RouterObject { givenObject ?? .embedded }
    private let givenObject: RouterObject?
    public let pinDirectory: String
    private let loaded = Mutex<LoadedState>(LoadedState())

    public init(object: RouterObject? = nil, pinDirectory: String = TCRouterAttacher.defaultPinDirectory) {
        self.givenObject = object
        self.pinDirectory = pinDirectory
    }

    /// The loaded, pinned program (loading it on first use).
    public func program() throws(BPFError) -> RouterProgram {
        if let p = loaded.withLock({ $0.program }) { return p }
        var reuse = loaded.withLock { $0.attachedMaps }
        if reuse == nil && PinnedMaps.ids(in: pinDirectory) == nil {
            _ = try expectedIdentity(all: TCIngress.routerInstances(TCIngress.socket("any")))
            reuse = loaded.withLock { $0.attachedMaps }
        }
        let p = try RouterProgram(object: object, pinDirectory: pinDirectory, reuseMapIDs: reuse ?? [])
        loaded.withLock {
            $0.program = p
            $0.probe = nil
        }
        return p
    }

    /// This build's identity with the node's maps (pinned, else those the
    /// attached instances of this build share); nil when there are neither,
    /// so no attached instance can be current.
    private func expectedIdentity(all: [Int32: [(filter: TCFilter, info: ProgramInfo)]]) throws(BPFError) -> ProgramIdentity? {
        try loaded.withLock { (state) throws(BPFError) -> ProgramIdentity? in
            if let p = state.program { return p.identity }
            let probe: RouterProgram
            if let p = state.probe { probe = p } else { probe = try RouterProgram(object: object, pinDirectory: nil) }
            state.probe = probe
            if let ids = PinnedMaps.ids(in: pinDirectory) {
                return ProgramIdentity(name: probe.identity.name, tag: probe.identity.tag, mapIDs: ids)
            }
            guard let ids = Self.sharedMaps(all, tag: probe.identity.tag) else { return nil }
            state.attachedMaps = ids
            return ProgramIdentity(name: probe.identity.name, tag: probe.identity.tag, mapIDs: ids)
        }
    }

    /// The map set most instances with `tag` use (ties: the lowest ids, so
    /// every run picks the same); nil when no instance has this tag.
    static func sharedMaps(_ all: [Int32: [(filter: TCFilter, info: ProgramInfo)]], tag: [UInt8]?) -> [UInt32]? {
        var count: [[UInt32]: Int] = [:]
        for (_, found) in all {
            for f in found where tag == nil || f.info.identity.tag == tag! { count[f.info.identity.mapIDs, default: 0] += 1 }
        }
        return count.max { a, b in a.value != b.value ? a.value < b.value : a.key.lexicographicallyPrecedes(b.key) == false }?.key
    }

    // MARK: RouterAttacher

    public func state(ifindex: Int32) throws -> RouterAttachState {
        try routerState(ifindex: ifindex)
    }

    /// One qdisc dump finds the interfaces with clsact; only their filters
    /// are listed, over one socket.
    public func states(of links: [(ifindex: Int32, name: String)]) throws -> [Int32: RouterAttachState] {
        try routerStates(of: links)
    }

    public func routerStates(of links: [(ifindex: Int32, name: String)]) throws(BPFError) -> [Int32: RouterAttachState] {
        let all = try TCIngress.routerInstances(TCIngress.socket("any"))
        // The probe (which needs BPF privileges) loads only if some instance runs.
        let expected = all.isEmpty ? nil : try expectedIdentity(all: all)
        var result: [Int32: RouterAttachState] = [:]
        for l in links {
            let found = (all[l.ifindex] ?? []).map { $0.info.identity == expected }
            result[l.ifindex] = found.isEmpty ? RouterAttachState.none : found == [true] ? .current : .stale
        }
        return result
    }

    @discardableResult
    public func attach(ifindex: Int32, name: String) throws -> Bool {
        try attachRouter(ifindex: ifindex, name: name)
    }

    @discardableResult
    public func detach(ifindex: Int32, name: String, removeClsact: Bool) throws -> Bool {
        try detachRouter(ifindex: ifindex, name: name)
        return removeClsact ? try TCIngress.removeClsactIfEmpty(ifindex: ifindex, name: name) : false
    }

    // MARK: Typed-throws implementations

    public func routerState(ifindex: Int32) throws(BPFError) -> RouterAttachState {
        let name = try interfaceName(ifindex: ifindex)
        return try routerStates(of: [(ifindex, name)])[ifindex] ?? .none
    }

    /// Leaves exactly one current instance at vrfc's slot: nothing happens
    /// when that is already so; an older build at the slot is swapped in
    /// place; instances elsewhere are removed only after the new one runs.
    /// True when this call added the clsact qdisc (the caller records it, so
    /// removing the attachment later can remove the qdisc too).
    @discardableResult
    public func attachRouter(ifindex: Int32, name: String) throws(BPFError) -> Bool {
        try checkInterface(ifindex: ifindex, name: name)
        let program = try program()
        let socket = try TCIngress.socket(name)
        let addedClsact = try TCIngress.ensureClsact(socket, ifindex: ifindex, name: name)
        let filters = try TCIngress.filters(socket, ifindex: ifindex, name: name)
        let ours = try instances(filters: filters, expected: program.identity)
        if ours.count == 1 && ours[0].isCurrent { return addedClsact }

        let atSlot = { (p: UInt16, h: UInt32) in p == Self.priority && h == Self.handle }
        if let holder = filters.first(where: { atSlot($0.priority, $0.handle) }),
            !ours.contains(where: { atSlot($0.priority, $0.handle) })
        {
            throw .slotTaken(
                interface: name, priority: Self.priority, handle: Self.handle,
                holder: holder.kind == "bpf" ? "BPF program id \(holder.programID ?? 0)" : "a \(holder.kind) filter")
        }
        if !ours.contains(where: { atSlot($0.priority, $0.handle) && $0.isCurrent }) {
            try TCIngress.attach(
                socket, programFD: program.programFD, ifindex: ifindex, name: name,
                priority: Self.priority, handle: Self.handle)
        }
        for old in ours where !atSlot(old.priority, old.handle) {
            try TCIngress.detach(socket, ifindex: ifindex, name: name, priority: old.priority, handle: old.handle)
        }

        let after = try instances(filters: TCIngress.filters(socket, ifindex: ifindex, name: name), expected: program.identity)
        guard after.count == 1, after[0].isCurrent else {
            throw .attachUnverified(
                interface: name,
                found: after.isEmpty
                    ? "none"
                    : after.map { "\($0.identity) at priority \($0.priority)" }.joined(separator: ", "))
        }
        return addedClsact
    }

    /// Removes every vrfc router instance; other filters and the clsact
    /// qdisc stay. An interface that no longer exists has nothing to remove.
    public func detachRouter(ifindex: Int32, name: String) throws(BPFError) {
        do {
            try checkInterface(ifindex: ifindex, name: name)
            let socket = try TCIngress.socket(name)
            for old in try instances(filters: TCIngress.filters(socket, ifindex: ifindex, name: name), expected: nil) {
                try TCIngress.detach(socket, ifindex: ifindex, name: name, priority: old.priority, handle: old.handle)
            }
        } catch .interfaceNotFound {
            return
        }
    }

    /// Every vrfc router instance on the interface's ingress hook, in hook
    /// order; `isCurrent` compares with `expected` (nil: none is current).
    public func instances(ifindex: Int32, name: String) throws(BPFError) -> [AttachedRouter] {
        let socket = try TCIngress.socket(name)
        let all = try TCIngress.routerInstances(socket)
        return try instances(
            filters: TCIngress.filters(socket, ifindex: ifindex, name: name),
            expected: all.isEmpty ? nil : expectedIdentity(all: all))
    }

    // MARK: Helpers

    private func instances(filters: [TCFilter], expected: ProgramIdentity?) throws(BPFError) -> [AttachedRouter] {
        var result: [AttachedRouter] = []
        for f in filters where f.kind == "bpf" {
            guard let id = f.programID, let info = try ProgramInfo.read(id: id),
                info.identity.name == VRFC_PROG_NAME_STR
            else { continue }
            result.append(
                AttachedRouter(
                    priority: f.priority, handle: f.handle, programID: id,
                    identity: info.identity, isCurrent: info.identity == expected))
        }
        return result
    }

    /// Refuses to act on an ifindex that is gone or now names another
    /// interface: the op list names interfaces, the kernel wants ifindexes.
    func checkInterface(ifindex: Int32, name: String) throws(BPFError) {
        let actual = try interfaceName(ifindex: ifindex, expected: name)
        if actual != name { throw .interfaceMismatch(name: name, ifindex: ifindex, actual: actual) }
    }

    /// The name the kernel has for `ifindex` in the calling thread's netns.
    func interfaceName(ifindex: Int32, expected: String? = nil) throws(BPFError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard ifindex > 0, if_indextoname(UInt32(ifindex), &buffer) != nil else {
            throw .interfaceNotFound(name: expected ?? "with ifindex \(ifindex)", ifindex: ifindex)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
