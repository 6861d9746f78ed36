import Foundation
import VRFCBPF
import VRFCBundle
import VRFCKernel
import VRFCModel
import VRFCNetlink

/// Where the op list comes from: the same inputs as `vrfc compile`, or a
/// ready op list from `vrfc compile --emit ops`.
public enum OpListSource: Sendable {
    /// Compiled by the unprivileged `vrfc compile` child.
    case compile(CompileRequest)
    case file(String)
    /// The op list of a bundle file (`vrfc compile --emit bundle`).
    case bundle(String)
}

extension OpListSource {
    /// The same source, compiling the node config's already checked bytes
    /// when it compiles the file at `path` (see `CompileRequest.withConfig`).
    public func withConfig(_ text: Data?, readFrom path: String?) -> OpListSource {
        if case .compile(let r) = self { return .compile(r.withConfig(text, readFrom: path)) }
        return self
    }
}

/// Node-side overrides of the op list's symbolic values.
public struct NodeOverrides: Sendable {
    public var underlay: InterfaceName?
    public var tableRange: TableRange?

    public init(underlay: InterfaceName? = nil, tableRange: TableRange? = nil) {
        self.underlay = underlay
        self.tableRange = tableRange
    }
}

extension NodeOverrides {
    public func apply(to ops: inout OpList) {
        if let u = underlay {
            ops.underlay = u
            for i in ops.links.indices where ops.links[i].vxlan != nil { ops.links[i].vxlan!.device = u }
        }
        if let r = tableRange { ops.tableRange = r }
    }
}

public enum OpListLoader {
    /// Compiles or reads the op list, applies the overrides and validates
    /// the result: whatever its origin, an op list that fails validation is
    /// never executed.
    ///
    /// `trust` lists the interfaces besides vrfc's own links the router may
    /// be attached to; an op list that names any other is refused here.
    public static func load(_ source: OpListSource, overrides: NodeOverrides, trust: AttachmentTrust) throws(ApplyError) -> OpList {
        var ops: OpList
        switch source {
        case .compile(var request):
            request.underlay = overrides.underlay?.value
            request.tableRange = overrides.tableRange?.description
            ops = try CompileChild.run(request).ops
        case .bundle(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ApplyError("\(path): cannot read the bundle; nothing was changed")
            }
            ops = try CompileChild.decode(data, from: path).ops
            overrides.apply(to: &ops)
        case .file(let path):
            // FileHandle reads pipes too (`--ops <(vrfc compile ...)`), not only
            // files; never more than the size cap plus one byte.
            guard let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path),
                  let data = try? handle.read(upToCount: OpListReader.maxBytes + 1) ?? Data() else {
                throw ApplyError("\(path): cannot read the op list; nothing was changed")
            }
            do throws(OpListError) {
                ops = try OpListReader.decode(Array(data))
            } catch {
                throw ApplyError(error.problems.map { "\(path): \($0)" }.joined(separator: "\n")
                                 + "\nvrfc-apply: \(path) is not a valid vrfc op list (vrfc compile --emit ops); nothing was changed")
            }
            overrides.apply(to: &ops)
        }
        return try validated(ops, trust: trust)
    }

    /// Whatever its origin, an op list that fails validation, or attaches
    /// the router beyond what `trust` allows, is never executed.
    public static func validated(_ ops: OpList, trust: AttachmentTrust) throws(ApplyError) -> OpList {
        var problems: [String] = []
        do throws(OpListError) {
            try ops.validate()
        } catch {
            problems = error.problems
        }
        problems += trust.check(ops)
        if !problems.isEmpty {
            throw ApplyError(problems.map { "error: \($0)" }.joined(separator: "\n") + "\nvrfc-apply: refusing this op list; nothing was changed")
        }
        return ops
    }
}

/// Privileges, checked before anything else so an unprivileged apply
/// changes nothing and says why.
public enum Privileges {
    public static let capNetAdmin = 12

    /// CapEff of /proc/self/status as a bit set.
    public static func effectiveCapabilities(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }

    public static func hasNetAdmin() -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let caps = effectiveCapabilities(status: status) else { return false }
        return caps & (1 << UInt64(capNetAdmin)) != 0
    }
}

/// One apply at a time per network namespace: two concurrent runs would
/// race for the same names and tables. The lock is an abstract unix socket
/// name, which exists per network namespace and vanishes with its holder,
/// even after kill -9: no lock file to clean up.
public final class ApplyLock {
    private let fd: Int32

    public init() throws(ApplyError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ApplyError("cannot create the apply lock: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let name = Array("\0vrfc-apply.lock".utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in name.enumerated() { p[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else {
            let e = errno
            close(fd)
            if e == EADDRINUSE {
                throw ApplyError("another vrfc-apply is running in this network namespace; wait for it and rerun")
            }
            throw ApplyError("cannot take the apply lock: \(String(cString: strerror(e)))")
        }
    }

    deinit { close(fd) }
}
