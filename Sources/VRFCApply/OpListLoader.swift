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
                let data = try? handle.read(upToCount: OpListReader.maxBytes + 1) ?? Data()
            else {
                throw ApplyError("\(path): cannot read the op list; nothing was changed")
            }
            do throws(OpListError) {
                ops = try OpListReader.decode(Array(data))
            } catch {
                throw ApplyError(
                    error.problems.map { "\(path): \($0)" }.joined(separator: "\n")
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
            throw ApplyError(
                problems.map { "error: \($0)" }.joined(separator: "\n") + "\nvrfc-apply: refusing this op list; nothing was changed")
        }
        return ops
    }
}
