import CNetlink
import Glibc

// The only code in vrfc that talks to the kernel's rtnetlink: links here and
// in Link*.swift, clsact qdiscs and filters in TrafficControl.swift. libnl
// builds every request (an rtnl_* object where libnl has one, else its
// nlmsg/nla_put through `Request`); one socket type sends them and reads
// the answers with one receive loop, and Attributes.swift parses them.
// Requests go in datagrams of one (links, qdiscs, filters: each waits for
// its answer) or many (routes and rules); every answer is matched to its
// request by sequence number, so an error names exactly the operation that
// failed, with the kernel's extended-ack text.

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
    /// Dump replies come in datagrams of up to 32 KiB; the room beyond is
    /// for single large messages. Not zero-filled: only what recv writes is touched.
    private var buffer = [UInt8](unsafeUninitializedCapacity: 1 << 20) { _, n in n = 1 << 20 }

    /// Told after each datagram of requests the kernel answered, with how
    /// many changes it made. A test tool ends the process here, as `kill -9`
    /// would, to reach every point between two datagrams (the kernel runs a
    /// whole datagram within the send); the shipped commands set nothing.
    public var onChange: ((Int) -> Void)?

    /// How many requests `perform(batchOf:)` puts in one datagram.
    public struct BatchLimits: Sendable, Equatable {
        public var requests: Int
        public var bytes: Int

        public init(requests: Int, bytes: Int) {
            self.requests = requests
            self.bytes = bytes
        }
    }

    /// The most the socket's buffers allow: every request of a datagram may
    /// be refused, and each refusal is a message of its own (68 bytes,
    /// about 800 charged to the receive buffer); one that does not fit is
    /// dropped (ENOBUFS). 2 KiB per request leaves room to spare. 32 KiB of
    /// requests (about 450 routes) fits the send buffer libnl sets (64 KiB);
    /// larger datagrams would save only a few sends per thousand routes.
    public let maxBatchLimits: BatchLimits
    /// Lowered only (tests split batches finer); never above `maxBatchLimits`.
    public var batchLimits: BatchLimits {
        didSet {
            batchLimits = BatchLimits(
                requests: max(1, min(batchLimits.requests, maxBatchLimits.requests)),
                bytes: max(Message.headerSize, min(batchLimits.bytes, maxBatchLimits.bytes)))
        }
    }
    /// Datagrams of changes sent so far: tests check the batching with it.
    public private(set) var requestDatagrams = 0

    /// A socket in the calling thread's network namespace. `receiveBuffer`:
    /// SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max and
    /// doubles it); tests shrink it to check the batches shrink along.
    public init(receiveBuffer: Int32 = 4 << 20) throws(NetlinkError) {
        guard let s = nl_socket_alloc() else { throw NetlinkError("opening a netlink socket", code: ENOMEM) }
        sock = s
        // Acks are requested per datagram below; sequence numbers are checked here, not by libnl.
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
        _ = nl_socket_set_buffer_size(sock, receiveBuffer, 0)
        func size(_ option: Int32) -> Int {
            var v: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd, SOL_SOCKET, option, &v, &len) == 0 ? Int(v) : 0
        }
        // The kernel refuses a datagram over the send buffer less 32 bytes.
        maxBatchLimits = BatchLimits(
            requests: max(1, size(SO_RCVBUF) / 2048), bytes: max(4096, min(32 << 10, size(SO_SNDBUF) - 64)))
        batchLimits = maxBatchLimits
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

    // MARK: Sending requests and reading answers
    //
    // The one way a request reaches the kernel, for every file of this
    // module (links, qdiscs and filters; routes and rules the same way).
    // Build the message with libnl and wrap it in a `Request`, which frees it:
    //
    //   Request(taking: msg, "adding route 192.0.2.0/24")   // msg from an rtnl_*_build_*_request
    //   try Request("listing routes", type: RTM_GETROUTE, header: rtmsg())   // nlmsg_alloc_simple + header
    //       then .put(...) / .nest(...) for attributes (nla_put)
    //
    //   try socket.perform(request)           // returns on the kernel's ack, throws NetlinkError
    //                                         // (errno + extack text) on a refusal
    //   let refusals = try socket.perform(batchOf: n) { i in request i }   // many per datagram;
    //                                         // each request's refusal or nil, in order
    //   let parts = try socket.dump(request)  // sent with NLM_F_DUMP; the payload (after the
    //                                         // nlmsghdr) of every answer, read with `Attributes`
    //
    // All stamp fresh sequence numbers and read only the answers that carry them.

    /// Sends one request and waits for the kernel's answer: the batch of one.
    func perform(_ request: Request) throws(NetlinkError) {
        if let refused = try perform(batchOf: 1, { _ throws(NetlinkError) in request })[0] { throw refused }
    }

    /// Sends `count` requests, made one at a time by `build` (so a thousand
    /// libnl messages never live at once), packed into as few datagrams as
    /// `batchLimits` allow, and returns each one's refusal, in order (nil:
    /// done). The kernel runs every message of a datagram in order and goes
    /// on after a refusal, so every request is tried; a request `build`
    /// could not make is not sent and carries its own error.
    ///
    /// Only the last request of a datagram asks for an acknowledgement
    /// (NLM_F_ACK): the kernel answers a refusal without being asked, so a
    /// datagram whose requests are all done costs one send and one receive,
    /// and its last answer means every earlier one has arrived.
    ///
    /// Throws only when the answers themselves are lost (the socket failed).
    func perform(batchOf count: Int, _ build: (Int) throws(NetlinkError) -> Request) throws(NetlinkError) -> [NetlinkError?] {
        var results = [NetlinkError?](repeating: nil, count: count)
        // The datagram being filled: its bytes, and which request each message is.
        var datagram: [UInt8] = []
        datagram.reserveCapacity(min(batchLimits.bytes, count * 256))
        var members: [(index: Int, op: String)] = []
        var lastHeader = 0
        var firstSeq: UInt32 = 0
        for i in 0..<count {
            let request: Request
            do throws(NetlinkError) {
                request = try build(i)
            } catch {
                results[i] = error
                continue
            }
            let header: UnsafeMutablePointer<nlmsghdr> = nlmsg_hdr(request.msg)
            let length = Int(header.pointee.nlmsg_len)
            if !members.isEmpty && (members.count == batchLimits.requests || datagram.count + length > batchLimits.bytes) {
                try exchange(&datagram, lastHeader: lastHeader, firstSeq: firstSeq, members: &members, into: &results)
            }
            // Consecutive numbers from libnl's counter (dumps take theirs from it too).
            let seq = UInt32(nl_socket_use_seq(sock))
            if members.isEmpty { firstSeq = seq }
            header.pointee.nlmsg_seq = seq
            // What libnl's send would add: NLM_F_REQUEST (without it the kernel skips the message).
            header.pointee.nlmsg_flags = header.pointee.nlmsg_flags & ~UInt16(NLM_F_ACK) | UInt16(NLM_F_REQUEST)
            lastHeader = datagram.count
            datagram.append(contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
            datagram.append(contentsOf: repeatElement(0, count: align4(length) - length))
            members.append((i, request.op))
        }
        if !members.isEmpty {
            try exchange(&datagram, lastHeader: lastHeader, firstSeq: firstSeq, members: &members, into: &results)
        }
        return results
    }

    /// Sends one datagram of requests (numbered from `firstSeq`), reads
    /// every answer up to the last request's acknowledgement and empties
    /// the datagram for the next.
    private func exchange(
        _ datagram: inout [UInt8], lastHeader: Int, firstSeq: UInt32, members: inout [(index: Int, op: String)],
        into results: inout [NetlinkError?]
    ) throws(NetlinkError) {
        defer {
            datagram.removeAll(keepingCapacity: true)
            members.removeAll(keepingCapacity: true)
        }
        let lastOp = members[members.count - 1].op
        // nlmsg_flags is the u16 at offset 6 of the header.
        datagram.withUnsafeMutableBytes { b in
            let flags = b.loadUnaligned(fromByteOffset: lastHeader + 6, as: UInt16.self) | UInt16(NLM_F_ACK)
            b.storeBytes(of: flags, toByteOffset: lastHeader + 6, as: UInt16.self)
        }
        let fd = nl_socket_get_fd(sock)
        while true {
            // Not connected: a datagram with no address goes to the kernel.
            let n = datagram.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { break }
            if errno == EINTR { continue }
            throw NetlinkError(lastOp, code: errno, detail: "sending")
        }
        requestDatagrams += 1
        var answered = [Bool](repeating: false, count: members.count)
        receiving: while true {
            let n: Int
            do throws(NetlinkError) {
                n = try receiveInPlace(lastOp)
            } catch  where error.code == ENOBUFS {
                // Answers were dropped on a full receive buffer (batchLimits
                // should prevent it). The kernel answered every request before
                // send returned, so what is left is read without waiting.
                drainAnswers(firstSeq: firstSeq, members: members, answered: &answered, into: &results)
                for (k, m) in members.enumerated() where !answered[k] {
                    results[m.index] = NetlinkError(
                        m.op, code: ENOBUFS, detail: "the kernel's answer was lost (receive buffer full); the change may or may not be made"
                    )
                }
                break receiving
            }
            if takeAnswers(n, firstSeq: firstSeq, members: members, answered: &answered, into: &results) { break }
        }
        // A request the kernel did not refuse was done: only refusals and the last one are answered.
        let made = members.count(where: { results[$0.index] == nil })
        if made > 0 { onChange?(made) }
    }

    /// Files the answers (NLMSG_ERROR: 0 or a refusal) in the first `n`
    /// bytes of the buffer under their requests; true once the last request's has come.
    private func takeAnswers(
        _ n: Int, firstSeq: UInt32, members: [(index: Int, op: String)], answered: inout [Bool],
        into results: inout [NetlinkError?]
    ) -> Bool {
        var last = false
        // An answer is read where it lies in the buffer; only a refusal is copied out.
        var off = 0
        while off + Message.headerSize <= n {
            let (len, type, seq) = buffer.withUnsafeBytes { b in
                (
                    Int(b.loadUnaligned(fromByteOffset: off, as: UInt32.self)),
                    b.loadUnaligned(fromByteOffset: off + 4, as: UInt16.self),
                    b.loadUnaligned(fromByteOffset: off + 8, as: UInt32.self)
                )
            }
            guard len >= Message.headerSize, off + len <= n else { break }
            let k = Int(seq &- firstSeq)
            if type == UInt16(NLMSG_ERROR), seq &- firstSeq < UInt32(members.count), !answered[k] {
                answered[k] = true
                // Too short to hold the error: not 0, so ackError names it.
                let code =
                    len >= Message.headerSize + 4
                    ? buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off + Message.headerSize, as: Int32.self) } : -EPROTO
                if code != 0 {
                    let bytes = Array(buffer[off..<(off + len)])
                    results[members[k].index] =
                        Message.split(bytes).first.flatMap { Self.ackError($0, members[k].op) }
                        ?? NetlinkError(members[k].op, code: EPROTO)
                }
                if k == members.count - 1 { last = true }
            }
            off += align4(len)
        }
        return last
    }

    /// After a lost answer: reads whatever answers are queued, without waiting.
    private func drainAnswers(
        firstSeq: UInt32, members: [(index: Int, op: String)], answered: inout [Bool],
        into results: inout [NetlinkError?]
    ) {
        let fd = nl_socket_get_fd(sock)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 {
                if errno == EINTR || errno == ENOBUFS { continue }
                return
            }
            if takeAnswers(n, firstSeq: firstSeq, members: members, answered: &answered, into: &results) { return }
        }
    }

    /// Sends a dump request and returns every answer's payload; retried when
    /// the kernel reports the dump was interrupted by a concurrent change
    /// (NLM_F_DUMP_INTR), so callers see one consistent view.
    ///
    /// `strict` turns on NETLINK_GET_STRICT_CHK for this dump only: the
    /// kernel then honours the filters in the request's header and
    /// attributes (and refuses what it cannot filter by) instead of
    /// ignoring them. Other dumps keep the lenient checks they were written for.
    func dump(_ request: Request, strict: Bool = false) throws(NetlinkError) -> [Bytes] {
        let op = request.op
        nlmsg_hdr(request.msg).pointee.nlmsg_flags |= UInt16(NLM_F_DUMP)
        if strict { setStrictChecking(true) }
        defer { if strict { setStrictChecking(false) } }
        for _ in 0..<5 {
            let seq = try send(request)
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
        throw NetlinkError(op, code: EAGAIN, detail: "the kernel's view kept changing during the dump")
    }

    /// The kernel reads the option when a dump starts; kernels before 4.20
    /// lack it and filter nothing, which callers allow for.
    private func setStrictChecking(_ on: Bool) {
        var v: Int32 = on ? 1 : 0
        setsockopt(
            nl_socket_get_fd(sock), Int32(SOL_NETLINK), Int32(NETLINK_GET_STRICT_CHK), &v, socklen_t(MemoryLayout<Int32>.size))
    }

    private func send(_ request: Request) throws(NetlinkError) -> UInt32 {
        // NL_AUTO_SEQ: libnl stamps the socket's next sequence number (also on a resent dump).
        nlmsg_hdr(request.msg).pointee.nlmsg_seq = UInt32(NL_AUTO_SEQ)
        let n = nl_send_auto(sock, request.msg)
        guard n >= 0 else { throw NetlinkError(request.op, code: nil, detail: "sending: " + String(cString: nl_geterror(n))) }
        return nlmsg_hdr(request.msg).pointee.nlmsg_seq
    }

    /// The receive loop: one datagram, split into its messages.
    private func receive(_ op: String) throws(NetlinkError) -> [Message] {
        let n = try receiveInPlace(op)
        return Message.split(Array(buffer[0..<n]))
    }

    /// One datagram into `buffer`; its length.
    private func receiveInPlace(_ op: String) throws(NetlinkError) -> Int {
        let fd = nl_socket_get_fd(sock)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(op + " (receiving)", code: errno)
            }
            return n
        }
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

/// One rtnetlink request: a message libnl built, owned (freed with this
/// object), and what it does in words, for errors ("creating vx.vrf1").
final class Request {
    let msg: OpaquePointer
    let op: String

    /// Takes a message an rtnl_* object built (rtnl_*_build_*_request).
    init(taking msg: OpaquePointer, _ op: String) {
        self.msg = msg
        self.op = op
    }

    /// A message libnl has no object for: the nlmsghdr and the fixed header
    /// `header` (ifinfomsg, tcmsg, ...); attributes follow with put and nest.
    init<H>(_ op: String, type: Int, flags: Int32 = 0, header: H) throws(NetlinkError) {
        self.op = op
        guard let m = nlmsg_alloc_simple(Int32(type), flags) else { throw NetlinkError(op, code: ENOMEM) }
        msg = m
        var h = header
        let rc = withUnsafeMutableBytes(of: &h) { nlmsg_append(m, $0.baseAddress, $0.count, Int32(NLMSG_ALIGNTO)) }
        guard rc == 0 else {
            nlmsg_free(m)
            throw NetlinkError(op, code: ENOMEM)
        }
    }

    deinit { nlmsg_free(msg) }

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
