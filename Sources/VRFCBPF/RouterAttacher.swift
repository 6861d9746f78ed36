/// What the applier needs from the tc router program, and nothing more: the
/// narrow interface between `VRFCApply` and the libbpf code of this module.
public protocol RouterAttacher {
    /// The router program's state on the clsact ingress hook of `ifindex`.
    func state(ifindex: Int32) throws -> RouterAttachState
    /// The states of many interfaces at once (a snapshot asks for all).
    func states(of links: [(ifindex: Int32, name: String)]) throws -> [Int32: RouterAttachState]
    /// Leaves exactly one instance of the current program attached; a stale
    /// one is replaced without a window where none runs.
    func attach(ifindex: Int32, name: String) throws
    /// Removes vrfc's program from the interface; foreign filters stay.
    func detach(ifindex: Int32, name: String) throws
}

extension RouterAttacher {
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
