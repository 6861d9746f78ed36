import CBPF
import Glibc
import Synchronization

/// One vrfc router instance found on an interface's clsact ingress hook.
public struct AttachedRouter: Hashable, Sendable {
    public var priority: UInt16
    public var handle: UInt32
    public var programID: UInt32
    public var identity: ProgramIdentity
    /// This build's program, counting into the pinned maps.
    public var isCurrent: Bool
}

/// The real `RouterAttacher`: the embedded router program on clsact
/// ingress through libbpf, with its maps pinned under `pinDirectory`.
///
/// Works in the calling thread's network namespace (netlink sockets are
/// opened per call). The program is loaded on first use and then shared by
/// every interface: one program, one set of counters. `state` alone loads
/// an unpinned copy just to learn this build's tag, so `plan` pins nothing.
public final class TCRouterAttacher: RouterAttacher, Sendable {
    public static let defaultPinDirectory = RouterStats.defaultPinDirectory
    /// vrfc's slot on the hook (bpf/router.h).
    public static let priority = UInt16(VRFC_TC_PRIORITY)
    public static let handle = UInt32(VRFC_TC_HANDLE)

    public let object: RouterObject
    public let pinDirectory: String
    private let loaded = Mutex<(pinned: RouterProgram?, probe: RouterProgram?)>((nil, nil))

    public init(object: RouterObject = .embedded, pinDirectory: String = TCRouterAttacher.defaultPinDirectory) {
        self.object = object
        self.pinDirectory = pinDirectory
    }

    /// The loaded, pinned program (loading it on first use).
    public func program() throws(BPFError) -> RouterProgram {
        try loaded.withLock { (state) throws(BPFError) -> RouterProgram in
            if let p = state.pinned { return p }
            let p = try RouterProgram(object: object, pinDirectory: pinDirectory)
            state = (p, nil)
            return p
        }
    }

    /// This build's identity with the pinned maps; nil when the maps are not
    /// pinned yet, so no attached instance can be current.
    private func expectedIdentity() throws(BPFError) -> ProgramIdentity? {
        try loaded.withLock { (state) throws(BPFError) -> ProgramIdentity? in
            if let p = state.pinned { return p.identity }
            let probe: RouterProgram
            if let p = state.probe { probe = p } else { probe = try RouterProgram(object: object, pinDirectory: nil) }
            state.probe = probe
            guard let ids = PinnedMaps.ids(in: pinDirectory) else { return nil }
            return ProgramIdentity(name: probe.identity.name, tag: probe.identity.tag, mapIDs: ids)
        }
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
        let socket = try TCIngress.RouteSocket(interface: "any")
        let withClsact = try TCIngress.interfacesWithClsact(socket)
        var result: [Int32: RouterAttachState] = [:]
        var expected: ProgramIdentity?? = nil  // loaded only if some interface has clsact
        for l in links {
            guard withClsact.contains(l.ifindex) else {
                result[l.ifindex] = RouterAttachState.none
                continue
            }
            if expected == nil { expected = .some(try expectedIdentity()) }
            let found = try instances(filters: socket.filters(ifindex: l.ifindex, name: l.name), expected: expected!)
            result[l.ifindex] = found.isEmpty ? RouterAttachState.none : found.count == 1 && found[0].isCurrent ? .current : .stale
        }
        return result
    }

    public func attach(ifindex: Int32, name: String) throws {
        try attachRouter(ifindex: ifindex, name: name)
    }

    public func detach(ifindex: Int32, name: String) throws {
        try detachRouter(ifindex: ifindex, name: name)
    }

    // MARK: Typed-throws implementations

    public func routerState(ifindex: Int32) throws(BPFError) -> RouterAttachState {
        let name = try interfaceName(ifindex: ifindex)
        let found = try instances(ifindex: ifindex, name: name, expected: expectedIdentity())
        if found.isEmpty { return .none }
        return found.count == 1 && found[0].isCurrent ? .current : .stale
    }

    /// Leaves exactly one current instance at vrfc's slot: nothing happens
    /// when that is already so; an older build at the slot is swapped in
    /// place; instances elsewhere are removed only after the new one runs.
    public func attachRouter(ifindex: Int32, name: String) throws(BPFError) {
        try checkInterface(ifindex: ifindex, name: name)
        let program = try program()
        try TCIngress.ensureClsact(ifindex: ifindex, name: name)
        let filters = try TCIngress.filters(ifindex: ifindex, name: name)
        let ours = try instances(filters: filters, expected: program.identity)
        if ours.count == 1 && ours[0].isCurrent { return }

        let atSlot = { (p: UInt16, h: UInt32) in p == Self.priority && h == Self.handle }
        if let holder = filters.first(where: { atSlot($0.priority, $0.handle) }),
           !ours.contains(where: { atSlot($0.priority, $0.handle) }) {
            throw .slotTaken(interface: name, priority: Self.priority, handle: Self.handle,
                             holder: holder.kind == "bpf" ? "BPF program id \(holder.programID ?? 0)" : "a \(holder.kind) filter")
        }
        if !ours.contains(where: { atSlot($0.priority, $0.handle) && $0.isCurrent }) {
            try TCIngress.attach(programFD: program.programFD, ifindex: ifindex, name: name,
                                 priority: Self.priority, handle: Self.handle)
        }
        for old in ours where !atSlot(old.priority, old.handle) {
            try TCIngress.detach(ifindex: ifindex, name: name, priority: old.priority, handle: old.handle)
        }

        let after = try instances(ifindex: ifindex, name: name, expected: program.identity)
        guard after.count == 1, after[0].isCurrent else {
            throw .attachUnverified(interface: name, found: after.isEmpty ? "none"
                : after.map { "\($0.identity) at priority \($0.priority)" }.joined(separator: ", "))
        }
    }

    /// Removes every vrfc router instance; other filters and the clsact
    /// qdisc stay. An interface that no longer exists has nothing to remove.
    public func detachRouter(ifindex: Int32, name: String) throws(BPFError) {
        do {
            try checkInterface(ifindex: ifindex, name: name)
            for old in try instances(ifindex: ifindex, name: name, expected: nil) {
                try TCIngress.detach(ifindex: ifindex, name: name, priority: old.priority, handle: old.handle)
            }
        } catch .interfaceNotFound {
            return
        }
    }

    /// Every vrfc router instance on the interface's ingress hook, in hook
    /// order; `isCurrent` compares with `expected` (nil: none is current).
    public func instances(ifindex: Int32, name: String) throws(BPFError) -> [AttachedRouter] {
        try instances(ifindex: ifindex, name: name, expected: expectedIdentity())
    }

    /// Makes the FIB lookup for packets arriving on `ingress` use the
    /// context (VRF, rules) of `lookup`; nil restores the default.
    public func setLookupIfindex(_ lookup: Int32?, forIngress ingress: Int32) throws(BPFError) {
        try program().setLookupIfindex(lookup, forIngress: ingress)
    }

    // MARK: Helpers

    private func instances(ifindex: Int32, name: String, expected: ProgramIdentity?) throws(BPFError) -> [AttachedRouter] {
        try instances(filters: TCIngress.filters(ifindex: ifindex, name: name), expected: expected)
    }

    private func instances(filters: [IngressFilter], expected: ProgramIdentity?) throws(BPFError) -> [AttachedRouter] {
        var result: [AttachedRouter] = []
        for f in filters where f.kind == "bpf" {
            guard let id = f.programID, let info = try ProgramInfo.read(id: id),
                  info.identity.name == VRFC_PROG_NAME_STR else { continue }
            result.append(AttachedRouter(priority: f.priority, handle: f.handle, programID: id,
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
