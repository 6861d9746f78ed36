import CNetlink
import Glibc

// The only code in vrfc that talks to the kernel's rtnetlink, through
// libnl-route-3. Requests are sent one at a time and each waits for its
// acknowledgement (as `ip -batch` does), so an error names exactly the
// operation that failed; the kernel's extended-ack text is passed on.

public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    /// What was being done, e.g. "creating vx.vrf1".
    public let operation: String
    /// The errno the kernel answered with (positive), when there is one.
    public let code: Int32?
    /// The kernel's own explanation (NLMSGERR_ATTR_MSG), when it gave one.
    public let kernelMessage: String?
    let detail: String?

    public init(_ operation: String, code: Int32?, kernelMessage: String? = nil, detail: String? = nil) {
        self.operation = operation
        self.code = code
        self.kernelMessage = kernelMessage
        self.detail = detail
    }

    public var description: String {
        var s = operation + ": "
        if let code { s += String(cString: strerror(code)) } else { s += detail ?? "failed" }
        if let kernelMessage { s += " (kernel: \(kernelMessage))" }
        return s
    }
}

/// A connected NETLINK_ROUTE socket. Not thread-safe: one per thread.
public final class NetlinkSocket {
    private let sock: OpaquePointer
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    /// Told after each change the kernel acknowledged. A test tool ends the
    /// process here, as `kill -9` would, to reach every point between two
    /// requests; the shipped commands set nothing.
    public var onChange: (() -> Void)?

    /// A socket in the calling thread's network namespace.
    public init() throws(NetlinkError) {
        guard let s = nl_socket_alloc() else { throw NetlinkError("opening a netlink socket", code: ENOMEM) }
        sock = s
        // Acks are requested per message below; sequence numbers are checked here, not by libnl.
        nl_socket_disable_auto_ack(sock)
        nl_socket_disable_seq_check(sock)
        let err = nl_connect(sock, NETLINK_ROUTE)
        guard err == 0 else {
            nl_socket_free(sock)
            throw NetlinkError("connecting a NETLINK_ROUTE socket", code: nil, detail: String(cString: nl_geterror(err)))
        }
        let fd = nl_socket_get_fd(sock)
        var on: Int32 = 1
        // Extended acks carry the kernel's reason for a refusal; capped acks
        // do not echo our request back.
        setsockopt(fd, Int32(SOL_NETLINK), Int32(NETLINK_EXT_ACK), &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(SOL_NETLINK), Int32(NETLINK_CAP_ACK), &on, socklen_t(MemoryLayout<Int32>.size))
        _ = nl_socket_set_buffer_size(sock, 4 << 20, 0)
    }

    /// A socket in the named network namespace (`/run/netns/NAME`). The
    /// namespace switch happens on a short-lived thread of its own, so the
    /// calling thread (and the rest of the process) stays where it is; the
    /// socket stays bound to the namespace it was created in.
    public static func open(namespace: String) throws(NetlinkError) -> NetlinkSocket {
        final class Box {
            let path: String
            var result: Result<NetlinkSocket, NetlinkError>?
            init(path: String) { self.path = path }
        }
        let box = Box(path: "/run/netns/" + namespace)
        var thread = pthread_t()
        let ctx = Unmanaged.passRetained(box).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            let fd = Glibc.open(box.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                box.result = .failure(NetlinkError("opening network namespace \(box.path)", code: errno))
                return nil
            }
            defer { close(fd) }
            guard vrfc_setns(fd, Int32(CLONE_NEWNET)) == 0 else {
                box.result = .failure(NetlinkError("entering network namespace \(box.path)", code: errno))
                return nil
            }
            do throws(NetlinkError) {
                box.result = .success(try NetlinkSocket())
            } catch {
                box.result = .failure(error)
            }
            return nil
        }, ctx)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(ctx).release()
            throw NetlinkError("starting a thread to enter network namespace \(namespace)", code: rc)
        }
        pthread_join(thread, nil)
        switch box.result {
        case .success(let s): return s
        case .failure(let e): throw e
        case nil: throw NetlinkError("entering network namespace \(namespace)", code: nil, detail: "no result")
        }
    }

    /// Moves the calling thread into the named network namespace
    /// (`/run/netns/NAME`), as `ip -n NAME` does: sockets opened afterwards
    /// on this thread live there. For single-threaded tools only.
    public static func enterNamespace(_ namespace: String) throws(NetlinkError) {
        let path = "/run/netns/" + namespace
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError("opening network namespace \(path)", code: errno) }
        defer { close(fd) }
        guard vrfc_setns(fd, Int32(CLONE_NEWNET)) == 0 else {
            throw NetlinkError("entering network namespace \(path)", code: errno)
        }
    }

    deinit {
        nl_socket_free(sock)
    }

    /// The namespace's cookie (SO_NETNS_COOKIE): unique per namespace and
    /// never reused until reboot, unlike its inode number.
    public func namespaceCookie() throws(NetlinkError) -> UInt64 {
        var cookie: UInt64 = 0
        var len = socklen_t(MemoryLayout<UInt64>.size)
        guard getsockopt(nl_socket_get_fd(sock), SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, &cookie, &len) == 0 else {
            throw NetlinkError("reading the network namespace cookie", code: errno)
        }
        return cookie
    }

    // MARK: Reading

    /// Every link of the namespace, with kind-specific and bridge-port data.
    public func links() throws(NetlinkError) -> [Link] {
        try dump("listing links", type: RTM_GETLINK, header: ifinfomsg(), extMask: UInt32(RTEXT_FILTER_SKIP_STATS))
            .compactMap { Link(payload: $0) }
    }

    /// Every address of one family (AF_INET, AF_INET6) on every link.
    public func addresses(family: Int32) throws(NetlinkError) -> [Address] {
        var h = ifaddrmsg()
        h.ifa_family = UInt8(family)
        return try dump("listing addresses", type: RTM_GETADDR, header: h).compactMap { Address(payload: $0) }
    }

    /// The tables that policy rules of any family point at.
    public func ruleTables() throws(NetlinkError) -> Set<UInt32> {
        Set(try dump("listing policy rules", type: RTM_GETRULE, header: fib_rule_hdr()).compactMap { ruleTable(payload: $0) })
    }

    // MARK: Changing

    /// RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: the link with its kind,
    /// settings, master and the ifindex chosen by the caller, in one message.
    public func create(_ spec: NewLink) throws(NetlinkError) {
        let op = "creating \(spec.name)"
        let msg = try spec.buildRequest(op)
        defer { nlmsg_free(msg) }
        try transact(msg, op)
    }

    /// RTM_NEWLINK on an existing link: only the given attributes change.
    public func update(_ u: LinkUpdate, describing op: String) throws(NetlinkError) {
        let msg = try u.buildRequest(op)
        defer { nlmsg_free(msg) }
        try transact(msg, op)
    }

    public func setUp(index: Int32, name: String) throws(NetlinkError) {
        let op = "bringing up \(name)"
        var h = ifinfomsg()
        h.ifi_index = index
        h.ifi_flags = UInt32(IFF_UP.rawValue)
        h.ifi_change = UInt32(IFF_UP.rawValue)
        let msg = try RequestBuilder(op, type: RTM_SETLINK, flags: 0, header: h).msg
        defer { nlmsg_free(msg) }
        try transact(msg, op)
    }

    /// Deletes a link by ifindex. Returns false when it was already gone
    /// (deleting one end of a veth pair removes the other).
    @discardableResult
    public func delete(index: Int32, name: String) throws(NetlinkError) -> Bool {
        let op = "deleting \(name)"
        var h = ifinfomsg()
        h.ifi_index = index
        let msg = try RequestBuilder(op, type: RTM_DELLINK, flags: 0, header: h).msg
        defer { nlmsg_free(msg) }
        do {
            try transact(msg, op)
            return true
        } catch where error.code == ENODEV {
            return false
        }
    }

    // MARK: Transport

    private func send(_ msg: OpaquePointer, _ op: String) throws(NetlinkError) -> UInt32 {
        let n = nl_send_auto(sock, msg)
        guard n >= 0 else { throw NetlinkError(op, code: nil, detail: "sending: " + String(cString: nl_geterror(n))) }
        return nlmsg_hdr(msg).pointee.nlmsg_seq
    }

    private func receive(_ op: String) throws(NetlinkError) -> [Message] {
        let fd = nl_socket_get_fd(sock)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(op + " (receiving)", code: errno)
            }
            return Message.split(Array(buffer[0..<n]))
        }
    }

    /// Sends one request with NLM_F_ACK and waits for its acknowledgement.
    private func transact(_ msg: OpaquePointer, _ op: String) throws(NetlinkError) {
        let seq = try send(msg, op)
        while true {
            for m in try receive(op) where m.seq == seq && m.type == UInt16(NLMSG_ERROR) {
                if let e = Self.ackError(m, op) { throw e }
                onChange?()
                return
            }
        }
    }

    /// A dump request; retried when the kernel reports it was interrupted by
    /// a concurrent change (NLM_F_DUMP_INTR), so callers see one consistent view.
    private func dump<H>(_ op: String, type: Int, header: H, extMask: UInt32? = nil) throws(NetlinkError) -> [Bytes] {
        for _ in 0..<5 {
            let b = try RequestBuilder(op, type: type, flags: NLM_F_DUMP, header: header)
            if let extMask { try b.put(IFLA_EXT_MASK, u32: extMask) }
            let msg = b.msg
            defer { nlmsg_free(msg) }
            let seq = try send(msg, op)
            var parts: [Bytes] = []
            var interrupted = false
            receiving: while true {
                for m in try receive(op) where m.seq == seq {
                    if m.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                    switch Int32(m.type) {
                    case NLMSG_DONE: break receiving
                    case NLMSG_ERROR:
                        if let e = Self.ackError(m, op) { throw e }
                        break receiving
                    default: parts.append(m.payload)
                    }
                }
            }
            if !interrupted { return parts }
        }
        throw NetlinkError(op, code: EAGAIN, detail: "links kept changing during the dump")
    }

    /// Decodes an NLMSG_ERROR: nil for an ack, else the error with the
    /// kernel's extended-ack message.
    static func ackError(_ m: Message, _ op: String) -> NetlinkError? {
        guard let raw = m.payload.i32(at: 0) else { return NetlinkError(op, code: EPROTO) }
        if raw == 0 { return nil }
        var text: String? = nil
        if m.flags & UInt16(NLM_F_ACK_TLVS) != 0 {
            // struct nlmsgerr is the error plus our request's header; with
            // NLM_F_CAPPED the request's payload is not echoed before the TLVs.
            let echoed = m.flags & UInt16(NLM_F_CAPPED) != 0 ? 0 : Int(m.payload.u32(at: 4) ?? 16) - 16
            if let tlvs = m.payload.slice(from: MemoryLayout<nlmsgerr>.size + echoed) {
                text = Attributes(tlvs)[NLMSGERR_ATTR_MSG.rawValue]?.string
            }
        }
        return NetlinkError(op, code: -raw, kernelMessage: text)
    }
}

/// An rtnetlink request built with libnl's message API.
struct RequestBuilder {
    let msg: OpaquePointer
    let op: String

    init<H>(_ op: String, type: Int, flags: Int32, header: H) throws(NetlinkError) {
        self.op = op
        guard let m = nlmsg_alloc_simple(Int32(type), flags | (flags & NLM_F_DUMP == 0 ? NLM_F_ACK : 0)) else {
            throw NetlinkError(op, code: ENOMEM)
        }
        msg = m
        var h = header
        let rc = withUnsafeMutableBytes(of: &h) { nlmsg_append(msg, $0.baseAddress, $0.count, Int32(NLMSG_ALIGNTO)) }
        guard rc == 0 else {
            nlmsg_free(msg)
            throw NetlinkError(op, code: ENOMEM)
        }
    }

    private func check(_ rc: Int32) throws(NetlinkError) {
        guard rc == 0 else { throw NetlinkError(op, code: nil, detail: "building the request: " + String(cString: nl_geterror(rc))) }
    }

    func put<T: BinaryInteger>(_ type: T, u8 v: UInt8) throws(NetlinkError) { try check(nla_put_u8(msg, Int32(type), v)) }
    func put<T: BinaryInteger>(_ type: T, u32 v: UInt32) throws(NetlinkError) { try check(nla_put_u32(msg, Int32(type), v)) }
    func put<T: BinaryInteger>(_ type: T, string v: String) throws(NetlinkError) { try check(nla_put_string(msg, Int32(type), v)) }
    func put<T: BinaryInteger>(_ type: T, bytes v: [UInt8]) throws(NetlinkError) {
        try check(v.withUnsafeBytes { nla_put(msg, Int32(type), Int32($0.count), $0.baseAddress) })
    }

    func nest<T: BinaryInteger>(_ type: T, _ body: () throws(NetlinkError) -> Void) throws(NetlinkError) {
        guard let start = nla_nest_start(msg, Int32(type)) else { throw NetlinkError(op, code: ENOMEM) }
        try body()
        try check(nla_nest_end(msg, start))
    }
}
