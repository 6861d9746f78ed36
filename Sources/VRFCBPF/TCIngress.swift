import CBPF
import Glibc

/// One filter on an interface's clsact ingress hook.
public struct IngressFilter: Hashable, Sendable {
    public var priority: UInt16
    public var handle: UInt32
    /// The classifier kind: "bpf", "u32", "flower", ...
    public var kind: String
    /// The BPF program of a "bpf" filter.
    public var programID: UInt32?
}

/// clsact ingress through libbpf (hook, attach, detach) plus one rtnetlink
/// dump that libbpf lacks: listing every filter on the hook, which is how
/// instances at other slots (older builds, duplicates) are found. Works in
/// the calling thread's network namespace.
enum TCIngress {
    static func hook(_ ifindex: Int32) -> bpf_tc_hook {
        LibbpfLog.install()
        _ = LibbpfLog.take()
        var hook = bpf_tc_hook()
        hook.sz = libbpfOptionsSize(\bpf_tc_hook.parent, 4)
        hook.ifindex = ifindex
        hook.attach_point = BPF_TC_INGRESS
        return hook
    }

    /// Adds the clsact qdisc unless there is one; true when this call added it.
    @discardableResult
    static func ensureClsact(ifindex: Int32, name: String) throws(BPFError) -> Bool {
        var h = hook(ifindex)
        let rc = bpf_tc_hook_create(&h)
        if rc != 0 && -rc != EEXIST {
            throw .tc(operation: "add clsact qdisc" + LibbpfLog.detail(), interface: name, errno: -rc)
        }
        return rc == 0
    }

    /// Deletes the clsact qdisc when neither its ingress nor its egress hook
    /// holds a filter (so nobody else's filter goes with it); true when it
    /// was deleted or was already gone.
    static func removeClsactIfEmpty(ifindex: Int32, name: String) throws(BPFError) -> Bool {
        let socket = try RouteSocket(interface: name)
        guard try socket.filters(ifindex: ifindex, name: name).isEmpty,
              try socket.filters(ifindex: ifindex, name: name, parent: clsactEgressParent).isEmpty else { return false }
        var h = hook(ifindex)
        h.attach_point = bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
        let rc = bpf_tc_hook_destroy(&h)
        if rc != 0 && -rc != ENOENT && -rc != ENODEV && -rc != EINVAL {
            throw .tc(operation: "delete clsact qdisc" + LibbpfLog.detail(), interface: name, errno: -rc)
        }
        return true
    }

    /// Every vrfc router instance on the clsact ingress hooks of the calling
    /// thread's network namespace, by ifindex: the kernel's own account of
    /// what runs where (filter → program id → program info → map ids),
    /// which needs no pins.
    static func routerInstances(_ socket: RouteSocket) throws(BPFError) -> [Int32: [(filter: IngressFilter, info: ProgramInfo)]] {
        var result: [Int32: [(filter: IngressFilter, info: ProgramInfo)]] = [:]
        for ifindex in try interfacesWithClsact(socket).sorted() {
            let filters: [IngressFilter]
            do {
                filters = try socket.filters(ifindex: ifindex, name: "ifindex \(ifindex)")
            } catch .interfaceNotFound {
                continue  // gone since the qdisc dump
            }
            for f in filters where f.kind == "bpf" {
                guard let id = f.programID, let info = try ProgramInfo.read(id: id),
                      info.identity.name == VRFC_PROG_NAME_STR else { continue }
                result[ifindex, default: []].append((f, info))
            }
        }
        return result
    }

    /// Attaches `programFD` at (priority, handle) in direct-action mode; a
    /// filter already there is replaced in place (cls_bpf swaps the program
    /// atomically, so packets never meet an empty slot).
    static func attach(programFD: Int32, ifindex: Int32, name: String, priority: UInt16, handle: UInt32) throws(BPFError) {
        var h = hook(ifindex)
        var opts = bpf_tc_opts()
        opts.sz = libbpfOptionsSize(\bpf_tc_opts.priority, 4)
        opts.prog_fd = programFD
        opts.handle = handle
        opts.priority = UInt32(priority)
        opts.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
        let rc = bpf_tc_attach(&h, &opts)
        if rc != 0 {
            throw .tc(operation: "attach at priority \(priority) handle 0x\(String(handle, radix: 16))" + LibbpfLog.detail(),
                      interface: name, errno: -rc)
        }
    }

    static func detach(ifindex: Int32, name: String, priority: UInt16, handle: UInt32) throws(BPFError) {
        var h = hook(ifindex)
        var opts = bpf_tc_opts()
        opts.sz = libbpfOptionsSize(\bpf_tc_opts.priority, 4)
        opts.handle = handle
        opts.priority = UInt32(priority)
        let rc = bpf_tc_detach(&h, &opts)
        // Gone already (interface or filter): the goal is reached.
        if rc != 0 && -rc != ENOENT && -rc != ENODEV {
            throw .tc(operation: "detach priority \(priority) handle 0x\(String(handle, radix: 16))" + LibbpfLog.detail(),
                      interface: name, errno: -rc)
        }
    }

    /// Every filter on the ingress hook of `ifindex` (empty without clsact).
    static func filters(ifindex: Int32, name: String) throws(BPFError) -> [IngressFilter] {
        let socket = try RouteSocket(interface: name)
        return try socket.filters(ifindex: ifindex, name: name)
    }

    /// The interfaces that have a clsact qdisc, from one dump of every
    /// qdisc: only those can run the router, so a snapshot of hundreds of
    /// links asks for the filters of these alone.
    static func interfacesWithClsact(_ socket: RouteSocket) throws(BPFError) -> Set<Int32> {
        var request = NetlinkWriter()
        request.header(type: UInt16(RTM_GETQDISC), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), seq: 2)
        request.appendTCMessage(ifindex: 0, parent: 0)
        var result: Set<Int32> = []
        try socket.dump(request.finish(), seq: 2, operation: "list qdiscs", interface: "any", ifindex: 0) { type, body throws(BPFError) in
            guard type == Int32(RTM_NEWQDISC), body.count >= 20 else { return }
            let ifindex = body.load(Int32.self, at: body.startIndex + 4)
            for (t, payload) in attributes(body[(body.startIndex + 20)...]) where Int32(t) == Int32(TCA_KIND) {
                if String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self) == "clsact" { result.insert(ifindex) }
            }
        }
        return result
    }

    /// An rtnetlink socket for dumps, opened once for many requests.
    final class RouteSocket {
        let fd: Int32

        init(interface: String) throws(BPFError) {
            fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
            if fd < 0 { throw .tc(operation: "open rtnetlink socket", interface: interface, errno: errno) }
        }

        deinit { close(fd) }

        func filters(ifindex: Int32, name: String, parent: UInt32 = clsactIngressParent) throws(BPFError) -> [IngressFilter] {
            var request = NetlinkWriter()
            request.header(type: UInt16(RTM_GETTFILTER), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), seq: 1)
            request.appendTCMessage(ifindex: ifindex, parent: parent)
            var result: [IngressFilter] = []
            try dump(request.finish(), seq: 1, operation: "list filters", interface: name, ifindex: ifindex) { type, body in
                if type == Int32(RTM_NEWTFILTER), let f = parseFilter(body) { result.append(f) }
            }
            return result
        }

        /// Sends a dump request and hands each reply message to `each`.
        func dump(_ message: [UInt8], seq: UInt32, operation: String, interface name: String, ifindex: Int32,
                  _ each: (Int32, ArraySlice<UInt8>) throws(BPFError) -> Void) throws(BPFError) {
            var kernel = sockaddr_nl()
            kernel.nl_family = sa_family_t(AF_NETLINK)
            let sent = message.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            if sent != message.count { throw .tc(operation: "\(operation) (send)", interface: name, errno: errno) }

            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .tc(operation: "\(operation) (receive)", interface: name, errno: errno)
                }
                var offset = 0
                while offset + 16 <= n {
                    let length = Int(buffer.load(UInt32.self, at: offset))
                    let type = buffer.load(UInt16.self, at: offset + 4)
                    let msgSeq = buffer.load(UInt32.self, at: offset + 8)
                    guard length >= 16, offset + length <= n else {
                        throw .tc(operation: "\(operation) (malformed reply)", interface: name, errno: EPROTO)
                    }
                    defer { offset += align4(length) }
                    guard msgSeq == seq else { continue }
                    switch Int32(type) {
                    case NLMSG_DONE:
                        return
                    case NLMSG_ERROR:
                        let error = buffer.load(Int32.self, at: offset + 16)
                        if error == 0 { continue }
                        if -error == ENODEV { throw .interfaceNotFound(name: name, ifindex: ifindex) }
                        throw .tc(operation: operation, interface: name, errno: -error)
                    default:
                        try each(Int32(type), buffer[(offset + 16)..<(offset + length)])
                    }
                }
            }
        }
    }

    /// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS): the clsact ingress block.
    static let clsactIngressParent: UInt32 = (UInt32(TC_H_CLSACT) & 0xFFFF_0000) | (UInt32(TC_H_MIN_INGRESS) & 0xFFFF)
    /// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS): the clsact egress block.
    static let clsactEgressParent: UInt32 = (UInt32(TC_H_CLSACT) & 0xFFFF_0000) | (UInt32(TC_H_MIN_EGRESS) & 0xFFFF)

    fileprivate static func parseFilter(_ body: ArraySlice<UInt8>) -> IngressFilter? {
        let base = body.startIndex
        guard body.count >= 20 else { return nil }
        let handle = body.load(UInt32.self, at: base + 8)
        let info = body.load(UInt32.self, at: base + 16)
        // The dump also reports each priority's classifier head, handle 0.
        guard handle != 0 else { return nil }
        var filter = IngressFilter(priority: UInt16(info >> 16), handle: handle, kind: "", programID: nil)
        for (type, payload) in attributes(body[(base + 20)...]) {
            switch Int32(type) {
            case Int32(TCA_KIND):
                filter.kind = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
            case Int32(TCA_OPTIONS):
                for (t, p) in attributes(payload) where Int32(t) == Int32(TCA_BPF_ID) && p.count >= 4 {
                    filter.programID = p.load(UInt32.self, at: p.startIndex)
                }
            default:
                break
            }
        }
        return filter
    }

    fileprivate static func attributes(_ data: ArraySlice<UInt8>) -> [(UInt16, ArraySlice<UInt8>)] {
        var result: [(UInt16, ArraySlice<UInt8>)] = []
        var i = data.startIndex
        while i + 4 <= data.endIndex {
            let length = Int(data.load(UInt16.self, at: i))
            let type = data.load(UInt16.self, at: i + 2) & 0x3fff  // NLA_TYPE_MASK: drop the nested/byte-order flags
            guard length >= 4, i + length <= data.endIndex else { break }
            result.append((type, data[(i + 4)..<(i + length)]))
            i += align4(length)
        }
        return result
    }
}

@inline(__always) func align4(_ n: Int) -> Int { (n + 3) & ~3 }

struct NetlinkWriter {
    var bytes: [UInt8] = []

    mutating func header(type: UInt16, flags: UInt16, seq: UInt32) {
        append(UInt32(0))  // length, set by finish()
        append(type)
        append(flags)
        append(seq)
        append(UInt32(0))  // port id: the kernel
    }

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    /// struct tcmsg: family, pad, pad, ifindex, handle, parent, info.
    mutating func appendTCMessage(ifindex: Int32, parent: UInt32) {
        append(UInt8(AF_UNSPEC)); append(UInt8(0)); append(UInt16(0))
        append(ifindex)
        append(UInt32(0))
        append(parent)
        append(UInt32(0))
    }

    func finish() -> [UInt8] {
        var out = bytes
        withUnsafeBytes(of: UInt32(out.count)) { out.replaceSubrange(0..<4, with: $0) }
        return out
    }
}

extension Collection where Element == UInt8, Index == Int {
    /// An unaligned native-endian load (netlink is host byte order).
    func load<T: FixedWidthInteger>(_: T.Type, at index: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { dst in
            for k in 0..<MemoryLayout<T>.size { dst[k] = self[index + k] }
        }
        return value
    }
}
