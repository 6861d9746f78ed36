import VRFCModel

/// Positions of routes by their key in the kernel, table and destination:
/// a hash table of its own rather than a Dictionary, because an apply looks
/// up every one of a thousand routes several times (validation, the plan,
/// the read-back), and hashing a prefix with `Hasher` (SipHash over an enum
/// of addresses) cost more than the rest of that work. The key is kept as
/// plain bits, so entries copy without reference counting.
///
/// A key may be inserted more than once (the kernel can hold several IPv4
/// routes with one key); its positions are found in insertion order.
public struct RouteIndex {
    struct Key: Equatable {
        var table: UInt32
        var length: UInt16
        var family: UInt16
        var high: UInt64
        var low: UInt64

        init(_ table: UInt32, _ destination: IPPrefix) {
            self.table = table
            length = UInt16(destination.length)
            switch destination.address {
            case .v4(let a):
                family = 4
                high = 0
                low = UInt64(a.value)
            case .v6(let a):
                family = 6
                high = a.high
                low = a.low
            }
        }

        /// A multiply-xorshift mix of every bit of the key.
        var hash: Int {
            func mix(_ x: UInt64) -> UInt64 {
                var z = x &* 0x9E37_79B9_7F4A_7C15
                z ^= z >> 32
                z = z &* 0xD6E8_FEB8_6659_FD93
                return z ^ z >> 29
            }
            return Int(truncatingIfNeeded: mix(low ^ mix(high ^ mix(UInt64(table) << 32 | UInt64(length) << 16 | UInt64(family)))))
        }
    }

    private var entries: [(key: Key, position: Int)] = []
    /// Open addressing, linear probing: an entry's number, or -1. Never more than half full.
    private var slots: [Int32]

    public init(capacity: Int = 0) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: -1, count: n)
        entries.reserveCapacity(capacity)
    }

    public var count: Int { entries.count }

    public mutating func insert(table: UInt32, destination: IPPrefix, position: Int) {
        if (entries.count + 1) * 2 > slots.count { grow() }
        let key = Key(table, destination)
        place(Int32(entries.count), hash: key.hash)
        entries.append((key, position))
    }

    private mutating func place(_ entry: Int32, hash: Int) {
        let mask = slots.count - 1
        var i = hash & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = entry
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for (e, entry) in entries.enumerated() { place(Int32(e), hash: entry.key.hash) }
    }

    /// The first position with this key for which `accept` holds, in insertion order.
    public func first(table: UInt32, destination: IPPrefix, where accept: (Int) -> Bool = { _ in true }) -> Int? {
        let key = Key(table, destination)
        let mask = slots.count - 1
        var i = key.hash & mask
        // Equal keys lie along one probe run, in the order they were inserted.
        while slots[i] >= 0 {
            let entry = entries[Int(slots[i])]
            if entry.key == key && accept(entry.position) { return entry.position }
            i = (i + 1) & mask
        }
        return nil
    }

    public func contains(table: UInt32, destination: IPPrefix) -> Bool { first(table: table, destination: destination) != nil }
}
