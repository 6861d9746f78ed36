import VRFCKernel
import VRFCModel
import VRFCNetlink

/// One attribute as it is and as it will be, for reports. Names follow
/// iproute2's `ip -d link` words.
public struct Change: Codable, Hashable, Sendable, CustomStringConvertible {
    public var attribute: String
    public var from: String?
    public var to: String

    public init(_ attribute: String, from: String? = nil, to: String) {
        self.attribute = attribute
        self.from = from
        self.to = to
    }

    public var description: String {
        if let from { return "\(attribute) \(from) → \(to)" }
        return "\(attribute) \(to)"
    }
}

/// A link to create, with every value resolved for this node (table, MAC,
/// VTEP address and device).
public struct LinkCreation: Sendable, Hashable {
    public var spec: LinkSpec
    public var table: UInt32?
    public var mac: MACAddress?
    public var vxlan: VXLANInfo?
    /// The other end of a veth pair, created in the same request.
    public var peer: LinkSpec?

    public var name: String { spec.name.value }

    /// The creation as a list of settings, for reports.
    public var settings: [Change] {
        var s = [Change("type", to: spec.kind.rawValue)]
        if let table { s.append(Change("table", to: String(table))) }
        if let v = vxlan, let local = v.local {
            s += [
                Change("id", to: String(v.vni)), Change("local", to: IPv4.text(local)),
                Change("dev", to: spec.vxlan?.device.value ?? "?"), Change("dstport", to: String(v.port)),
                Change("vxlan learning", to: onOff(v.learning)),
            ]
        }
        if let peer { s.append(Change("peer", to: peer.name.value)) }
        if let m = spec.master { s.append(Change("master", to: m.value)) }
        s.append(Change("mtu", to: String(spec.mtu)))
        if let mac { s.append(Change("address", to: mac.description)) }
        s.append(Change("addrgenmode", to: spec.addrGenMode.rawValue))
        if let p = spec.bridgePort {
            s += [
                Change("hairpin", to: onOff(p.hairpin)), Change("learning", to: onOff(p.learning)),
                Change("neigh_suppress", to: onOff(p.neighSuppress)),
            ]
        }
        s.append(Change("alias", to: VRFNames(spec.vrf).marker))
        return s
    }
}

/// Attribute changes to an existing link; nil fields stay as they are.
public struct LinkChanges: Sendable, Hashable {
    public enum Master: Sendable, Hashable {
        case none
        case link(String)
    }

    public var name: String
    public var index: Int32
    public var mtu: UInt32?
    public var mac: MACAddress?
    public var master: Master?
    public var addrGenMode: AddrGenMode?
    public var bridgePort: BridgePortFlags?
    public var alias: String?
    /// Back to 0 when finishing a half-made link that still carries its creation nonce.
    public var group: UInt32?
    /// For reports: what each change is from and to.
    public var changes: [Change] = []

    public var isEmpty: Bool {
        mtu == nil && mac == nil && master == nil && addrGenMode == nil && bridgePort == nil && alias == nil && group == nil
    }
}

public enum Step: Sendable, Hashable {
    /// Removes one of vrfc's links (and, for a veth end, its peer).
    case delete(name: String, index: Int32, reason: String)
    /// Boxed, as `rule` is: these two are the large ones, and a plan of a
    /// thousand routes would otherwise move every step at their size.
    indirect case create(LinkCreation)
    case update(LinkChanges)
    /// Writes the marker on a foreign link that matches exactly (`--adopt`).
    case adopt(LinkChanges)
    case up(name: String)
    case attach(name: String)
    /// `removeClsact`: vrfc added the interface's clsact qdisc (its record
    /// says so), so it goes too unless another filter still uses it.
    case detach(name: String, index: Int32, removeClsact: Bool)
    /// A route added, replaced or deleted (RoutePlanner).
    case route(RouteStep)
    /// A policy rule added or deleted.
    indirect case rule(RuleStep)
    /// The owned tables' names for iproute2 written, or removed.
    case tableNames(TableNamesStep)

    public var action: String {
        switch self {
        case .delete: "delete"
        case .create: "create"
        case .update: "update"
        case .adopt: "adopt"
        case .up: "up"
        case .attach: "attach"
        case .detach: "detach"
        case .route(let r): "route \(r.kind.rawValue)"
        case .rule(let r): "rule \(r.kind.rawValue)"
        case .tableNames(let t): t.contents == nil ? "remove" : "write"
        }
    }

    public var link: String {
        switch self {
        case .delete(let name, _, _), .up(let name), .attach(let name), .detach(let name, _, _): name
        case .create(let c): c.name
        case .update(let u), .adopt(let u): u.name
        case .route(let r): r.text
        case .rule(let r): r.text
        case .tableNames(let t): t.file.path
        }
    }

    public var report: StepReport {
        switch self {
        case .delete(_, _, let reason): StepReport(action: action, link: link, reason: reason)
        case .create(let c): StepReport(action: action, link: link, changes: c.settings)
        case .update(let u): StepReport(action: action, link: link, changes: u.changes)
        case .adopt(let u): StepReport(action: action, link: link, reason: "matches vrfc's settings exactly", changes: u.changes)
        case .up: StepReport(action: action, link: link)
        case .attach: StepReport(action: action, link: link, reason: "tc router program, clsact ingress")
        case .detach(_, _, let clsact):
            StepReport(
                action: action, link: link,
                reason: "not listed for the router program any more"
                    + (clsact ? "; the clsact qdisc vrfc added goes too unless another filter uses it" : ""))
        case .route(let r): StepReport(action: action, link: link, reason: r.reason)
        case .rule(let r): StepReport(action: action, link: link, reason: r.reason)
        case .tableNames(let t):
            StepReport(
                action: action, link: link,
                reason: t.contents == nil
                    ? "no owned table has a name"
                    : "table names for iproute2: " + t.names.map { "\($0.table) \($0.name)" }.joined(separator: ", "))
        }
    }
}

public struct StepReport: Codable, Hashable, Sendable, CustomStringConvertible {
    public var action: String
    public var link: String
    public var reason: String?
    public var changes: [Change]?

    public init(action: String, link: String, reason: String? = nil, changes: [Change]? = nil) {
        self.action = action
        self.link = link
        self.reason = reason
        self.changes = changes
    }

    public var description: String {
        var s = action + String(repeating: " ", count: max(1, 8 - action.count)) + link
        if let changes, !changes.isEmpty { s += ": " + changes.map(\.description).joined(separator: ", ") }
        if let reason { s += " (\(reason))" }
        return s
    }
}

/// A link with one of vrfc's prefixes that vrfc leaves alone.
public struct ForeignLink: Codable, Hashable, Sendable {
    public var link: String
    public var kind: String?
    public var why: String
}

/// What apply would do, in execution order, and what it saw but leaves alone.
public struct Plan: Sendable {
    public var steps: [Step] = []
    public var foreign: [ForeignLink] = []
    /// Why apply would refuse; nothing is changed while there is one.
    public var problems: [String] = []
    public var notes: [String] = []
    /// Interfaces that should carry the router program; reported when their
    /// state is unknown (no attacher, or its state could not be read).
    public var routerAttachments: [String] = []
    public var routerAvailable = false
    /// Set when the attacher exists but could not read the state (e.g. an
    /// unprivileged `plan`): not the same as a snapshot taken without one.
    public var routerStateUnreadable = false
    /// Parts of the state that could not be read (an unprivileged plan) and
    /// that this plan depends on: while there is one, it cannot say "in sync".
    public var unreadable: [String] = []
    /// Routes whose link-local gateway could not be resolved from the
    /// neighbour table: skipped (or kept as installed), the rest applied.
    public var unresolved: [String] = []
    /// Links that are not vrfc's but are ports of a link vrfc deletes.
    public var foreignPorts: [ForeignPort] = []
    public var wantedLinks = 0
    public var wantedRoutes = 0
    public var wantedRules = 0

    public var complete: Bool { unreadable.isEmpty }
    public var inSync: Bool { steps.isEmpty && problems.isEmpty && unreadable.isEmpty }
}

/// A link vrfc does not own, enslaved to one of vrfc's links that a plan
/// deletes: the deletion would detach it.
public struct ForeignPort: Codable, Hashable, Sendable {
    public var port: String
    public var master: String
}

/// The machine-readable form of a plan (`plan --json`, `apply --json`).
public struct PlanReport: Codable, Sendable {
    public var inSync: Bool
    public var changes: [StepReport]
    public var problems: [String]
    public var foreign: [ForeignLink]
    public var notes: [String]
    public var routerAttachment: RouterReport
    /// False when part of the state could not be read; `unreadable` says what.
    public var complete: Bool
    public var unreadable: [String]
    public var foreignPorts: [ForeignPort]
    /// Routes left out because their link-local gateway is unknown (they
    /// keep `inSync` false here, for machines).
    public var unresolved: [String]

    public struct RouterReport: Codable, Sendable {
        public var available: Bool
        public var interfaces: [String]
    }

    public init(_ plan: Plan) {
        inSync = plan.inSync && plan.unresolved.isEmpty
        changes = plan.steps.map(\.report)
        problems = plan.problems
        foreign = plan.foreign
        notes = plan.notes
        routerAttachment = RouterReport(available: plan.routerAvailable, interfaces: plan.routerAttachments)
        complete = plan.complete
        unreadable = plan.unreadable
        foreignPorts = plan.foreignPorts
        unresolved = plan.unresolved
    }
}

func onOff(_ b: Bool) -> String { b ? "on" : "off" }

enum IPv4 {
    static func text(_ bytes: [UInt8]) -> String { bytes.map(String.init).joined(separator: ".") }
}
