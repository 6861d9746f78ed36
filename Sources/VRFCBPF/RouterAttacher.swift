/// What the applier needs from the tc router program, and nothing more: the
/// narrow interface between `VRFCApply` and the libbpf code of this module.
public protocol RouterAttacher {
    /// The router program's state on the clsact ingress hook of `ifindex`.
    func state(ifindex: Int32) throws -> RouterAttachState
    /// The states of many interfaces at once (a snapshot asks for all).
    func states(of links: [(ifindex: Int32, name: String)]) throws -> [Int32: RouterAttachState]
    /// Leaves exactly one instance of the current program attached; a stale
    /// one is replaced without a window where none runs. True when this call
    /// added the clsact qdisc.
    @discardableResult
    func attach(ifindex: Int32, name: String) throws -> Bool
    /// Removes vrfc's program from the interface; foreign filters stay. With
    /// `removeClsact` (the caller knows it added the qdisc) the clsact qdisc
    /// goes too, unless some other filter still uses it; true when it went.
    @discardableResult
    func detach(ifindex: Int32, name: String, removeClsact: Bool) throws -> Bool
}

extension RouterAttacher {
    /// Removes vrfc's program and leaves the clsact qdisc.
    public func detach(ifindex: Int32, name: String) throws {
        try detach(ifindex: ifindex, name: name, removeClsact: false)
    }

    public func states(of links: [(ifindex: Int32, name: String)]) throws -> [Int32: RouterAttachState] {
        var result: [Int32: RouterAttachState] = [:]
        for l in links { result[l.ifindex] = try state(ifindex: l.ifindex) }
        return result
    }
}

public enum RouterAttachState: String, Sendable, Codable, Equatable {
    /// No vrfc router program on the hook.
    case none
    /// This build's program, exactly once.
    case current
    /// A vrfc router program of another build, or more than one instance.
    case stale
}
