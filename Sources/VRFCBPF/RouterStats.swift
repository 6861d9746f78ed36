import CBPF
import Foundation
import Glibc

// RouterOutcome and FIBResult are generated at build time from bpf/router.h
// and <linux/bpf.h> (RouterContractTool, run by the EmbedRouterObject plugin).

extension RouterOutcome {
    /// Redirected by the program rather than handed to the stack.
    public var isRouted: Bool { self == .routed || self == .routedNeigh }
}

public struct Counter: Hashable, Sendable, Codable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0) {
        self.packets = packets
        self.bytes = bytes
    }

    public static func - (a: Counter, b: Counter) -> Counter {
        Counter(packets: a.packets &- b.packets, bytes: a.bytes &- b.bytes)
    }
}

/// The router's counters summed over all CPUs: one row per slot, named
/// where this build knows the slot, `outcome_<n>`/`fib_<n>` otherwise.
public struct RouterStats: Hashable, Sendable, Codable {
    public struct Row: Hashable, Sendable, Codable {
        public var index: UInt32
        public var name: String
        public var packets: UInt64
        public var bytes: UInt64

        public var counter: Counter { Counter(packets: packets, bytes: bytes) }
    }

    /// Where the counters came from (the pin directory).
    public var source: String
    public var outcomes: [Row]
    public var fibResults: [Row]

    public static let defaultPinDirectory = "/sys/fs/bpf/vrfc"

    public subscript(outcome: RouterOutcome) -> Counter {
        outcomes.first { $0.index == outcome.rawValue }?.counter ?? Counter()
    }

    public subscript(fib: FIBResult) -> Counter {
        fibResults.first { $0.index == fib.rawValue }?.counter ?? Counter()
    }

    /// Packets the program handled, whatever it did with them.
    public var totalPackets: UInt64 { outcomes.reduce(0) { $0 + $1.packets } }

    /// Packets the program redirected itself (routed, routed_neigh).
    public var routed: Counter {
        Counter(
            packets: self[.routed].packets + self[.routedNeigh].packets,
            bytes: self[.routed].bytes + self[.routedNeigh].bytes)
    }

    /// Reads the counters pinned under `pinDirectory` (what `vrfc-apply bpf
    /// stats` shows). Needs no program: the pins outlive the applier.
    public static func read(pinDirectory: String = defaultPinDirectory) throws(BPFError) -> RouterStats {
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for name in [VRFC_MAP_OUTCOMES, VRFC_MAP_FIB] {
            let path = pinDirectory + "/" + name
            let fd = bpf_obj_get(path)
            if fd < 0 {
                throw .statsUnavailable(path: path, reason: errnoName(-fd))
            }
            fds.append(fd)
        }
        return try read(outcomesFD: fds[0], fibFD: fds[1], source: pinDirectory)
    }

    /// The counters wherever they are: the pinned maps, or when there are
    /// no pins (a private /sys under `ip netns exec`, or bpffs unmounted),
    /// the maps of the router instances attached in the calling thread's
    /// network namespace, found through the kernel.
    public static func readPinnedOrAttached(pinDirectory: String = defaultPinDirectory) throws(BPFError) -> RouterStats {
        do throws(BPFError) {
            return try read(pinDirectory: pinDirectory)
        } catch {
            guard case .statsUnavailable = error else { throw error }
            return try readAttached(orElse: error)
        }
    }

    static func readAttached(orElse notPinned: BPFError) throws(BPFError) -> RouterStats {
        let all = try TCIngress.routerInstances(TCIngress.socket("any"))
        guard let ids = TCRouterAttacher.sharedMaps(all, tag: nil) else { throw notPinned }
        let fds = KernelMaps.open(ids: ids)
        defer { fds.values.forEach { close($0) } }
        guard let outcomes = fds[VRFC_MAP_OUTCOMES], let fib = fds[VRFC_MAP_FIB] else { throw notPinned }
        let programs = all.values.flatMap { $0 }.filter { $0.info.identity.mapIDs == ids }.map(\.info.id)
        return try read(
            outcomesFD: outcomes, fibFD: fib,
            source:
                "maps \(ids.map(String.init).joined(separator: ",")) of the attached program\(programs.count == 1 ? "" : "s") (id \(Set(programs).sorted().map(String.init).joined(separator: ","))); nothing is pinned"
        )
    }

    static func read(outcomesFD: Int32, fibFD: Int32, source: String) throws(BPFError) -> RouterStats {
        let outcomes = try readArray(fd: outcomesFD, map: VRFC_MAP_OUTCOMES, slots: UInt32(VRFC_OUT_SLOTS.rawValue))
        let fib = try readArray(fd: fibFD, map: VRFC_MAP_FIB, slots: UInt32(VRFC_FIB_SLOTS.rawValue))
        // Known slots always, unknown ones (a newer program) only when used.
        let outcomeRows = outcomes.enumerated().compactMap { i, c -> Row? in
            let known = RouterOutcome(rawValue: UInt32(i))
            guard known != nil || c.packets != 0 else { return nil }
            return Row(index: UInt32(i), name: known?.name ?? "outcome_\(i)", packets: c.packets, bytes: c.bytes)
        }
        let fibRows = fib.enumerated().compactMap { i, c -> Row? in
            let known = FIBResult(rawValue: UInt32(i))
            guard known != nil || c.packets != 0 else { return nil }
            return Row(index: UInt32(i), name: known?.name ?? "fib_\(i)", packets: c.packets, bytes: c.bytes)
        }
        return RouterStats(source: source, outcomes: outcomeRows, fibResults: fibRows)
    }

    /// Sums one per-CPU array of `struct vrfc_counter`, checking the layout
    /// first: a pin of another shape must not be misread.
    static func readArray(fd: Int32, map: String, slots: UInt32) throws(BPFError) -> [Counter] {
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        let rc = bpf_obj_get_info_by_fd(fd, &info, &len)
        if rc != 0 { throw .mapAccess(map: map, operation: "get info", errno: -rc) }
        let valueSize = UInt32(MemoryLayout<vrfc_counter>.size)
        guard info.type == BPF_MAP_TYPE_PERCPU_ARRAY.rawValue, info.key_size == 4,
            info.value_size == valueSize, info.max_entries == slots
        else {
            throw .statsUnavailable(
                path: map,
                reason: "map has type \(info.type), key \(info.key_size) B, "
                    + "value \(info.value_size) B, \(info.max_entries) entries; this build expects a per-CPU array "
                    + "of \(slots) × \(valueSize) B (bpf/router.h)")
        }
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw .mapAccess(map: map, operation: "count possible CPUs", errno: -Int32(cpus)) }
        var values = [vrfc_counter](repeating: vrfc_counter(), count: cpus)
        var result: [Counter] = []
        for slot in 0..<slots {
            var key = slot
            let rc = values.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
            if rc != 0 { throw .mapAccess(map: map, operation: "lookup slot \(slot)", errno: -rc) }
            result.append(
                values.reduce(into: Counter()) {
                    $0.packets &+= $1.packets
                    $0.bytes &+= $1.bytes
                })
        }
        return result
    }

    /// Two tables, outcomes then FIB results, numbers right-aligned.
    public func table() -> String {
        func section(_ title: String, _ rows: [Row]) -> String {
            let header = [title, "PACKETS", "BYTES"]
            let body = rows.map { [$0.name, String($0.packets), String($0.bytes)] }
            let widths = (0..<3).map { col in ([header] + body).map { $0[col].count }.max()! }
            func line(_ r: [String]) -> String {
                r[0].padding(toLength: widths[0], withPad: " ", startingAt: 0) + "  "
                    + String(repeating: " ", count: widths[1] - r[1].count) + r[1] + "  "
                    + String(repeating: " ", count: widths[2] - r[2].count) + r[2]
            }
            return ([header] + body).map(line).joined(separator: "\n") + "\n"
        }
        return "counters: \(source)\n\n" + section("OUTCOME", outcomes) + "\n" + section("FIB RESULT", fibResults)
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain integers and strings cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self) + "\n"
    }
}
