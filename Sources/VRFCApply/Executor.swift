import Glibc
import VRFCBPF
import VRFCKernel
import VRFCModel
import VRFCNetlink

public struct ApplyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs a plan's steps against the kernel, in order, one netlink request at a
/// time. Interrupted at any point, the kernel is left in a state the next
/// plan recognises: links under their real names are complete and marked,
/// staging links are deleted and redone.
public struct Executor {
    let socket: NetlinkSocket
    let attacher: (any RouterAttacher)?
    var indexByName: [String: Int32]
    var nextIndex: Int32
    var nextStaging = 0
    /// Called after each step, e.g. to print it.
    var onStep: (Step) -> Void

    public init(socket: NetlinkSocket, snapshot: KernelSnapshot, attacher: (any RouterAttacher)?, onStep: @escaping (Step) -> Void = { _ in }) {
        self.socket = socket
        self.attacher = attacher
        self.onStep = onStep
        indexByName = Dictionary(snapshot.links.map { ($0.name, $0.index) }, uniquingKeysWith: { a, _ in a })
        nextIndex = (snapshot.links.map(\.index).max() ?? 0) + 1
    }

    public mutating func run(_ plan: Plan) throws(ApplyError) {
        do throws(NetlinkError) {
            for step in plan.steps {
                try execute(step)
                onStep(step)
            }
        } catch {
            throw ApplyError("\(error); the links done so far are complete and marked, so rerunning apply continues from here")
        }
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
                try attacher.attach(ifindex: idx, name: name)
            } catch {
                throw NetlinkError("attaching the router program to \(name)", code: nil, kernelMessage: nil, detail: "\(error)")
            }
        case .detach(let name, let index):
            guard let attacher else { return }
            do {
                try attacher.detach(ifindex: index, name: name)
            } catch {
                throw NetlinkError("detaching the router program from \(name)", code: nil, kernelMessage: nil, detail: "\(error)")
            }
        }
    }

    func index(_ name: String, _ op: String) throws(NetlinkError) -> Int32 {
        guard let i = indexByName[name] else { throw NetlinkError(op, code: ENODEV) }
        return i
    }

    mutating func stagingName() -> String {
        while true {
            let n = Ownership.stagingName(nextStaging)
            nextStaging += 1
            if indexByName[n] == nil { return n }
        }
    }

    /// Create under a staging name with everything the kernel takes at
    /// creation, then one request per end that renames it to its real name
    /// together with the marker, addr_gen_mode and bridge-port flags.
    mutating func create(_ c: LinkCreation) throws(NetlinkError) {
        let spec = c.spec
        let staged = stagingName()
        let peerStaged: String? = spec.kind == .veth ? stagingName() : nil
        let masterIndex: Int32? = try spec.master.map { m throws(NetlinkError) in
            try index(m.value, "creating \(spec.name): master \(m)")
        }
        // Our own ifindex choice lets the next requests address the link
        // without a lookup; if another process took the number meanwhile the
        // kernel says EBUSY and the next free one is tried.
        let width: Int32 = peerStaged == nil ? 1 : 2
        var attempt = 0
        while true {
            let kind: NewLink.Kind
            switch spec.kind {
            case .vrf: kind = .vrf(table: c.table ?? 0)
            case .bridge: kind = .bridge
            case .vxlan: kind = .vxlan(c.vxlan!)
            case .veth: kind = .veth(peerIndex: nextIndex + 1, peerName: peerStaged!, peerMTU: UInt32(c.peer?.mtu ?? spec.mtu))
            }
            do throws(NetlinkError) {
                try socket.create(NewLink(index: nextIndex, name: staged, kind: kind, mtu: UInt32(spec.mtu),
                                          mac: c.mac, masterIndex: masterIndex))
                break
            } catch where error.code == EBUSY && attempt < 16 {
                attempt += 1
                nextIndex += width
            }
        }
        let newIndex = nextIndex
        nextIndex += width
        indexByName[staged] = newIndex
        try finalize(index: newIndex, staged: staged, spec: spec)
        if let peer = c.peer, let peerStaged {
            indexByName[peerStaged] = newIndex + 1
            try finalize(index: newIndex + 1, staged: peerStaged, spec: peer)
        }
    }

    mutating func finalize(index: Int32, staged: String, spec: LinkSpec) throws(NetlinkError) {
        let u = LinkUpdate(index: index, name: spec.name.value, alias: Ownership.marker(spec.vrf),
                           addrGenMode: spec.addrGenMode.kernelValue,
                           bridgePort: spec.bridgePort.map { BridgePortFlags(hairpin: $0.hairpin, learning: $0.learning, neighSuppress: $0.neighSuppress) })
        try socket.update(u, describing: "creating \(spec.name) (renaming it from \(staged) with its marker)")
        indexByName[staged] = nil
        indexByName[spec.name.value] = index
    }

    mutating func update(_ c: LinkChanges) throws(NetlinkError) {
        let op = "updating \(c.name)"
        var u = LinkUpdate(index: c.index, alias: c.alias, mtu: c.mtu, mac: c.mac, addrGenMode: c.addrGenMode?.kernelValue)
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
