import Glibc
import VRFCBPF
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// Runs a plan's steps against the kernel, in order. Links, qdiscs and
/// filters go one request at a time: each creation is logged before it is
/// sent, picks an ifindex (retried on EBUSY) and later requests use it.
/// Route and rule steps go in batches (`RoutingGroup`). Interrupted at any
/// point, the kernel is left in a state the next plan recognises: every
/// link vrfc created is marked or in the creation log, so the next run
/// finishes or removes it, and every route and rule carries vrfc's protocol.
public struct Executor {
    let socket: NetlinkSocket
    let attacher: (any RouterAttacher)?
    let log: CreationLog
    let clsact: ClsactRecord?
    var indexByName: [String: Int32]
    var nextIndex: Int32
    /// Called after each step, e.g. to print it.
    var onStep: (Step) -> Void

    public init(
        socket: NetlinkSocket, snapshot: KernelSnapshot, attacher: (any RouterAttacher)?, log: CreationLog,
        clsact: ClsactRecord? = nil, onStep: @escaping (Step) -> Void = { _ in }
    ) {
        self.socket = socket
        self.attacher = attacher
        self.log = log
        self.clsact = clsact
        self.onStep = onStep
        indexByName = Dictionary(snapshot.links.map { ($0.name, $0.index) }, uniquingKeysWith: { a, _ in a })
        nextIndex = (snapshot.links.map(\.index).max() ?? 0) + 1
    }

    public mutating func run(_ plan: Plan) throws(ApplyError) {
        let steps = plan.steps
        // Each route or rule change is built once (its text names it in a refusal).
        let routing = steps.map(\.routing)
        var i = 0
        let resume = "what is done so far is marked or logged, so rerunning apply continues from here"
        var refusal: (refused: [NetlinkError], of: Int, group: String, left: Int)?
        do throws(NetlinkError) {
            while i < steps.count && refusal == nil {
                guard let group = routing[i]?.group else {
                    try execute(steps[i])
                    onStep(steps[i])
                    i += 1
                    continue
                }
                var end = i + 1
                while end < steps.count && routing[end]?.group == group { end += 1 }
                let refused = try batch(steps[i..<end], routing[i..<end])
                if !refused.isEmpty { refusal = (refused, end - i, group.rawValue, steps.count - end) }
                i = end
            }
        } catch {
            throw ApplyError("\(error); " + resume)
        }
        if let refusal {
            // Every refusal, each named by its route or rule: all of the group were tried.
            throw ApplyError(
                "the kernel refused \(refusal.refused.count) of \(refusal.of) \(refusal.group) (each was tried; the others are made):\n"
                    + refusal.refused.map { "  \($0)\n" }.joined() + resume
                    + (refusal.left == 0
                        ? ""
                        : refusal.left == 1
                            ? "; the step after them was not tried" : "; the \(refusal.left) steps after them were not tried"))
        }
        // Every link created by this or an earlier interrupted run now carries its marker.
        log.remove()
    }

    /// Sends the route and rule changes of `run` together; the refusals, in
    /// order (each names its route or rule and the kernel's reason).
    func batch(
        _ run: ArraySlice<Step>, _ routing: ArraySlice<(group: RoutingGroup, change: RoutingChange)?>
    ) throws(NetlinkError) -> [NetlinkError] {
        var refused: [NetlinkError] = []
        for (result, k) in zip(try socket.change(routing.compactMap { $0?.change }), run.indices) {
            if let result { refused.append(result) } else { onStep(run[k]) }
        }
        return refused
    }

    mutating func execute(_ step: Step) throws(NetlinkError) {
        switch step {
        case .delete(let name, let index, _):
            try socket.delete(index: index, name: name)
            indexByName[name] = nil
        case .create(let c):
            try create(c)
        case .update(let u), .adopt(let u):
            try update(u)
        case .up(let name):
            try socket.setUp(index: try index(name, "bringing up \(name)"), name: name)
        case .attach(let name):
            let idx = try index(name, "attaching the router program to \(name)")
            guard let attacher else { return }
            do {
                // Recorded right after the kernel made it, so removing the
                // attachment later can remove the qdisc too.
                if try attacher.attach(ifindex: idx, name: name) {
                    try clsact?.add(ClsactRecord.Entry(index: idx, name: name))
                }
            } catch {
                throw NetlinkError("attaching the router program to \(name)", code: nil, detail: "\(error)")
            }
        case .route, .rule:
            // run() batches these; alone, a step is a batch of one.
            if let refused = try batch([step][...], [step.routing][...]).first { throw refused }
        case .tableNames(let t):
            do throws(ApplyError) {
                try t.file.apply(t.contents)
            } catch {
                throw NetlinkError("writing the table names", code: nil, detail: error.message)
            }
        case .detach(let name, let index, let removeClsact):
            guard let attacher else { return }
            do {
                try attacher.detach(ifindex: index, name: name, removeClsact: removeClsact)
                // Removed, or kept for another filter's sake: either way no longer vrfc's to remove.
                if removeClsact { try clsact?.update(removing: ClsactRecord.Entry(index: index, name: name)) }
            } catch {
                throw NetlinkError("detaching the router program from \(name)", code: nil, detail: "\(error)")
            }
        }
    }

    func index(_ name: String, _ op: String) throws(NetlinkError) -> Int32 {
        guard let i = indexByName[name] else { throw NetlinkError(op, code: ENODEV) }
        return i
    }

    /// Logs, then creates with everything the kernel takes at creation, then
    /// one request per end for what it only takes afterwards: the marker,
    /// addr_gen_mode and the bridge-port flags.
    mutating func create(_ c: LinkCreation) throws(NetlinkError) {
        let spec = c.spec
        let peer = c.peer
        let masterIndex: Int32? = try spec.master.map { m throws(NetlinkError) in
            try index(m.value, "creating \(spec.name): master \(m)")
        }
        // vrfc picks the ifindex (`ip link add ... index N`): the log can name
        // the link before it exists, and later requests need no lookup. If
        // another process took the number meanwhile, the kernel says EBUSY
        // and the next one is tried.
        let width: Int32 = peer == nil ? 1 : 2
        var attempt = 0
        // Proof of this creation on the link itself (LoggedLink).
        let nonce = UInt32.random(in: 1...UInt32.max)
        while true {
            var logged = [
                LoggedLink(
                    index: nextIndex, name: spec.name.value, kind: spec.kind.rawValue, nonce: nonce,
                    peerIndex: peer == nil ? nil : nextIndex + 1)
            ]
            if let peer {
                logged.append(
                    LoggedLink(
                        index: nextIndex + 1, name: peer.name.value, kind: peer.kind.rawValue, nonce: nonce,
                        peerIndex: nextIndex))
            }
            do throws(ApplyError) {
                try log.append(logged)
            } catch {
                throw NetlinkError("creating \(spec.name)", code: nil, detail: error.message)
            }
            let kind: NewLink.Kind
            switch spec.kind {
            case .vrf: kind = .vrf(table: c.table ?? 0)
            case .bridge: kind = .bridge
            case .vxlan: kind = .vxlan(c.vxlan!)
            case .veth: kind = .veth(peerIndex: nextIndex + 1, peerName: peer?.name.value ?? "", peerMTU: UInt32(peer?.mtu ?? spec.mtu))
            }
            do throws(NetlinkError) {
                try socket.create(
                    NewLink(
                        index: nextIndex, name: spec.name.value, kind: kind, mtu: UInt32(spec.mtu),
                        mac: c.mac, masterIndex: masterIndex, group: nonce))
                break
            } catch  where error.code == EBUSY && attempt < 16 {
                attempt += 1
                nextIndex += width
            }
        }
        let newIndex = nextIndex
        nextIndex += width
        try finish(index: newIndex, spec: spec)
        if let peer { try finish(index: newIndex + 1, spec: peer) }
    }

    mutating func finish(index: Int32, spec: LinkSpec) throws(NetlinkError) {
        indexByName[spec.name.value] = index
        // The marker and group 0 land in one request: the link is either
        // still provably half-made (nonce) or marked.
        let u = LinkUpdate(
            index: index, alias: VRFNames(spec.vrf).marker, addrGenMode: spec.addrGenMode.kernelValue,
            bridgePort: spec.bridgePort.map {
                BridgePortFlags(hairpin: $0.hairpin, learning: $0.learning, neighSuppress: $0.neighSuppress)
            },
            group: 0)
        try socket.update(
            u, describing: "creating \(spec.name) (marker, addrgenmode\(spec.bridgePort == nil ? "" : ", bridge port flags"))")
    }

    mutating func update(_ c: LinkChanges) throws(NetlinkError) {
        let op = "updating \(c.name)"
        var u = LinkUpdate(index: c.index, alias: c.alias, mtu: c.mtu, mac: c.mac, addrGenMode: c.addrGenMode?.kernelValue, group: c.group)
        switch c.master {
        case .none?: u.masterIndex = 0
        case .link(let m)?: u.masterIndex = try index(m, "\(op): master \(m)")
        case nil: break
        }
        // Bridge-port flags go through the current master: after enslaving.
        if c.bridgePort != nil && c.master != nil {
            try socket.update(u, describing: op)
            u = LinkUpdate(index: c.index)
        }
        u.bridgePort = c.bridgePort
        try socket.update(u, describing: op)
    }
}

/// Route and rule steps of one group share datagrams. The planner orders
/// routes added or replaced, rules deleted, rules added, routes deleted;
/// within a group every change is a different route or rule, so none waits
/// on another's success (and the kernel still runs them in order); a group
/// starts only once the one before is all done, so no rule points at a
/// table before its route is there.
enum RoutingGroup: String {
    case routeAdditions = "route additions and replacements"
    case ruleDeletions = "rule deletions"
    case ruleAdditions = "rule additions"
    case routeDeletions = "route deletions"
}

extension Step {
    /// A route or rule step's group and its change; nil for every other step.
    var routing: (group: RoutingGroup, change: RoutingChange)? {
        switch self {
        case .route(let r):
            switch r.kind {
            case .add: (.routeAdditions, RoutingChange(.addRoute(r.request, replace: false), "adding route \(r.text)"))
            case .replace: (.routeAdditions, RoutingChange(.addRoute(r.request, replace: true), "replacing route \(r.text)"))
            case .delete: (.routeDeletions, RoutingChange(.deleteRoute(r.request), "deleting route \(r.text)"))
            }
        case .rule(let r):
            switch r.kind {
            case .add: (.ruleAdditions, RoutingChange(.addRule(r.request), "adding rule \(r.text)"))
            case .delete: (.ruleDeletions, RoutingChange(.deleteRule(r.request), "deleting rule \(r.text)"))
            }
        default: nil
        }
    }
}
