import CBPF
import Foundation
import Glibc
import Synchronization

/// Everything that can go wrong between vrfc and the kernel's BPF and tc
/// machinery. Each message names the interface or path involved and what
/// would be right.
public enum BPFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libbpf could not parse the object (not an ELF BPF object, wrong BTF).
    case objectInvalid(reason: String)
    /// The kernel refused the program or a map; `log` is libbpf's and the
    /// verifier's output, tail first lines kept.
    case loadFailed(errno: Int32, log: String)
    /// bpffs is not mounted where maps are pinned and could not be mounted.
    case bpffsUnavailable(path: String, errno: Int32)
    case pinFailed(path: String, errno: Int32)
    /// No interface has this ifindex (any more) in the calling netns.
    case interfaceNotFound(name: String, ifindex: Int32)
    /// The ifindex belongs to another interface than the one named.
    case interfaceMismatch(name: String, ifindex: Int32, actual: String)
    /// A tc or netlink operation on an interface failed.
    case tc(operation: String, interface: String, errno: Int32)
    /// vrfc's clsact ingress slot holds a filter vrfc did not put there.
    case slotTaken(interface: String, priority: UInt16, handle: UInt32, holder: String)
    /// After attaching, the interface still does not run exactly one current instance.
    case attachUnverified(interface: String, found: String)
    /// Pinned counters missing or of another layout.
    case statsUnavailable(path: String, reason: String)
    case mapAccess(map: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .objectInvalid(let reason):
            return "the router BPF object is not loadable by libbpf: \(reason); rebuild it from bpf/router.c"
        case .loadFailed(let e, let log):
            return "the kernel refused the router program (\(errnoName(e))); it needs BPF, BTF, clsact and "
                + "bpf_fib_lookup/bpf_redirect_neigh (Linux >= 5.10)\n\(log)"
        case .bpffsUnavailable(let path, let e):
            return "no bpffs at \(path) and mounting one failed (\(errnoName(e))): mount -t bpf bpf \(path)"
        case .pinFailed(let path, let e):
            return "cannot pin or unpin \(path) (\(errnoName(e))): the directory must be on bpffs and writable by root"
        case .interfaceNotFound(let name, let ifindex):
            return "interface \(name) (ifindex \(ifindex)) does not exist in this network namespace; "
                + "ifindexes change when an interface is recreated, resolve the name again"
        case .interfaceMismatch(let name, let ifindex, let actual):
            return "ifindex \(ifindex) is interface \(actual), not \(name); resolve \(name) again"
        case .tc(let op, let interface, let e):
            return "tc \(op) on \(interface) failed (\(errnoName(e))): the interface needs a clsact qdisc "
                + "(not a plain ingress qdisc) that vrfc may add filters to"
        case .slotTaken(let interface, let prio, let handle, let holder):
            return "clsact ingress filter priority \(prio) handle 0x\(String(handle, radix: 16)) on \(interface) "
                + "holds \(holder), not vrfc's router; vrfc never replaces foreign filters, move that filter "
                + "to another priority"
        case .attachUnverified(let interface, let found):
            return "after attaching, \(interface) should run exactly one current vrfc_router on clsact ingress, "
                + "but runs \(found)"
        case .statsUnavailable(let path, let reason):
            return "no router counters at \(path): \(reason); the maps are pinned there when vrfc-apply first "
                + "attaches the router"
        case .mapAccess(let map, let op, let e):
            return "\(op) on BPF map \(map) failed (\(errnoName(e)))"
        }
    }
}

func errnoName(_ e: Int32) -> String {
    let e = abs(e)
    let hint = e == EPERM || e == EACCES ? " (needs root: CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)" : ""
    return "errno \(e): \(String(cString: strerror(e)))" + hint
}

/// libbpf prints through one process-wide callback. vrfc keeps the recent
/// lines instead of letting them reach stderr, and puts them into
/// `BPFError.loadFailed` where they explain something.
enum LibbpfLog {
    static let lines = Mutex<[String]>([])
    static let maxLines = 60

    static func install() {
        _ = installed
    }

    private static let installed: Void = {
        _ = libbpf_set_print { level, format, args in
            guard let format, let args else { return 0 }
            // Debug output is the whole relocation trace; warnings and info
            // (verifier log, reused maps) are what explains failures.
            if level == LIBBPF_DEBUG { return 0 }
            var buffer = [CChar](repeating: 0, count: 1024)
            let n = vsnprintf(&buffer, buffer.count, format, args)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingTrailingNewlines
            LibbpfLog.lines.withLock { lines in
                lines.append(text)
                if lines.count > LibbpfLog.maxLines { lines.removeFirst(lines.count - LibbpfLog.maxLines) }
            }
            return n
        }
    }()

    /// The captured lines since the last call, oldest first.
    static func take() -> String {
        lines.withLock { lines in
            defer { lines.removeAll() }
            return lines.joined(separator: "\n")
        }
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}

/// The `sz` to put into a libbpf options struct: the end of its last field.
/// Not MemoryLayout.size: libbpf refuses options whose bytes beyond the last
/// field are non-zero, and Swift does not keep padding bytes zero.
func libbpfOptionsSize<T>(_ lastField: PartialKeyPath<T>, _ fieldSize: Int) -> Int {
    MemoryLayout<T>.offset(of: lastField)! + fieldSize
}

/// Reads a fixed-size C char array (imported as a tuple) as a string.
func cString<T>(tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A fixed-size byte array (imported as a tuple) as [UInt8].
func bytes<T>(tuple: T) -> [UInt8] {
    withUnsafeBytes(of: tuple) { Array($0) }
}
