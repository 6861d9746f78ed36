import Testing
import VRFCKernel
import VRFCModel

/// The pieces an apply runs a thousand times per route, against the plain
/// Swift they replace: the route index against a Dictionary, prefix and
/// route texts against string interpolation.
@Suite struct RouteIndexTests {
    static func prefix(_ rng: inout SplitMix) -> IPPrefix {
        if rng.next(2) == 0 {
            // Few distinct values, so keys repeat and collide.
            let a = IPAddress.v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next(64) << 8 | rng.next(4))))
            return IPPrefix(canonical: a, length: 16 + rng.next(17))
        }
        let a = IPAddress.v6(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(rng.next(64)), low: UInt64(rng.next(4))))
        return IPPrefix(canonical: a, length: [0, 48, 64, 127, 128][rng.next(5)])
    }

    @Test func findsWhatADictionaryFinds() {
        var rng = SplitMix(seed: 7)
        struct Key: Hashable {
            var table: UInt32
            var destination: IPPrefix
        }
        for size in [0, 1, 5, 40, 3000] {
            var index = RouteIndex(capacity: size == 40 ? 0 : size)  // one grows from nothing
            var reference: [Key: [Int]] = [:]
            for position in 0..<size {
                let key = Key(table: [100, 254, 1000][rng.next(3)], destination: Self.prefix(&rng))
                index.insert(table: key.table, destination: key.destination, position: position)
                reference[key, default: []].append(position)
            }
            #expect(index.count == size)
            for _ in 0..<(size * 2 + 50) {
                let key = Key(table: [100, 254, 1000, 7][rng.next(4)], destination: Self.prefix(&rng))
                let positions = reference[key] ?? []
                #expect(index.first(table: key.table, destination: key.destination) == positions.first)
                #expect(index.contains(table: key.table, destination: key.destination) == !positions.isEmpty)
                // In insertion order: the first one a test accepts.
                let odd = index.first(table: key.table, destination: key.destination, where: { $0 % 2 == 1 })
                #expect(odd == positions.first(where: { $0 % 2 == 1 }))
            }
        }
    }

    @Test func textsAreWhatInterpolationWrites() throws {
        var rng = SplitMix(seed: 11)
        for _ in 0..<2000 {
            let v6 = rng.next(2) == 0
            let a: IPAddress =
                v6
                ? .v6(
                    IPv6Address(
                        high: rng.next() & [~0, 0xFFFF_0000_FFFF_0000, 0][rng.next(3)], low: rng.next() & [~0, 0xFFFF, 0][rng.next(3)]))
                : .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next())))
            let length = rng.next(a.family.maxLength + 1)
            let p = IPPrefix(canonical: a, length: length)
            #expect(p.text == "\(a.masked(to: length))/\(length)")
            var bytes: [UInt8] = Array("x".utf8)
            a.write(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x\(a)")
            #expect(a.isSpelled(a.description) && !a.isSpelled(a.description + "0") && !a.isSpelled(""))
        }
        let gw4 = IPAddress(parsing: "192.0.2.250")
        let gw6 = IPAddress(parsing: "2001:db8:1::fa")
        let one = RouteSpec(
            table: 254, destination: IPPrefix(canonical: gw4!, length: 32),
            nexthops: [Nexthop(gateway: gw4, device: try InterfaceName(validating: "up0"), weight: 1)])
        #expect(one.description == "192.0.2.250/32 table 254 via 192.0.2.250 dev up0")
        var hops = [Nexthop(gateway: gw6, device: try InterfaceName(validating: "up0"), weight: 100)]
        hops.append(Nexthop(linkLocalOf: gw4!, device: try InterfaceName(validating: "eth1.100"), weight: 50))
        hops.append(Nexthop(gateway: nil, device: try InterfaceName(validating: "eth2"), weight: 256))
        let ecmp = RouteSpec(table: 100, destination: IPPrefix(canonical: gw6!, length: 0), nexthops: hops)
        #expect(
            ecmp.description
                == "default table 100 nexthop via 2001:db8:1::fa dev up0 weight 100 nexthop via link-local of 192.0.2.250 dev eth1.100 weight 50 nexthop dev eth2 weight 256"
        )
    }
}
