// Every string that can reach FRR text or an interface name is one of these
// validated types. Their initialisers are the only way in, so no IR value can
// carry a newline, a space, a `!` or a quote into a generated config.

/// Why a string was refused, phrased as what would be right.
public struct NameError: Error, Equatable, Sendable {
    public let expected: String
    public init(expected: String) { self.expected = expected }
}

@inline(__always)
func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

/// Decimal digits only, no sign, no leading zero (unless "0"), within `range`.
func parseDecimal(_ s: Substring, in range: ClosedRange<UInt64>) -> UInt64? {
    let u = s.utf8
    guard !u.isEmpty, u.count <= 20, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    if u.count > 1 && u.first == 0x30 { return nil }
    guard let v = UInt64(s), range.contains(v) else { return nil }
    return v
}

/// A VRF name as written in CRs and the node config. It becomes part of the
/// interface names of its stack (`VRFNames`: prefix + name), so it is at most
/// 12 characters (IFNAMSIZ 16 minus NUL minus the 3-character prefix).
public struct VRFName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String
    public static let maxLength = InterfaceName.maxLength - StackLink.prefixLength
    public static let rule = "1 to \(maxLength) characters from A-Z, a-z, 0-9, '_' and '-'"

    public init(validating s: String) throws(NameError) {
        let u = s.utf8
        guard !u.isEmpty, u.count <= Self.maxLength,
            u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { throw NameError(expected: Self.rule) }
        value = s
    }

    public var description: String { value }
    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

/// A Linux interface name that vrfc may name in an op list (`bpfInterfaces`).
public struct InterfaceName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String
    /// IFNAMSIZ (16) minus the terminating NUL.
    public static let maxLength = 15
    public static let rule = "1 to \(maxLength) characters from A-Z, a-z, 0-9, '_', '-' and '.', not '.' or '..'"

    public init(validating s: String) throws(NameError) {
        let u = s.utf8
        guard !u.isEmpty, u.count <= Self.maxLength, s != ".", s != "..",
            u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { throw NameError(expected: Self.rule) }
        value = s
    }

    public var description: String { value }
    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

/// A BGP community for `set community`: `AA:NN` (each 0..65535) or one of the
/// well-known names FRR 8.4 accepts there.
public struct Community: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let wellKnown: Set<String> = [
        "internet", "local-AS", "no-advertise", "no-export", "graceful-shutdown",
        "accept-own", "accept-own-nexthop", "llgr-stale", "no-llgr", "blackhole", "no-peer",
        "route-filter-translated-v4", "route-filter-v4", "route-filter-translated-v6", "route-filter-v6",
    ]
    public static let rule =
        "'AA:NN' with AA and NN in 0..65535 (e.g. '65000:100'), or one of: "
        + wellKnown.sorted().joined(separator: ", ")

    /// FRR prints these `AA:NN` values by name; vrfc writes the name too, so
    /// its config matches FRR's running config and reloads see no difference.
    public static let numericNames: [String: String] = [
        "0:0": "internet", "65535:0": "graceful-shutdown", "65535:1": "accept-own",
        "65535:2": "route-filter-translated-v4", "65535:3": "route-filter-v4",
        "65535:4": "route-filter-translated-v6", "65535:5": "route-filter-v6",
        "65535:6": "llgr-stale", "65535:7": "no-llgr", "65535:8": "accept-own-nexthop",
        "65535:666": "blackhole", "65535:65281": "no-export", "65535:65282": "no-advertise",
        "65535:65283": "local-AS", "65535:65284": "no-peer",
    ]

    public init(validating s: String) throws(NameError) {
        if Self.wellKnown.contains(s) {
            value = s
            return
        }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parseDecimal(parts[0], in: 0...65535) != nil,
            parseDecimal(parts[1], in: 0...65535) != nil
        else { throw NameError(expected: Self.rule) }
        value = Self.numericNames[s] ?? s
    }

    /// The 32-bit value FRR stores, by which it orders a `set community` list.
    public var numeric: UInt32 {
        if let name = Self.valueOfName[value] { return name }
        let parts = value.split(separator: ":")
        return UInt32(parts[0])! << 16 | UInt32(parts[1])!
    }

    static let valueOfName: [String: UInt32] = Dictionary(
        uniqueKeysWithValues: numericNames.map { numeric, name in
            let parts = numeric.split(separator: ":")
            return (name, UInt32(parts[0])! << 16 | UInt32(parts[1])!)
        })

    public var description: String { value }
}

/// `spec.community`: one or more communities separated by single spaces, as
/// FRR's `set community` takes them. The members are kept in the order FRR
/// sorts them (ascending 32-bit value, well-known names after `AA:NN`
/// values below 65535:0), so the generated line is what FRR's running config
/// shows and a reload sees no difference.
public struct CommunityList: Hashable, Sendable, CustomStringConvertible {
    public let members: [Community]
    /// The `set community` argument: the members in FRR's order.
    public let value: String
    public static let rule = "communities separated by single spaces, each listed once and each " + Community.rule

    public init(validating s: String) throws(NameError) {
        var members: [Community] = []
        for token in s.split(separator: " ", omittingEmptySubsequences: false) {
            guard let c = try? Community(validating: String(token)) else { throw NameError(expected: Self.rule) }
            if let same = members.first(where: { $0 == c }) {
                throw NameError(
                    expected: same.value == token
                        ? "each community once ('\(token)' is listed twice)"
                        : "each community once ('\(token)' is '\(same)', listed before it)")
            }
            members.append(c)
        }
        self.members = members.sorted { $0.numeric < $1.numeric }
        value = self.members.map(\.value).joined(separator: " ")
    }

    public init(_ members: [Community]) throws(NameError) {
        try self.init(validating: members.map(\.value).joined(separator: " "))
    }

    public var description: String { value }
}

/// An EVPN route target: `ASN:NN` (2-byte ASN with 4-byte NN, or 4-byte ASN
/// with 2-byte NN) or `IPv4:NN` (2-byte NN), as FRR's `route-target` takes it.
public struct RouteTarget: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let rule =
        "'ASN:NN' (ASN 1..65535 with NN 0..4294967295, or ASN up to 4294967295 with NN 0..65535) or 'IPv4:NN' (NN 0..65535), e.g. '65000:100'"

    public init(validating s: String) throws(NameError) {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw NameError(expected: Self.rule) }
        let (admin, assigned) = (parts[0], parts[1])
        if admin.contains(".") {
            guard let ip = IPv4Address(parsing: admin), ip.description == admin,
                parseDecimal(assigned, in: 0...65535) != nil
            else { throw NameError(expected: Self.rule) }
        } else {
            guard let asn = parseDecimal(admin, in: 1...4_294_967_295),
                parseDecimal(assigned, in: 0...(asn <= 65535 ? 4_294_967_295 : 65535)) != nil
            else { throw NameError(expected: Self.rule) }
        }
        value = s
    }

    public var description: String { value }
}

/// The node's hostname for FRR's `hostname` line (RFC 1123 labels).
public struct Hostname: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let rule =
        "dot-separated labels of 1 to 63 characters from A-Z, a-z, 0-9 and '-', not starting or ending with '-', at most 253 characters"

    public init(validating s: String) throws(NameError) {
        guard !s.isEmpty, s.utf8.count <= 253 else { throw NameError(expected: Self.rule) }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            let u = label.utf8
            guard !u.isEmpty, u.count <= 63, u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }),
                u.first != UInt8(ascii: "-"), u.last != UInt8(ascii: "-")
            else { throw NameError(expected: Self.rule) }
        }
        value = s
    }

    public var description: String { value }
}

/// A Kubernetes object name (DNS-1123 subdomain). It never reaches FRR text but
/// appears in the IR and in messages, so it is held to the API server's rule.
public struct ObjectName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String
    public static let rule =
        "a DNS-1123 subdomain: lowercase a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters"

    public init(validating s: String) throws(NameError) {
        let u = s.utf8
        func lowerAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
        guard !u.isEmpty, u.count <= 253,
            u.allSatisfy({ lowerAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { throw NameError(expected: Self.rule) }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            guard let f = label.utf8.first, let l = label.utf8.last, lowerAlnum(f), lowerAlnum(l)
            else { throw NameError(expected: Self.rule) }
        }
        value = s
    }

    public var description: String { value }
    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

// The IR is serialised as JSON; decoding re-validates, so a hand-edited IR or
// op list cannot smuggle in what the input parser would have refused.
public protocol ValidatedString: Codable {
    var value: String { get }
    init(validating s: String) throws(NameError)
}

extension ValidatedString {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(validating: s)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(s)' is not valid: expected \(error.expected)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

extension VRFName: ValidatedString {}
extension InterfaceName: ValidatedString {}
extension Community: ValidatedString {}
extension CommunityList: ValidatedString {}
extension RouteTarget: ValidatedString {}
extension Hostname: ValidatedString {}
extension ObjectName: ValidatedString {}
