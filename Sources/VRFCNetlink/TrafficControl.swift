import CNetlink
import Glibc

// clsact qdiscs and their filters (tc), for the router program's
// attachments. The qdisc is an rtnl_qdisc object; libnl has no object for
// a cls_bpf filter, so that request is built with nlmsg/nla_put. The
// requests match what `tc` and libbpf send.

/// One hook of an interface's clsact qdisc.
public enum ClsactHook: Sendable {
    case ingress, egress

    /// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / TC_H_MIN_EGRESS).
    var parent: UInt32 {
        let minor = self == .ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS
        return (UInt32(TC_H_CLSACT) & 0xFFFF_0000) | (UInt32(minor) & 0xFFFF)
    }
}

/// One filter on a clsact hook, as RTM_GETTFILTER reports it.
public struct TCFilter: Hashable, Sendable {
    public var priority: UInt16
    public var handle: UInt32
    /// The classifier kind: "bpf", "u32", "flower", ...
    public var kind: String
    /// The BPF program of a "bpf" filter (TCA_BPF_ID).
    public var programID: UInt32?

    public init(priority: UInt16, handle: UInt32, kind: String, programID: UInt32?) {
        self.priority = priority
        self.handle = handle
        self.kind = kind
        self.programID = programID
    }

    /// Parses an RTM_NEWTFILTER message (tcmsg + attributes); nil for the
    /// classifier heads the dump also reports (handle 0).
    init?(payload: Bytes) {
        // struct tcmsg: family u8, pad u8, pad u16, ifindex s32, handle u32, parent u32, info u32.
        guard let handle = payload.u32(at: 8), handle != 0, let info = payload.u32(at: 16),
            let rest = payload.slice(from: MemoryLayout<tcmsg>.size)
        else { return nil }
        let a = Attributes(rest)
        self.init(
            priority: UInt16(info >> 16), handle: handle, kind: a[TCA_KIND]?.string ?? "",
            programID: a.nested(TCA_OPTIONS)?[TCA_BPF_ID]?.u32())
    }
}

extension NetlinkSocket {
    /// The interfaces that have a clsact qdisc, from one dump of every
    /// qdisc: only those can run a tc program, so a snapshot of hundreds of
    /// links asks for the filters of these alone.
    public func clsactInterfaces() throws(NetlinkError) -> Set<Int32> {
        var h = tcmsg()
        h.tcm_family = UInt8(AF_UNSPEC)
        var result: Set<Int32> = []
        for part in try dump(Request("listing qdiscs", type: RTM_GETQDISC, header: h)) {
            guard let ifindex = part.i32(at: 4), let rest = part.slice(from: MemoryLayout<tcmsg>.size) else { continue }
            if Attributes(rest)[TCA_KIND]?.string == "clsact" { result.insert(ifindex) }
        }
        return result
    }

    /// Every filter on one clsact hook of `ifindex`, in hook order (empty
    /// without clsact). An interface that is gone fails with ENODEV.
    public func filters(ifindex: Int32, name: String, hook: ClsactHook = .ingress) throws(NetlinkError) -> [TCFilter] {
        var h = tcmsg()
        h.tcm_family = UInt8(AF_UNSPEC)
        h.tcm_ifindex = ifindex
        h.tcm_parent = hook.parent
        return try dump(Request("listing the \(hook) filters of \(name)", type: RTM_GETTFILTER, header: h))
            .compactMap { TCFilter(payload: $0) }
    }

    /// Adds a clsact qdisc (`tc qdisc add dev NAME clsact`); false when the
    /// interface has one already.
    @discardableResult
    public func addClsact(ifindex: Int32, name: String) throws(NetlinkError) -> Bool {
        do {
            try perform(clsactRequest("adding a clsact qdisc to \(name)", ifindex: ifindex, delete: false))
            return true
        } catch  where error.code == EEXIST {
            return false
        }
    }

    /// Deletes the clsact qdisc and with it every filter on both hooks.
    public func deleteClsact(ifindex: Int32, name: String) throws(NetlinkError) {
        try perform(clsactRequest("deleting the clsact qdisc of \(name)", ifindex: ifindex, delete: true))
    }

    private func clsactRequest(_ op: String, ifindex: Int32, delete: Bool) throws(NetlinkError) -> Request {
        guard let qdisc = rtnl_qdisc_alloc() else { throw NetlinkError(op, code: ENOMEM) }
        defer { rtnl_qdisc_put(qdisc) }
        rtnl_tc_set_ifindex(qdisc, ifindex)
        rtnl_tc_set_parent(qdisc, UInt32(TC_H_CLSACT))
        rtnl_tc_set_handle(qdisc, UInt32(TC_H_CLSACT) & 0xFFFF_0000)
        var rc = rtnl_tc_set_kind(qdisc, "clsact")
        var msg: OpaquePointer? = nil
        if rc == 0 {
            rc =
                delete
                ? rtnl_qdisc_build_delete_request(qdisc, &msg)
                : rtnl_qdisc_build_add_request(qdisc, NLM_F_CREATE | NLM_F_EXCL, &msg)
        }
        guard rc == 0, let msg else {
            throw NetlinkError(op, code: nil, detail: "building the request: " + String(cString: nl_geterror(rc)))
        }
        return Request(taking: msg, op)
    }

    /// Puts a BPF program on a clsact hook at (priority, handle) in
    /// direct-action mode (`tc filter add ... bpf da`); with `replace` a
    /// filter already in that slot is swapped in place (cls_bpf swaps the
    /// program atomically, so packets never meet an empty slot). `label` is
    /// the name `tc filter show` prints ("NAME:[ID]").
    public func attachBPF(
        programFD: Int32, label: String, ifindex: Int32, name: String, hook: ClsactHook = .ingress,
        priority: UInt16, handle: UInt32, replace: Bool
    ) throws(NetlinkError) {
        let op = "attaching BPF program \(label) to \(name) at priority \(priority) handle 0x\(String(handle, radix: 16))"
        let request = try Request(
            op, type: RTM_NEWTFILTER, flags: NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
            header: filterHeader(ifindex: ifindex, hook: hook, priority: priority, handle: handle))
        try request.put(TCA_KIND, string: "bpf")
        try request.nest(TCA_OPTIONS) { () throws(NetlinkError) in
            try request.put(TCA_BPF_FD, u32: UInt32(bitPattern: programFD))
            try request.put(TCA_BPF_NAME, string: label)
            try request.put(TCA_BPF_FLAGS, u32: UInt32(TCA_BPF_FLAG_ACT_DIRECT))
        }
        try perform(request)
    }

    /// Deletes the filter of `kind` at (priority, handle) of a clsact hook.
    public func deleteFilter(
        ifindex: Int32, name: String, hook: ClsactHook = .ingress, priority: UInt16, handle: UInt32,
        kind: String = "bpf"
    ) throws(NetlinkError) {
        let op = "deleting the filter at priority \(priority) handle 0x\(String(handle, radix: 16)) of \(name)"
        let request = try Request(
            op, type: RTM_DELTFILTER,
            header: filterHeader(ifindex: ifindex, hook: hook, priority: priority, handle: handle))
        try request.put(TCA_KIND, string: kind)
        try perform(request)
    }

    /// tcm_info holds the priority and the protocol: every frame (ETH_P_ALL, network byte order).
    private func filterHeader(ifindex: Int32, hook: ClsactHook, priority: UInt16, handle: UInt32) -> tcmsg {
        var h = tcmsg()
        h.tcm_family = UInt8(AF_UNSPEC)
        h.tcm_ifindex = ifindex
        h.tcm_handle = handle
        h.tcm_parent = hook.parent
        h.tcm_info = UInt32(priority) << 16 | UInt32(UInt16(ETH_P_ALL).bigEndian)
        return h
    }
}
