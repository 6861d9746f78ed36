// IPv4/IPv6 addresses and prefixes, parsed and printed in pure Swift so the
// compiler needs no libc resolver and behaves the same on every platform.

/// Where address text is written: an array, or a stack buffer when parsing
/// checks a spelling (that check runs for every prefix of every input).
protocol ByteSink {
    mutating func append(_ byte: UInt8)
}

extension Array: ByteSink where Element == UInt8 {}

struct StackBytes: ByteSink {
    let base: UnsafeMutablePointer<UInt8>
    var count = 0

    mutating func append(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
}

public struct IPv4Address: Hashable, Comparable, Sendable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted quad. Leading zeros are accepted here (so the caller can point at
    /// the canonical spelling) but `description` never prints them.
    public init?(parsing text: Substring) {
        var t = text
        guard let a = t.withUTF8({ Self.parse($0) }) else { return nil }
        self = a
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> IPv4Address? {
        var value: UInt32 = 0
        var parts = 0
        var current: UInt32 = 0
        var digits = 0
        for ch in b {
            if ch == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | current
                parts += 1
                current = 0
                digits = 0
            } else if ch >= UInt8(ascii: "0") && ch <= UInt8(ascii: "9") {
                current = current * 10 + UInt32(ch - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, current <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return IPv4Address(value << 8 | current)
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

extension IPv4Address: CustomStringConvertible {
    public var description: String {
        var buf: [UInt8] = []
        buf.reserveCapacity(15)
        write(into: &buf)
        return String(decoding: buf, as: UTF8.self)
    }

    func write<S: ByteSink>(into buf: inout S) {
        for shift in stride(from: 24, through: 0, by: -8) {
            let octet = UInt8(truncatingIfNeeded: value >> UInt32(shift))
            if octet >= 100 { buf.append(0x30 + octet / 100) }
            if octet >= 10 { buf.append(0x30 + octet / 10 % 10) }
            buf.append(0x30 + octet % 10)
            if shift > 0 { buf.append(UInt8(ascii: ".")) }
        }
    }
}

public struct IPv6Address: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// RFC 4291 text forms: hex groups, one `::`, optional trailing dotted quad.
    public init?(parsing text: Substring) {
        var t = text
        guard let a = t.withUTF8({ Self.parse($0) }) else { return nil }
        self = a
    }

    static func parse(_ u: UnsafeBufferPointer<UInt8>) -> IPv6Address? {
        let colon = UInt8(ascii: ":")
        guard !u.isEmpty else { return nil }
        // Groups before "::" (or all of them) and after it, accumulated as
        // 128-bit numbers so parsing allocates nothing.
        var head: UInt128 = 0
        var tail: UInt128 = 0
        var headCount = 0
        var tailCount = 0
        var compressed = false
        var idx = 0
        if u[0] == colon {
            guard u.count > 1, u[1] == colon else { return nil }
            compressed = true
            idx = 2
        }
        func add(_ g: UInt16) {
            if compressed {
                tail = tail << 16 | UInt128(g)
                tailCount += 1
            } else {
                head = head << 16 | UInt128(g)
                headCount += 1
            }
        }
        while idx < u.count {
            var value: UInt32 = 0
            var j = idx
            while j < u.count, j - idx <= 4, let h = hexValue(u[j]) {
                value = value << 4 | UInt32(h)
                j += 1
            }
            let digits = j - idx
            if j < u.count, u[j] == UInt8(ascii: ".") {
                // A trailing dotted quad: the last two groups.
                guard let v4 = IPv4Address.parse(UnsafeBufferPointer(rebasing: u[idx...])) else { return nil }
                add(UInt16(v4.value >> 16))
                add(UInt16(v4.value & 0xffff))
                idx = u.count
                break
            }
            guard digits >= 1, digits <= 4 else { return nil }
            add(UInt16(value))
            guard headCount + tailCount <= 8 else { return nil }
            idx = j
            guard idx < u.count else { break }
            guard u[idx] == colon else { return nil }
            idx += 1
            if idx < u.count, u[idx] == colon {
                guard !compressed else { return nil }
                compressed = true
                idx += 1
            } else if idx == u.count {
                return nil  // a single trailing ':'
            }
        }
        let count = headCount + tailCount
        guard compressed ? count < 8 : count == 8 else { return nil }
        let v = compressed ? head << UInt128(16 * (8 - headCount)) | tail : head
        return IPv6Address(high: UInt64(truncatingIfNeeded: v >> 64), low: UInt64(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    public var groups: [UInt16] {
        (0..<8).map { i in
            let word = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (UInt64(3 - i % 4) * 16))
        }
    }

    public static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }
}

extension IPv6Address: CustomStringConvertible {
    /// RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero
    /// groups compressed, the first one on a tie.
    public var description: String {
        var buf: [UInt8] = []
        buf.reserveCapacity(39)
        write(into: &buf)
        return String(decoding: buf, as: UTF8.self)
    }

    func write<S: ByteSink>(into buf: inout S) {
        func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (UInt64(3 - i % 4) * 16))
        }
        var bestStart = -1
        var bestLen = 0
        var i = 0
        while i < 8 {
            if group(i) == 0 {
                var j = i
                while j < 8 && group(j) == 0 { j += 1 }
                if j - i > bestLen {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        i = 0
        while i < 8 {
            if i == bestStart {
                buf.append(UInt8(ascii: ":"))
                buf.append(UInt8(ascii: ":"))
                i += bestLen
                continue
            }
            // A ':' between groups, except right after the "::".
            if i > 0 && !(bestStart >= 0 && i == bestStart + bestLen) { buf.append(UInt8(ascii: ":")) }
            let g = group(i)
            var started = false
            for shift in stride(from: 12, through: 0, by: -4) {
                let d = Int(g >> UInt16(shift) & 0xf)
                if d != 0 || started || shift == 0 {
                    buf.append(UInt8(d < 10 ? 0x30 + d : 0x57 + d))
                    started = true
                }
            }
            i += 1
        }
    }
}

public enum AddressFamily: String, Codable, Hashable, Sendable, CaseIterable {
    case ipv4, ipv6

    public var maxLength: Int { self == .ipv4 ? 32 : 128 }
}

public enum IPAddress: Hashable, Comparable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public init?(parsing text: Substring) {
        var t = text
        guard let a = t.withUTF8({ Self.parse($0) }) else { return nil }
        self = a
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        if b.contains(UInt8(ascii: ":")) { return IPv6Address.parse(b).map { .v6($0) } }
        return IPv4Address.parse(b).map { .v4($0) }
    }

    /// The address with every bit after the first `length` cleared.
    public func masked(to length: Int) -> IPAddress {
        switch self {
        case .v4(let a):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return .v4(IPv4Address(a.value & mask))
        case .v6(let a):
            func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - bits) }
            return .v6(IPv6Address(high: a.high & mask(length), low: a.low & mask(length - 64)))
        }
    }

    public static func < (l: Self, r: Self) -> Bool {
        switch (l, r) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// Appends the address as `description` spells it: text made of many
    /// parts (a route's words) is built in one buffer, not piece by piece.
    public func write(to bytes: inout [UInt8]) {
        write(into: &bytes)
    }

    func write<S: ByteSink>(into buf: inout S) {
        switch self {
        case .v4(let a): a.write(into: &buf)
        case .v6(let a): a.write(into: &buf)
        }
    }

    /// Whether `text` is exactly how this address prints (`description ==
    /// text`), checked in a stack buffer: a reader of a thousand gateways
    /// makes no String per address.
    public func isSpelled(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { u in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { raw in
                var buf = StackBytes(base: raw.baseAddress!)
                write(into: &buf)
                return buf.bytes.elementsEqual(u)
            }
        }
    }
}

/// A network prefix, always canonical (no host bits) once constructed. It
/// keeps its canonical text, which inputs already are and outputs print.
public struct IPPrefix: Hashable, Comparable, Sendable {
    public let address: IPAddress
    public let length: Int
    public let text: String

    public var family: AddressFamily { address.family }

    /// Why a CIDR string is not acceptable; `canonical` is the spelling to suggest.
    public enum ParseError: Error, Equatable, Sendable {
        case malformed
        case missingLength(suggestion: String)
        case lengthOutOfRange(max: Int)
        case notCanonical(canonical: String)
    }

    public init(canonical address: IPAddress, length: Int) {
        precondition(length >= 0 && length <= address.family.maxLength)
        let masked = address.masked(to: length)
        self.address = masked
        self.length = length
        // Written in a stack buffer and made a String once: every route a
        // kernel dump reports becomes one of these.
        text = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { raw in
            var buf = StackBytes(base: raw.baseAddress!)
            masked.write(into: &buf)
            buf.append(UInt8(ascii: "/"))
            if length >= 100 { buf.append(UInt8(48 + length / 100)) }
            if length >= 10 { buf.append(UInt8(48 + length / 10 % 10)) }
            buf.append(UInt8(48 + length % 10))
            return String(decoding: buf.bytes, as: UTF8.self)
        }
    }

    private init(address: IPAddress, length: Int, text: String) {
        self.address = address
        self.length = length
        self.text = text
    }

    /// Strict parse: the text must be exactly the canonical spelling.
    public static func parse(_ text: String) -> Result<IPPrefix, ParseError> {
        var t = text
        return t.withUTF8 { u in parse(u, text: text) }
    }

    private static func parse(_ u: UnsafeBufferPointer<UInt8>, text: String) -> Result<IPPrefix, ParseError> {
        guard let slash = u.firstIndex(of: UInt8(ascii: "/")) else {
            guard let address = IPAddress.parse(u) else { return .failure(.malformed) }
            return .failure(.missingLength(suggestion: "\(address)/\(address.family.maxLength)"))
        }
        guard let address = IPAddress.parse(UnsafeBufferPointer(rebasing: u[..<slash])) else { return .failure(.malformed) }
        let lenBytes = u[(slash + 1)...]
        guard !lenBytes.isEmpty, lenBytes.count <= 3, lenBytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .failure(.malformed) }
        let length = lenBytes.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard length <= address.family.maxLength else { return .failure(.lengthOutOfRange(max: address.family.maxLength)) }
        let masked = address.masked(to: length)
        // Canonical: no host bits, and the text is exactly how the address prints.
        let canonical = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { raw -> String? in
            var buf = StackBytes(base: raw.baseAddress!)
            switch masked {
            case .v4(let a): a.write(into: &buf)
            case .v6(let a): a.write(into: &buf)
            }
            buf.append(UInt8(ascii: "/"))
            if length >= 100 { buf.append(UInt8(48 + length / 100)) }
            if length >= 10 { buf.append(UInt8(48 + length / 10 % 10)) }
            buf.append(UInt8(48 + length % 10))
            return masked == address && buf.bytes.elementsEqual(u) ? nil : String(decoding: buf.bytes, as: UTF8.self)
        }
        if let canonical { return .failure(.notCanonical(canonical: canonical)) }
        return .success(IPPrefix(address: address, length: length, text: text))
    }

    public func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.length >= length && other.address.masked(to: length) == address
    }

    public static func < (l: Self, r: Self) -> Bool { (l.address, l.length) < (r.address, r.length) }
    public static func == (l: Self, r: Self) -> Bool { l.address == r.address && l.length == r.length }
    public func hash(into h: inout Hasher) {
        h.combine(address)
        h.combine(length)
    }
}

extension IPPrefix: CustomStringConvertible {
    public var description: String { text }
}

extension IPPrefix: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch IPPrefix.parse(text) {
        case .success(let p): self = p
        case .failure:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a canonical prefix: \(text)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPv4Address: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv4Address(parsing: text[...]), a.description == text else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
