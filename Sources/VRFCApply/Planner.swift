import VRFCKernel
import VRFCModel
import VRFCNetlink

public struct PlanOptions: Sendable {
    /// Take over foreign links that have vrfc's names and exactly vrfc's
    /// settings (a node the Go network-operator managed) by writing the marker.
    public var adopt: Bool
    /// Delete vrfc's bridges and VRFs even when foreign links are enslaved
    /// to them (the deletion detaches those ports).
    public var force: Bool

    public init(adopt: Bool = false, force: Bool = false) {
        self.adopt = adopt
        self.force = force
    }
}

/// Op list + live kernel → the steps that make the kernel match. Pure: the
/// same inputs give the same plan, and nothing here touches a kernel.
///
/// Execution order: (1) links that must be re-created (or whose VNI a new
/// link needs) are deleted; (2) links are created or changed in op-list
/// order, masters first; (3) the router program is attached/detached;
/// (4) links are brought up; (5) vrfc's links that are no longer wanted are
/// deleted last, once nothing refers to them.
public enum Planner {
    public static func plan(_ ops: OpList, _ snapshot: KernelSnapshot, options: PlanOptions = PlanOptions()) -> Plan {
        // Link-local gateways known only from the neighbour table (LinkLocalNexthops).
        let (resolved, unresolved, problems) = LinkLocalNexthops.resolve(ops, snapshot)
        var p = PlanBuilder(ops: resolved, snapshot: snapshot, options: options)
        p.plan.unresolved = unresolved
        p.plan.problems = problems
        return p.build()
    }
}

/// The resolved underlay: the VTEP device and its one IPv4 address.
struct Underlay {
    let link: Link
    let address: [UInt8]
}

struct PlanBuilder {
    let ops: OpList
    let snap: KernelSnapshot
    let options: PlanOptions

    var plan = Plan()
    let byName: [String: Link]
    let byIndex: [Int32: Link]
    let wanted: [String: LinkSpec]

    /// Links with vrfc's names and marker.
    var ours: [String: Link] = [:]
    /// Links with vrfc's names but no marker, whose names the op list wants.
    var squatters: [String: Link] = [:]
    var underlay: Underlay?

    /// Unmarked links claimed through the creation log: their nonce group goes back to 0.
    var claimed: [Int32: UInt32] = [:]

    enum Fate { case create, keep, adopt }
    var fates: [String: Fate] = [:]
    var early: [Step] = []
    var earlyIndexes: Set<Int32> = []

    init(ops: OpList, snapshot: KernelSnapshot, options: PlanOptions) {
        self.ops = ops
        self.snap = snapshot
        self.options = options
        byName = Dictionary(snapshot.links.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        byIndex = Dictionary(snapshot.links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        wanted = Dictionary(ops.links.map { ($0.name.value, $0) }, uniquingKeysWith: { a, _ in a })
    }

    mutating func build() -> Plan {
        plan.wantedLinks = ops.links.count
        plan.problems += snap.stateProblems
        classify()
        resolveUnderlay()
        decideFates()
        planVNIConflicts()
        let tables = allocateTables()
        var steps = early
        var created: Set<String> = []
        for spec in ops.links {
            let name = spec.name.value
            switch fates[name] {
            case .create:
                guard !created.contains(name) else { continue }  // the peer of a pair made with its other end
                var c = LinkCreation(spec: spec, table: tables[name], mac: desiredMAC(spec), vxlan: desiredVXLAN(spec))
                if spec.kind == .veth, let peer = spec.peer.flatMap({ wanted[$0.value] }) {
                    c.peer = peer
                    created.insert(peer.name.value)
                }
                created.insert(name)
                steps.append(.create(c))
            case .keep:
                let live = byName[name]!
                let u = changes(spec, live)
                if !u.isEmpty { steps.append(.update(u)) }
                if let t = live.vrfTable, !ops.tableRange.contains(t) {
                    plan.notes.append(
                        "\(name) keeps table \(t), outside the range \(ops.tableRange): an existing VRF's table never changes")
                }
            case .adopt:
                let live = byName[name]!
                var u = LinkChanges(name: name, index: live.index)
                u.alias = VRFNames(spec.vrf).marker
                u.changes = [Change("alias", from: live.alias ?? "(none)", to: u.alias!)]
                if let t = live.vrfTable { u.changes.append(Change("table", to: "\(t) (kept)")) }
                steps.append(.adopt(u))
            case nil:
                break  // refused (squatter); a problem says why
            }
        }
        steps += routerSteps(created: created)
        for spec in ops.links {
            let name = spec.name.value
            if created.contains(name) || (fates[name] != nil && byName[name].map { !$0.isUp } == true) {
                steps.append(.up(name: name))
            }
        }
        routeSteps(into: &steps)
        steps += tableNamesSteps()
        steps += staleDeletions()
        plan.steps = plan.problems.isEmpty ? steps : []
        return plan
    }

    // MARK: Ownership

    mutating func classify() {
        var unmarked: [String] = []
        for l in snap.links where Ownership.hasOwnedPrefix(l.name) {
            // An unmarked link that an interrupted apply logged before creating
            // it is ours, when it is exactly the link that creation made.
            let logged = l.alias == nil ? snap.logged.first(where: { $0.matches(l, byIndex: byIndex) }) : nil
            if l.alias == nil { unmarked.append(l.name) }
            if Ownership.isMarked(l.alias) || logged != nil {
                ours[l.name] = l
                if let logged { claimed[l.index] = logged.nonce }
            } else if wanted[l.name] != nil {
                squatters[l.name] = l
            } else {
                plan.foreign.append(ForeignLink(link: l.name, kind: l.kind, why: foreignWhy(l)))
            }
        }
        if let why = snap.logUnreadable, !unmarked.isEmpty {
            plan.unreadable.append(
                "the creation log (\(why)): without it, whether \(unmarked.joined(separator: ", ")) (vrfc's names, no marker) are half-made links of an interrupted apply cannot be told"
            )
        }
    }

    func foreignWhy(_ l: Link) -> String {
        l.alias.map { "alias '\($0)' is not vrfc's marker" } ?? "no vrfc marker (alias \(VRFNames.markerPrefix)...)"
    }

    // MARK: Underlay

    mutating func resolveUnderlay() {
        guard ops.links.contains(where: { $0.vxlan != nil || $0.macFromUnderlay }) else { return }
        let name = ops.underlay.value
        guard let link = byName[name] else {
            plan.problems.append(
                "underlay \(name) does not exist: the VTEP address and the bridges' MACs come from its IPv4 address; create it (e.g. ip link add \(name) type dummy; ip address add 192.0.2.129/32 dev \(name)) or name another interface with --underlay"
            )
            return
        }
        let addrs = snap.ipv4Addresses.filter { $0.index == link.index }
        if addrs.isEmpty {
            plan.problems.append(
                "underlay \(name) has no IPv4 address: the VTEP address comes from it; add exactly one (ip address add ADDR/32 dev \(name))"
            )
        } else if addrs.count > 1 {
            plan.problems.append(
                "underlay \(name) has \(addrs.count) IPv4 addresses (\(addrs.map(\.description).joined(separator: ", "))): the VTEP address must be unambiguous; keep exactly one"
            )
        } else {
            underlay = Underlay(link: link, address: addrs[0].bytes)
        }
        if let mtu = ops.links.filter({ $0.kind == .vxlan }).map(\.mtu).max(), Int(link.mtu) < mtu + OpList.vxlanOverhead {
            plan.problems.append(
                "underlay \(name) has MTU \(link.mtu): VXLAN links of MTU \(mtu) need at least \(mtu + OpList.vxlanOverhead) on their lower device (VXLAN over IPv4 adds \(OpList.vxlanOverhead) bytes, and the kernel would silently cap them); set its MTU to \(mtu + OpList.vxlanOverhead) or more"
            )
        }
    }

    func desiredMAC(_ s: LinkSpec) -> MACAddress? {
        guard s.macFromUnderlay, let u = underlay else { return nil }
        return MACAddress([0x02, 0x54] + u.address)
    }

    func desiredVXLAN(_ s: LinkSpec) -> VXLANInfo? {
        s.vxlan.map {
            VXLANInfo(vni: $0.vni, local: underlay?.address, linkIndex: underlay?.link.index, port: $0.dstPort, learning: $0.learning)
        }
    }

    // MARK: Fates

    /// What is wrong with an existing link that only re-creating fixes
    /// (its type or VXLAN settings cannot be changed in place).
    func structuralDiffs(_ s: LinkSpec, _ l: Link) -> [String] {
        guard l.kind == s.kind.rawValue else { return ["type \(l.kind ?? "(none)"), want \(s.kind.rawValue)"] }
        guard let want = desiredVXLAN(s) else { return [] }
        guard let have = l.vxlan else { return ["no VXLAN settings"] }
        var d: [String] = []
        if have.vni != want.vni { d.append("id \(have.vni), want \(want.vni)") }
        if have.port != want.port { d.append("dstport \(have.port), want \(want.port)") }
        if have.learning != want.learning { d.append("vxlan learning \(onOff(have.learning)), want \(onOff(want.learning))") }
        if let local = want.local, have.local != local {
            d.append("local \(have.local.map(IPv4.text) ?? "(none)"), want \(IPv4.text(local))")
        }
        if let dev = want.linkIndex, have.linkIndex != dev {
            d.append("dev \(have.linkIndex.flatMap { byIndex[$0]?.name } ?? "(none)"), want \(ops.underlay)")
        }
        return d
    }

    /// The name of a link's master once the early deletions are done.
    func masterName(_ l: Link) -> String? {
        guard let m = l.masterIndex, !earlyIndexes.contains(m) else { return nil }
        return byIndex[m]?.name
    }

    /// Attribute changes that make `l` match `s` in place.
    func changes(_ s: LinkSpec, _ l: Link) -> LinkChanges {
        var u = LinkChanges(name: s.name.value, index: l.index)
        if l.mtu != UInt32(s.mtu) {
            u.mtu = UInt32(s.mtu)
            u.changes.append(Change("mtu", from: String(l.mtu), to: String(s.mtu)))
        }
        if let mac = desiredMAC(s), l.mac != mac {
            u.mac = mac
            u.changes.append(Change("address", from: l.mac?.description ?? "(none)", to: mac.description))
        }
        let have = masterName(l)
        if have != s.master?.value {
            u.master = s.master.map { .link($0.value) } ?? LinkChanges.Master.none
            u.changes.append(Change("master", from: have ?? "(none)", to: s.master?.value ?? "(none)"))
        }
        if let mode = l.addrGenMode, mode != s.addrGenMode.kernelValue {
            u.addrGenMode = s.addrGenMode
            u.changes.append(
                Change("addrgenmode", from: mode == 0 ? "eui64" : mode == 1 ? "none" : String(mode), to: s.addrGenMode.rawValue))
        }
        if let want = s.bridgePort {
            let wantFlags = BridgePortFlags(hairpin: want.hairpin, learning: want.learning, neighSuppress: want.neighSuppress)
            // A new master means a new bridge port with the kernel's defaults.
            let haveFlags = u.master == nil ? l.bridgePort : nil
            if haveFlags != wantFlags {
                u.bridgePort = wantFlags
                for (attr, h, w) in [
                    ("hairpin", haveFlags?.hairpin, want.hairpin), ("learning", haveFlags?.learning, want.learning),
                    ("neigh_suppress", haveFlags?.neighSuppress, want.neighSuppress),
                ] where h != w {
                    u.changes.append(Change(attr, from: h.map(onOff) ?? "(not a port)", to: onOff(w)))
                }
            }
        }
        let marker = VRFNames(s.vrf).marker
        if l.alias != marker {
            u.alias = marker
            u.changes.append(Change("alias", from: l.alias ?? "(none)", to: marker))
        }
        if let nonce = claimed[l.index], l.group == nonce {
            u.group = 0
            u.changes.append(Change("group", from: String(nonce), to: "0"))
        }
        return u
    }

    /// Why a foreign link is not an exact match for adoption (empty: it is).
    func adoptionDiffs(_ s: LinkSpec, _ l: Link) -> [String] {
        var d = structuralDiffs(s, l)
        guard d.isEmpty else { return d }
        d += changes(s, l).changes.filter { $0.attribute != "alias" }.map { "\($0.attribute) \($0.from ?? "(none)"), want \($0.to)" }
        if let t = l.vrfTable, t == 0 || TableRange.kernelTables.contains(t) {
            d.append("table \(t) is one of the kernel's own")
        }
        return d
    }

    mutating func earlyDelete(_ l: Link, _ reason: String) {
        guard !earlyIndexes.contains(l.index), let reason = foreignPortsAllowDeleting(l, reason) else { return }
        early.append(.delete(name: l.name, index: l.index, reason: reason))
        earlyIndexes.insert(l.index)
    }

    /// Deleting a bridge or VRF detaches every port still enslaved to it.
    /// Ports that are not vrfc's are reported, and the deletion is refused
    /// unless `--force`; returns the (possibly extended) reason, or nil when refused.
    mutating func foreignPortsAllowDeleting(_ l: Link, _ reason: String) -> String? {
        let ports = snap.links.filter { $0.masterIndex == l.index && ours[$0.name]?.index != $0.index }.map(\.name).sorted()
        guard !ports.isEmpty else { return reason }
        plan.foreignPorts += ports.map { ForeignPort(port: $0, master: l.name) }
        let list = ports.joined(separator: ", ")
        if options.force {
            return reason + "; --force: detaches \(list), which \(ports.count == 1 ? "is" : "are") not vrfc's"
        }
        plan.problems.append(
            "\(l.name) is to be deleted (\(reason)), but \(list) \(ports.count == 1 ? "is a port" : "are ports") of it and not vrfc's; deleting it would detach \(ports.count == 1 ? "it" : "them"): move \(ports.count == 1 ? "it" : "them") elsewhere first, or rerun with --force"
        )
        return nil
    }

    /// Deleting a veth end deletes its peer too: refuse when that peer is not
    /// vrfc's, so deleting our link never takes a foreign one with it.
    mutating func vethDeletionIsSafe(_ l: Link) -> Bool {
        guard l.kind == "veth" else { return true }
        if l.linkInOtherNamespace {
            plan.problems.append(
                "\(l.name) is paired with a link in another network namespace; deleting it would delete that one too: move or delete the pair by hand"
            )
            return false
        }
        if let peerIndex = l.linkIndex, let peer = byIndex[peerIndex], ours[peer.name] == nil {
            plan.problems.append(
                "\(l.name) is paired with \(peer.name), which is not vrfc's; deleting it would delete \(peer.name) too: delete or re-pair them by hand"
            )
            return false
        }
        return true
    }

    mutating func refuseSquatter(_ s: LinkSpec, _ l: Link) {
        var msg =
            "\(l.name) exists (\(l.kind ?? "no type")) but is not vrfc's: \(foreignWhy(l)); vrfc does not take over links it did not create"
        if options.adopt {
            let d = adoptionDiffs(s, l)
            msg += d.isEmpty ? "" : "; --adopt needs an exact match, but: \(d.joined(separator: "; "))"
        } else {
            msg += "; if the Go network-operator made it with the same settings, rerun with --adopt, otherwise remove or rename it"
        }
        plan.problems.append(msg)
    }

    mutating func decideFates() {
        var done: Set<String> = []
        for spec in ops.links {
            let name = spec.name.value
            guard !done.contains(name) else { continue }
            if spec.kind == .veth, let peerName = spec.peer?.value, let peerSpec = wanted[peerName] {
                done.formUnion([name, peerName])
                decidePair(spec, peerSpec)
                continue
            }
            done.insert(name)
            if let l = squatters[name] {
                if options.adopt && adoptionDiffs(spec, l).isEmpty {
                    fates[name] = .adopt
                } else {
                    refuseSquatter(spec, l)
                }
            } else if let l = ours[name] {
                let d = structuralDiffs(spec, l)
                if d.isEmpty {
                    fates[name] = .keep
                } else {
                    earlyDelete(l, "to re-create it: " + d.joined(separator: ", "))
                    fates[name] = .create
                }
            } else {
                fates[name] = .create
            }
        }
    }

    mutating func decidePair(_ a: LinkSpec, _ b: LinkSpec) {
        let la = byName[a.name.value]
        let lb = byName[b.name.value]
        if la == nil && lb == nil {
            fates[a.name.value] = .create
            fates[b.name.value] = .create
            return
        }
        let paired =
            la != nil && lb != nil && la!.linkIndex == lb!.index && lb!.linkIndex == la!.index
            && !la!.linkInOtherNamespace && !lb!.linkInOtherNamespace
        let sa = squatters[a.name.value]
        let sb = squatters[b.name.value]
        if sa != nil || sb != nil {
            if options.adopt, let sa, let sb, paired, adoptionDiffs(a, sa).isEmpty, adoptionDiffs(b, sb).isEmpty {
                fates[a.name.value] = .adopt
                fates[b.name.value] = .adopt
                return
            }
            for (s, l) in [(a, sa), (b, sb)] {
                if let l { refuseSquatter(s, l) }
            }
            if options.adopt, sa != nil, sb != nil, !paired {
                plan.problems.append("--adopt: \(a.name) and \(b.name) are not a veth pair with each other")
            }
            return
        }
        // Both are vrfc's (or missing).
        let structural = [(a, la), (b, lb)].flatMap { s, l in l.map { structuralDiffs(s, $0) } ?? [] }
        if paired && structural.isEmpty {
            fates[a.name.value] = .keep
            fates[b.name.value] = .keep
            return
        }
        let reason =
            "to re-create the veth pair \(a.name)/\(b.name): "
            + (structural.isEmpty ? "its ends are not paired with each other" : structural.joined(separator: ", "))
        for l in [la, lb].compactMap({ $0 }) where vethDeletionIsSafe(l) {
            earlyDelete(l, reason)
        }
        fates[a.name.value] = .create
        fates[b.name.value] = .create
    }

    /// The kernel refuses a second VXLAN link with the same VNI and port: a
    /// stale one of vrfc's goes first; a foreign one is a problem.
    mutating func planVNIConflicts() {
        for spec in ops.links where fates[spec.name.value] == .create {
            guard let v = spec.vxlan else { continue }
            for l in snap.links where l.vxlan?.vni == v.vni && l.vxlan?.port == v.dstPort && !earlyIndexes.contains(l.index) {
                if ours[l.name] != nil {
                    earlyDelete(l, "VNI \(v.vni) moves to \(spec.name)")
                } else {
                    plan.problems.append(
                        "VNI \(v.vni) (dstport \(v.dstPort)) of \(spec.name) is already used by \(l.name), which is not vrfc's; the kernel allows one VXLAN link per VNI and port"
                    )
                }
            }
        }
    }

    // MARK: Tables

    /// New VRFs get the lowest free tables in the range; a table is in use
    /// when any VRF device (vrfc's or not) or any policy rule points at it.
    mutating func allocateTables() -> [String: UInt32] {
        let needing = ops.links.filter { $0.kind == .vrf && fates[$0.name.value] == .create }.map(\.name.value)
        guard !needing.isEmpty else { return [:] }
        var used = snap.ruleTables
        for l in snap.links where !earlyIndexes.contains(l.index) {
            if let t = l.vrfTable { used.insert(t) }
        }
        var result: [String: UInt32] = [:]
        var next = ops.tableRange.first
        for name in needing {
            while next <= ops.tableRange.last && used.contains(next) { next += 1 }
            guard next <= ops.tableRange.last, next >= ops.tableRange.first else {
                let inRange = used.filter { ops.tableRange.contains($0) }.count
                plan.problems.append(
                    "table range \(ops.tableRange) is full: \(inRange) of its \(ops.tableRange.count) tables are in use (by VRF devices or policy rules) and \(needing.count - result.count) new VRF(s) need one (\(needing.filter { result[$0] == nil }.joined(separator: ", "))); widen it with --table-range"
                )
                return result
            }
            result[name] = next
            used.insert(next)
            if next == UInt32.max { break }
            next += 1
        }
        return result
    }

    // MARK: Router program

    mutating func routerSteps(created: Set<String>) -> [Step] {
        var names: [String] = []
        var seen: Set<String> = []
        for n in ops.routerAttachments.map(\.value) where seen.insert(n).inserted { names.append(n) }
        guard let states = snap.routerStates else {
            plan.routerAttachments = names
            if let e = snap.routerStateError {
                plan.routerStateUnreadable = true
                plan.unreadable.append("the tc router program's state (\(e))")
            }
            return []
        }
        plan.routerAvailable = true
        var steps: [Step] = []
        for n in names {
            if created.contains(n) {
                steps.append(.attach(name: n))
            } else if let l = byName[n], !earlyIndexes.contains(l.index) {
                if states[l.index] != .current { steps.append(.attach(name: n)) }
            } else {
                plan.notes.append("\(n) does not exist: the router program is attached once it does (bpfInterfaces)")
            }
        }
        let listed = Set(names)
        for l in snap.links where !listed.contains(l.name) && !earlyIndexes.contains(l.index) {
            // vrfc's links that go at the end take their program with them.
            if ours[l.name]?.index == l.index && wanted[l.name] == nil { continue }
            if let s = states[l.index], s != .none {
                let added = snap.clsactAdded.contains(ClsactRecord.Entry(index: l.index, name: l.name))
                if let why = snap.clsactRecordUnreadable {
                    plan.unreadable.append("the clsact record (\(why)): whether vrfc added \(l.name)'s clsact qdisc cannot be told")
                }
                steps.append(.detach(name: l.name, index: l.index, removeClsact: added))
            }
        }
        return steps
    }

    // MARK: Stale links

    mutating func staleDeletions() -> [Step] {
        var steps: [Step] = []
        var gone: Set<Int32> = earlyIndexes
        let stale = ours.values.filter { wanted[$0.name] == nil && !earlyIndexes.contains($0.index) }
            .sorted { l, r in (StackLink.deletionRank(of: l.name), l.name) < (StackLink.deletionRank(of: r.name), r.name) }
        for l in stale where !gone.contains(l.index) {
            guard vethDeletionIsSafe(l), var reason = foreignPortsAllowDeleting(l, "no longer in the op list") else { continue }
            if l.kind == "veth", let peer = l.linkIndex.flatMap({ byIndex[$0] }) {
                gone.insert(peer.index)
                reason += "; its peer \(peer.name) goes with it"
            }
            gone.insert(l.index)
            steps.append(.delete(name: l.name, index: l.index, reason: reason))
        }
        return steps
    }
}
