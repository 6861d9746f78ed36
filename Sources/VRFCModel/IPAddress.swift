// IPv4/IPv6 addresses and prefixes, parsed and printed in pure Swift so the
// compiler needs no libc resolver and behaves the same on every platform.

public struct IPv4Address: Hashable, Comparable, Sendable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted quad. Leading zeros are accepted here (so the caller can point at
    /// the canonical spelling) but `description` never prints them.
    public init?(parsing text: Substring) {
        var parts: [UInt32] = []
        parts.reserveCapacity(4)
        var current: UInt32 = 0
        var digits = 0
        for ch in text.utf8 {
            if ch == UInt8(ascii: ".") {
                guard digits > 0, parts.count < 3 else { return nil }
                parts.append(current)
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
        guard digits > 0, parts.count == 3 else { return nil }
        parts.append(current)
        value = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

extension IPv4Address: CustomStringConvertible {
    public var description: String { bytes.map(String.init).joined(separator: ".") }
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
        guard !text.isEmpty else { return nil }
        var groups: [UInt16] = []
        var compressAt: Int? = nil
        var rest = text[...]
        if rest.hasPrefix("::") {
            compressAt = 0
            rest = rest.dropFirst(2)
            if rest.isEmpty {
                self.init(high: 0, low: 0)
                return
            }
        } else if rest.hasPrefix(":") {
            return nil
        }
        let fields = rest.split(separator: ":", omittingEmptySubsequences: false)
        for (i, field) in fields.enumerated() {
            if field.isEmpty {
                // An empty field is the second colon of "::" (only once), or a
                // trailing "::" ("2001:db8::").
                if i == fields.count - 1 {
                    guard compressAt == groups.count else { return nil }
                    continue
                }
                guard compressAt == nil else { return nil }
                compressAt = groups.count
                continue
            }
            if i == fields.count - 1, field.contains(".") {
                guard let v4 = IPv4Address(parsing: field) else { return nil }
                groups.append(UInt16(v4.value >> 16))
                groups.append(UInt16(v4.value & 0xffff))
                continue
            }
            guard field.utf8.count <= 4, let g = UInt16(field, radix: 16) else { return nil }
            groups.append(g)
        }
        if let at = compressAt {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: at)
        }
        guard groups.count == 8 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        self.init(high: h, low: l)
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
        let g = groups
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        let hex = g.map { String($0, radix: 16) }
        if bestLen < 2 { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLen)...].joined(separator: ":")
        return head + "::" + tail
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
        if text.contains(":") {
            guard let a = IPv6Address(parsing: text) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(parsing: text) else { return nil }
            self = .v4(a)
        }
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
}

/// A network prefix, always canonical (no host bits) once constructed.
public struct IPPrefix: Hashable, Comparable, Sendable {
    public let address: IPAddress
    public let length: Int

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
        self.address = address.masked(to: length)
        self.length = length
    }

    /// Strict parse: the text must be exactly the canonical spelling.
    public static func parse(_ text: String) -> Result<IPPrefix, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: parts[0]) else { return .failure(.malformed) }
        guard parts.count == 2 else {
            return .failure(.missingLength(suggestion: "\(address)/\(address.family.maxLength)"))
        }
        let lenText = parts[1]
        guard !lenText.isEmpty, lenText.utf8.count <= 3, lenText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let length = Int(lenText) else { return .failure(.malformed) }
        guard length <= address.family.maxLength else {
            return .failure(.lengthOutOfRange(max: address.family.maxLength))
        }
        let prefix = IPPrefix(canonical: address, length: length)
        if prefix.description != text { return .failure(.notCanonical(canonical: prefix.description)) }
        return .success(prefix)
    }

    public func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.length >= length && other.address.masked(to: length) == address
    }

    public static func < (l: Self, r: Self) -> Bool { (l.address, l.length) < (r.address, r.length) }
}

extension IPPrefix: CustomStringConvertible {
    public var description: String { "\(address)/\(length)" }
}

extension IPPrefix: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch IPPrefix.parse(text) {
        case .success(let p): self = p
        case .failure: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a canonical prefix: \(text)"))
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
