import Glibc

/// Hand-built Ethernet frames for BPF_PROG_TEST_RUN: every field explicit,
/// so a test can break exactly one of them.
public enum Frame {
    public static let etherIPv4: UInt16 = 0x0800
    public static let etherIPv6: UInt16 = 0x86dd
    public static let etherARP: UInt16 = 0x0806
    public static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

    public static func ethernet(dst: [UInt8], src: [UInt8], type: UInt16) -> [UInt8] {
        dst + src + [UInt8(type >> 8), UInt8(type & 0xff)]
    }

    public static func v4(_ s: String) -> [UInt8] {
        var a = in_addr()
        precondition(inet_pton(AF_INET, s, &a) == 1, "not an IPv4 address: \(s)")
        return withUnsafeBytes(of: a) { Array($0) }
    }

    public static func v6(_ s: String) -> [UInt8] {
        var a = in6_addr()
        precondition(inet_pton(AF_INET6, s, &a) == 1, "not an IPv6 address: \(s)")
        return withUnsafeBytes(of: a) { Array($0) }
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var it = bytes.makeIterator()
        while let hi = it.next() {
            let lo = it.next() ?? 0
            sum += UInt32(hi) << 8 | UInt32(lo)
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// An IPv4 header (checksum filled in) + UDP header + payload.
    public static func ipv4(
        dstMAC: [UInt8], srcMAC: [UInt8] = [0x02, 0, 0, 0, 0xee, 0x01],
        src: String, dst: String, ttl: UInt8 = 64, tos: UInt8 = 0,
        options: [UInt8] = [], payload: [UInt8] = Array(repeating: 0x5a, count: 32)
    ) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let udp = udpHeader(length: payload.count) + payload
        let ihl = 5 + options.count / 4
        let total = ihl * 4 + udp.count
        var ip: [UInt8] = [
            UInt8(0x40 | ihl), tos, UInt8(total >> 8), UInt8(total & 0xff),
            0x12, 0x34, 0x40, 0x00, ttl, 17, 0, 0,
        ]
        ip += v4(src) + v4(dst) + options
        let c = checksum(ip)
        ip[10] = UInt8(c >> 8)
        ip[11] = UInt8(c & 0xff)
        return ethernet(dst: dstMAC, src: srcMAC, type: etherIPv4) + ip + udp
    }

    /// An IPv6 header + UDP header + payload (`nextHeader` 0 makes the
    /// payload start as a hop-by-hop header).
    public static func ipv6(
        dstMAC: [UInt8], srcMAC: [UInt8] = [0x02, 0, 0, 0, 0xee, 0x01],
        src: String, dst: String, hopLimit: UInt8 = 64, nextHeader: UInt8 = 17,
        payload: [UInt8] = Array(repeating: 0x5a, count: 32)
    ) -> [UInt8] {
        let body = udpHeader(length: payload.count) + payload
        var ip: [UInt8] = [0x60, 0x0a, 0xbc, 0xde, UInt8(body.count >> 8), UInt8(body.count & 0xff), nextHeader, hopLimit]
        ip += v6(src) + v6(dst)
        return ethernet(dst: dstMAC, src: srcMAC, type: etherIPv6) + ip + body
    }

    public static func arpRequest(srcMAC: [UInt8], senderIP: String, targetIP: String) -> [UInt8] {
        let arp: [UInt8] = [0, 1, 0x08, 0x00, 6, 4, 0, 1] + srcMAC + v4(senderIP) + [0, 0, 0, 0, 0, 0] + v4(targetIP)
        return ethernet(dst: broadcast, src: srcMAC, type: etherARP) + arp
    }

    static func udpHeader(length: Int) -> [UInt8] {
        let l = 8 + length
        // Checksum 0: "none" for IPv4; the router never looks at it.
        return [0x30, 0x39, 0x00, 0x35, UInt8(l >> 8), UInt8(l & 0xff), 0, 0]
    }
}

/// Accessors on a frame the program returned.
public struct FrameView {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var dstMAC: [UInt8] { Array(bytes[0..<6]) }
    public var srcMAC: [UInt8] { Array(bytes[6..<12]) }
    public var ipv4TTL: UInt8 { bytes[14 + 8] }
    public var ipv4Header: ArraySlice<UInt8> { bytes[14..<(14 + Int(bytes[14] & 0x0f) * 4)] }
    /// True when the IPv4 header checksum verifies.
    public var ipv4ChecksumValid: Bool { Frame.checksum(ipv4Header) == 0 }
    public var ipv6HopLimit: UInt8 { bytes[14 + 7] }
}
