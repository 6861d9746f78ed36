import Foundation
import Glibc
import VRFCBPF
import VRFCKernel
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
    /// The interfaces where vrfc added the clsact qdisc.
    public var clsactAdded: Set<ClsactRecord.Entry>
    /// State files that could not be read (an unprivileged plan), by what
    /// they are for; they matter only when the plan needs them.
    public var logUnreadable: String?
    public var clsactRecordUnreadable: String?
    /// State files that are not safe to trust: apply and plan refuse.
    public var stateProblems: [String]
    /// The routes that are vrfc's or may stand in its way (`routes(_:for:)`:
    /// every route of every table when read without an op list), and every
    /// policy rule.
    public var routes: [KernelRoute] = []
    public var rules: [KernelRule] = []
    /// net.ipv4.fib_multipath_use_neigh of the namespace; nil when unreadable.
    public var multipathUseNeigh: Bool?
    /// The IPv4 neighbour table, read only for `linkLocalOf` nexthops; nil
    /// when not read, with `neighbourError` saying why when reading failed.
    public var neighbours: [KernelNeighbour]?
    public var neighbourError: String?
    /// The table-names file for iproute2 and what it holds; nil when vrfc
    /// does not keep it in this run.
    public var tableNames: (file: TableNamesFile, state: TableNamesFile.State)?

    public init(
        links: [Link], ipv4Addresses: [Address] = [], ruleTables: Set<UInt32> = [],
        routerStates: [Int32: RouterAttachState]? = nil, routerStateError: String? = nil,
        logged: Set<LoggedLink> = [], clsactAdded: Set<ClsactRecord.Entry> = []
    ) {
        self.links = links
        self.ipv4Addresses = ipv4Addresses
        self.ruleTables = ruleTables
        self.routerStates = routerStates
        self.routerStateError = routerStateError
        self.logged = logged
        self.clsactAdded = clsactAdded
        stateProblems = []
    }

    /// `routesFor`: read only the routes a plan of this op list must see
    /// (kernel-filtered dumps, `routes(_:for:)`); nil reads every route.
    public static func read(
        _ socket: NetlinkSocket, attacher: (any RouterAttacher)?, log: CreationLog?,
        clsact: ClsactRecord? = nil, routesFor ops: OpList? = nil
    ) throws(NetlinkError) -> KernelSnapshot {
        let links = try socket.links()
        var snapshot = KernelSnapshot(links: links, ipv4Addresses: try socket.addresses(family: AF_INET))
        try snapshot.readRoutesAndRules(socket, for: ops)
        if let log {
            do throws(StateFileError) {
                snapshot.logged = try log.entries()
            } catch {
                switch error {
                case .unreadable(let why): snapshot.logUnreadable = why
                case .unsafe(let why): snapshot.stateProblems.append("creation log: \(why)")
                }
            }
        }
        if let clsact {
            do throws(StateFileError) {
                snapshot.clsactAdded = try clsact.entries()
            } catch {
                switch error {
                case .unreadable(let why): snapshot.clsactRecordUnreadable = why
                case .unsafe(let why): snapshot.stateProblems.append("clsact record: \(why)")
                }
            }
        }
        if let attacher {
            do {
                snapshot.routerStates = try attacher.states(of: links.map { ($0.index, $0.name) })
            } catch {
                snapshot.routerStateError = "\(error)"
            }
        }
        return snapshot
    }

    /// Reads (again) the rules, the routes and the multipath sysctl: all
    /// of the snapshot that route and rule steps change.
    public mutating func readRoutesAndRules(_ socket: NetlinkSocket, for ops: OpList?) throws(NetlinkError) {
        (rules, ruleTables) = try socket.rulesAndTables()
        if let ops { routes = try Self.routes(socket, for: ops) } else { routes = try socket.routes() }
        // /proc/sys/net is the calling thread's network namespace.
        if let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/fib_multipath_use_neigh", encoding: .utf8) {
            multipathUseNeigh = text.split(whereSeparator: \.isWhitespace) != ["0"]  // (no Foundation CharacterSet: costly first use)
        }
    }

    /// What apply does first: forgets log entries that are resolved (the
    /// link is gone, marked, or not the one logged) and clsact entries whose
    /// interface is gone or renamed, so an entry can never claim a link made
    /// later by someone else.
    public func compact(log: CreationLog, clsact: ClsactRecord) throws(ApplyError) {
        let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        let unresolved = logged.filter { e in byIndex[e.index].map { e.matches($0, byIndex: byIndex) } ?? false }
        if unresolved != logged { try log.retain(unresolved) }
        let present = clsactAdded.filter { byIndex[$0.index]?.name == $0.name }
        if present != clsactAdded { try clsact.replace(present) }
    }
}
