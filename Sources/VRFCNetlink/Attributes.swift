// Reading netlink messages and their attributes (TLVs) from raw bytes.
// Pure Swift over a byte array: the kernel's answers are parsed here, once,
// into value types; nothing outside this module sees a pointer.

/// Netlink aligns headers and attributes to 4 bytes (NLMSG_ALIGN, NLA_ALIGN).
@inline(__always) func align4(_ n: Int) -> Int { (n + 3) & ~3 }

/// A little-endian (host order on every Linux target Swift supports) reader.
struct Bytes {
    let base: [UInt8]
    let range: Range<Int>

    init(_ base: [UInt8], _ range: Range<Int>) {
        self.base = base
        self.range = range
    }

    var count: Int { range.count }

    func u8(at offset: Int = 0) -> UInt8? {
        offset + 1 <= count ? base[range.lowerBound + offset] : nil
    }

    func u16(at offset: Int = 0) -> UInt16? {
        guard offset + 2 <= count else { return nil }
        let i = range.lowerBound + offset
        return UInt16(base[i]) | UInt16(base[i + 1]) << 8
    }

    func u32(at offset: Int = 0) -> UInt32? {
        guard offset + 4 <= count else { return nil }
        let i = range.lowerBound + offset
        return UInt32(base[i]) | UInt32(base[i + 1]) << 8 | UInt32(base[i + 2]) << 16 | UInt32(base[i + 3]) << 24
    }

    func u64(at offset: Int = 0) -> UInt64? {
        guard let lo = u32(at: offset), let hi = u32(at: offset + 4) else { return nil }
        return UInt64(lo) | UInt64(hi) << 32
    }

    func i32(at offset: Int = 0) -> Int32? { u32(at: offset).map { Int32(bitPattern: $0) } }

    /// A u16 in network byte order (ports).
    func be16(at offset: Int = 0) -> UInt16? { u16(at: offset).map { UInt16(bigEndian: $0) } }

    func slice(from offset: Int, count n: Int? = nil) -> Bytes? {
        let n = n ?? (count - offset)
        guard offset >= 0, n >= 0, offset + n <= count else { return nil }
        return Bytes(base, (range.lowerBound + offset)..<(range.lowerBound + offset + n))
    }

    var array: [UInt8] { Array(base[range]) }

    /// A NUL-terminated string attribute.
    var string: String {
        let bytes = base[range]
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }
}

/// The attributes of one message part or nested attribute, by type. The
/// NLA_F_NESTED / NLA_F_NET_BYTEORDER bits are masked off the type. Lookups
/// scan the TLVs in place: a link message has a few dozen attributes and is
/// asked for about ten, so this beats building a table per message.
struct Attributes {
    private let bytes: Bytes

    init(_ bytes: Bytes) { self.bytes = bytes }

    subscript<T: BinaryInteger>(_ type: T) -> Bytes? {
        let want = UInt16(type)
        var offset = 0
        while offset + 4 <= bytes.count {
            guard let len = bytes.u16(at: offset), let t = bytes.u16(at: offset + 2),
                Int(len) >= 4, offset + Int(len) <= bytes.count
            else { return nil }
            if t & 0x3fff == want { return bytes.slice(from: offset + 4, count: Int(len) - 4) }
            offset += align4(Int(len))
        }
        return nil
    }

    func nested<T: BinaryInteger>(_ type: T) -> Attributes? { self[type].map(Attributes.init) }

    /// Every attribute in order, up to the first malformed one (where a
    /// lookup stops too): for messages asked for most of what they hold.
    func forEach(_ body: (UInt16, Bytes) -> Void) {
        var offset = 0
        while offset + 4 <= bytes.count {
            guard let len = bytes.u16(at: offset), let t = bytes.u16(at: offset + 2),
                Int(len) >= 4, offset + Int(len) <= bytes.count, let value = bytes.slice(from: offset + 4, count: Int(len) - 4)
            else { return }
            body(t & 0x3fff, value)
            offset += align4(Int(len))
        }
    }
}

/// One netlink message out of a receive buffer.
struct Message {
    let type: UInt16
    let flags: UInt16
    let seq: UInt32
    /// Everything after the 16-byte nlmsghdr.
    let payload: Bytes

    static let headerSize = 16

    /// Splits a datagram from a netlink socket into its messages.
    static func split(_ data: [UInt8]) -> [Message] {
        let all = Bytes(data, 0..<data.count)
        var out: [Message] = []
        var offset = 0
        while offset + headerSize <= data.count {
            guard let len = all.u32(at: offset), Int(len) >= headerSize, offset + Int(len) <= data.count,
                let type = all.u16(at: offset + 4), let flags = all.u16(at: offset + 6),
                let seq = all.u32(at: offset + 8),
                let payload = all.slice(from: offset + headerSize, count: Int(len) - headerSize)
            else { break }
            out.append(Message(type: type, flags: flags, seq: seq, payload: payload))
            offset += align4(Int(len))
        }
        return out
    }
}
