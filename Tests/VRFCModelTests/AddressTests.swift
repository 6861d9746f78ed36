import Foundation
import Testing

@testable import VRFCModel

/// The C library's inet_pton/inet_ntop are the oracle for address text: FRR
/// prints addresses with them, so vrfc's canonical form must be theirs.
@Suite struct AddressTests {
    static func ntop6(_ text: String) -> String? {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, text, &addr) == 1 else { return nil }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(cString: buf)
    }

    @Test func ipv6AgreesWithInetPtonAndNtop() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Random addresses rich in zero groups, the hard case for "::".
            let groups = (0..<8).map { _ in Bool.random(using: &rng) ? 0 : UInt16.random(in: 0...0xffff, using: &rng) }
            let long = groups.map { String($0, radix: 16) }.joined(separator: ":")
            let parsed = IPv6Address(parsing: long[...])
            #expect(parsed != nil, "\(long)")
            guard let parsed, let expected = Self.ntop6(long), !expected.contains(".") else { continue }
            #expect(parsed.description == expected, "\(long)")
            #expect(IPv6Address(parsing: expected[...]) == parsed)
        }
    }

    @Test func ipv6RejectsWhatInetPtonRejects() {
        for bad in [
            "", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "1:2:3:4:5:6:7", "::1:", "1:", ":1", "1.2.3.4", "::1.2.3",
        ] {
            #expect(IPv6Address(parsing: bad[...]) == nil, "\(bad)")
            #expect(Self.ntop6(bad) == nil, "\(bad) is valid for inet_pton?")
        }
        #expect(IPv6Address(parsing: "::ffff:192.0.2.1") == IPv6Address(high: 0, low: 0x0000_ffff_c000_0201))
        #expect(IPv6Address(parsing: "1:2:3:4:5:6:7::") != nil)
    }

    @Test func ipv4ParsesAndPrints() {
        #expect(IPv4Address(parsing: "192.0.2.255")?.description == "192.0.2.255")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 "] {
            #expect(IPv4Address(parsing: bad[...]) == nil, "\(bad)")
        }
        for v in [UInt32(0), 1, 0xffff_ffff, 0xc000_0201, 0x0a00_00ff] {
            var a = in_addr(s_addr: v.bigEndian)
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
            #expect(IPv4Address(v).description == String(cString: buf))
        }
    }

    @Test func prefixesMustBeCanonical() throws {
        #expect(try IPPrefix.parse("203.0.113.0/24").get().description == "203.0.113.0/24")
        #expect(IPPrefix.parse("203.0.113.1/24") == .failure(.notCanonical(canonical: "203.0.113.0/24")))
        #expect(IPPrefix.parse("2001:DB8::/32") == .failure(.notCanonical(canonical: "2001:db8::/32")))
        #expect(IPPrefix.parse("2001:db8:0:0:0:0:0:0/32") == .failure(.notCanonical(canonical: "2001:db8::/32")))
        #expect(IPPrefix.parse("010.0.0.0/8") == .failure(.notCanonical(canonical: "10.0.0.0/8")))
        #expect(IPPrefix.parse("10.0.0.0/08") == .failure(.notCanonical(canonical: "10.0.0.0/8")))
        #expect(IPPrefix.parse("10.0.0.0/33") == .failure(.lengthOutOfRange(max: 32)))
        #expect(IPPrefix.parse("10.0.0.1") == .failure(.missingLength(suggestion: "10.0.0.1/32")))
        #expect(IPPrefix.parse("10.0.0.0/") == .failure(.malformed))
        #expect(IPPrefix.parse("10.0.0.0/-1") == .failure(.malformed))
        #expect(try IPPrefix.parse("0.0.0.0/0").get().length == 0)
        #expect(try IPPrefix.parse("::/0").get().family == .ipv6)
    }

    @Test func maskingClearsExactlyTheHostBits() throws {
        let p = IPPrefix(canonical: .v6(try #require(IPv6Address(parsing: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"))), length: 67)
        #expect(p.description == "2001:db8:ffff:ffff:e000::/67")
        #expect(IPPrefix(canonical: .v4(IPv4Address(0xffff_ffff)), length: 0).description == "0.0.0.0/0")
    }
}

@Suite struct NameTests {
    @Test func vrfNames() {
        for good in ["a", "vrf1", "mgmt_vrf", "t-01", "ABCDEFGHIJKL"] { #expect((try? VRFName(validating: good)) != nil, "\(good)") }
        for bad in ["", "ABCDEFGHIJKLM", "a b", "a.b", "a\nb", "a!", "ä", "a/b", "\"a\""] {
            #expect((try? VRFName(validating: bad)) == nil, "\(bad)")
        }
    }

    @Test func communities() {
        for good in ["0:0", "65535:65535", "no-export", "local-AS"] { #expect((try? Community(validating: good)) != nil, "\(good)") }
        for bad in ["", "65536:0", "1:65536", "1", "1:2:3", "01:1", "no-export additive", "NO-EXPORT", "1:-1"] {
            #expect((try? Community(validating: bad)) == nil, "\(bad)")
        }
        #expect((try? Community(validating: "65535:65281"))?.value == "no-export")
    }

    /// `spec.community` lists: typed members in FRR's order (by 32-bit value).
    @Test func communityLists() throws {
        let list = try CommunityList(validating: "no-export 65000:2 65000:1")
        #expect(list.value == "65000:1 65000:2 no-export")
        #expect(
            list.members == [
                try Community(validating: "65000:1"), try Community(validating: "65000:2"), try Community(validating: "no-export"),
            ])
        #expect(list.members.map(\.numeric) == [65000 << 16 | 1, 65000 << 16 | 2, 0xFFFF_FF01])
        #expect(try CommunityList(list.members) == list)
        for bad in ["", " ", "65000:1  65000:2", "65000:1 65000:1", "no-export 65535:65281", "65000:1 additive", "65000:1\n65000:2"] {
            #expect((try? CommunityList(validating: bad)) == nil, "\(bad.debugDescription)")
        }
        // Decoding an IR re-validates, and reads the list back in FRR's order.
        let decoded = try JSONDecoder().decode([CommunityList].self, from: Data(#"["65000:2 65000:1"]"#.utf8))
        #expect(decoded.first?.value == "65000:1 65000:2")
        #expect(throws: (any Error).self) { try JSONDecoder().decode([CommunityList].self, from: Data(#"["65000:1 x"]"#.utf8)) }
    }

    @Test func routeTargets() {
        for good in ["1:4294967295", "65536:65535", "192.0.2.1:0"] { #expect((try? RouteTarget(validating: good)) != nil, "\(good)") }
        for bad in ["0:1", "65536:65536", "192.0.2.1:65536", "192.0.02.1:1", "x:1", "1:"] {
            #expect((try? RouteTarget(validating: bad)) == nil, "\(bad)")
        }
    }

    @Test func interfaceNamesAndHostnames() {
        #expect((try? InterfaceName(validating: "vx.200")) != nil)
        #expect((try? InterfaceName(validating: "1234567890123456")) == nil)
        #expect((try? Hostname(validating: "node-a.example")) != nil)
        for bad in ["-a", "a-", "a..b", "a b", String(repeating: "a", count: 64)] {
            #expect((try? Hostname(validating: bad)) == nil, "\(bad)")
        }
    }

    /// Decoding re-validates: a tampered IR cannot carry what input parsing refuses.
    @Test func decodingRevalidates() {
        let bad = Data(#"["vrf1\nrouter bgp 1"]"#.utf8)
        #expect(throws: (any Error).self) { try JSONDecoder().decode([VRFName].self, from: bad) }
        #expect((try? JSONDecoder().decode([VRFName].self, from: Data(#"["vrf1"]"#.utf8)))?.first?.value == "vrf1")
    }
}
