import Glibc
import VRFCBPF
import VRFCNetlink

/// Everything plan and apply need to know about the live kernel, read in
/// one go (three netlink dumps), so the plan itself is a pure function.
public struct KernelSnapshot: Sendable {
    public var links: [Link]
    public var ipv4Addresses: [Address]
    /// Tables referenced by policy rules (a table in use by a rule is not free).
    public var ruleTables: Set<UInt32>
    /// The router program's state per ifindex; nil when this build has no attacher.
    public var routerStates: [Int32: RouterAttachState]?
    /// Why router states could not be read, when they could not.
    public var routerStateError: String?
    /// Creations logged by an apply that may have been interrupted.
    public var logged: Set<LoggedLink>

    public init(links: [Link], ipv4Addresses: [Address] = [], ruleTables: Set<UInt32> = [],
                routerStates: [Int32: RouterAttachState]? = nil, routerStateError: String? = nil,
                logged: Set<LoggedLink> = []) {
        self.links = links
        self.ipv4Addresses = ipv4Addresses
        self.ruleTables = ruleTables
        self.routerStates = routerStates
        self.routerStateError = routerStateError
        self.logged = logged
    }

    public static func read(_ socket: NetlinkSocket, attacher: (any RouterAttacher)?, log: CreationLog?) throws(NetlinkError) -> KernelSnapshot {
        let links = try socket.links()
        var snapshot = KernelSnapshot(links: links, ipv4Addresses: try socket.addresses(family: AF_INET),
                                      ruleTables: try socket.ruleTables(), logged: log?.entries() ?? [])
        if let attacher {
            var states: [Int32: RouterAttachState] = [:]
            do {
                states = try attacher.states(of: links.map { ($0.index, $0.name) })
                snapshot.routerStates = states
            } catch {
                snapshot.routerStateError = "\(error)"
            }
        }
        return snapshot
    }
}
