import VRFCModel

/// A prefix as its bits, left-aligned in 128 bits (IPv4 in the top 32), so
/// one code path serves both families and matching is a mask and a compare.
public struct PrefixKey: Hashable, Comparable, Sendable {
    public let bits: UInt128
    public let length: Int
    public let family: AddressFamily

    public init(bits: UInt128, length: Int, family: AddressFamily) {
        self.bits = bits & Self.mask(length)
        self.length = length
        self.family = family
    }

    public init(_ p: IPPrefix) {
        switch p.address {
        case .v4(let a): bits = UInt128(a.value) << 96
        case .v6(let a): bits = UInt128(a.high) << 64 | UInt128(a.low)
        }
        length = p.length
        family = p.family
    }

    /// The whole address space of a family: `0.0.0.0/0` or `::/0`.
    public static func root(_ family: AddressFamily) -> PrefixKey { PrefixKey(bits: 0, length: 0, family: family) }

    @inline(__always)
    public static func mask(_ length: Int) -> UInt128 { length == 0 ? 0 : ~UInt128(0) << UInt128(128 - length) }

    /// Whether `other` lies within this prefix (FRR's `prefix_match`).
    @inline(__always)
    public func contains(_ other: PrefixKey) -> Bool {
        other.length >= length && other.bits & Self.mask(length) == bits
    }

    /// The half of this prefix whose next bit is `bit`.
    public func child(_ bit: Int) -> PrefixKey {
        let b: UInt128 = bit == 0 ? 0 : UInt128(1) << UInt128(127 - length)
        return PrefixKey(bits: bits | b, length: length + 1, family: family)
    }

    /// The last address of the prefix, for range searches.
    var last: UInt128 { bits | ~Self.mask(length) }

    public var prefix: IPPrefix {
        switch family {
        case .ipv4: IPPrefix(canonical: .v4(IPv4Address(UInt32(truncatingIfNeeded: bits >> 96))), length: length)
        case .ipv6:
            IPPrefix(
                canonical: .v6(IPv6Address(high: UInt64(truncatingIfNeeded: bits >> 64), low: UInt64(truncatingIfNeeded: bits))),
                length: length)
        }
    }

    public static func < (l: Self, r: Self) -> Bool { (l.bits, l.length) < (r.bits, r.length) }
}
