import Foundation
import Glibc
import VRFCKernel
import VRFCModel

/// Where one run's `AttachmentTrust` comes from: the operator's
/// `--bpf-interface` names, the root-owned node config whose `bpfInterfaces`
/// count too (when one is given or the op list is compiled from it), and the
/// unprivileged account that compiles that config. Read at every run: the
/// file may change.
public struct TrustSources: Sendable {
    public var bpfInterfaces: [InterfaceName]
    public var nodeConfig: String?
    public var compileUser: String

    public init(bpfInterfaces: [InterfaceName] = [], nodeConfig: String? = nil, compileUser: String = CompileRequest.defaultUser) {
        self.bpfInterfaces = bpfInterfaces
        self.nodeConfig = nodeConfig
        self.compileUser = compileUser
    }

    /// The trust, and the node config's bytes as read and checked
    /// (`AttachmentTrust.read`).
    public func read() throws(ApplyError) -> (AttachmentTrust, Data?) {
        try AttachmentTrust.read(bpfInterfaces: bpfInterfaces, nodeConfig: nodeConfig, compileUser: compileUser)
    }
}

/// The interfaces besides vrfc's own links that the tc router may be
/// attached to. The op list cannot widen this: it may come from a file
/// anyone could have edited, so its `routerAttachments` are checked against
/// a list the privileged side builds from what only root controls:
///
/// - vrfc's own links: the op list's links, whose names validation holds to
///   vrfc's scheme and which are vrfc's (marked) or make the plan refuse;
/// - `--bpf-interface IFNAME` on vrfc-apply's command line (e.g. the
///   systemd unit);
/// - the `bpfInterfaces` of the node config given with `--config`, which
///   must be a root-owned file no one else may write, compiled alone
///   (no CR can add to it).
public struct AttachmentTrust: Sendable {
    /// Interface name → where it was allowed (for messages).
    public private(set) var allowed: [InterfaceName: String] = [:]

    public init() {}

    public mutating func allow(_ names: [InterfaceName], from source: String) {
        for n in names where allowed[n] == nil { allowed[n] = source }
    }

    /// The trust of one invocation: `--bpf-interface` names, plus the node
    /// config's `bpfInterfaces` when the node config is given or the op
    /// list is compiled from it (read at each call: the file may change).
    /// Also returns the node config's bytes as read and checked, so the
    /// compile of the op list can take the very same bytes (no window in
    /// which the file changes between the two).
    public static func read(
        bpfInterfaces: [InterfaceName], nodeConfig: String?,
        compileUser: String = CompileRequest.defaultUser
    ) throws(ApplyError) -> (AttachmentTrust, Data?) {
        var t = AttachmentTrust()
        t.allow(bpfInterfaces, from: "--bpf-interface")
        guard let nodeConfig else { return (t, nil) }
        let text = try readRootOwned(nodeConfig, what: "node config")
        t.allow(try nodeConfigBPFInterfaces(text, path: nodeConfig, compileUser: compileUser), from: nodeConfig)
        return (t, text)
    }

    /// Problems with the op list's attachments; empty when every one is allowed.
    public func check(_ ops: OpList) -> [String] {
        let own = Set(ops.links.map(\.name))
        var problems: [String] = []
        for a in ops.routerAttachments where !own.contains(a) && allowed[a] == nil {
            problems.append(
                "op list: router attachment \(a) is neither one of the op list's links (vrfc's own) nor an interface the node's operator allows (--bpf-interface \(a), or bpfInterfaces in the root-owned node config given with --config); a tampered op list cannot add interfaces"
            )
        }
        return problems
    }

    /// The node config's `bpfInterfaces`, trusted only when root alone can
    /// have written the file: it is opened once, checked on the open
    /// descriptor (a regular file owned by root, not writable by group or
    /// others; `readRootOwned`), and those bytes are compiled by the unprivileged compile
    /// child with no CR at all, so no user-written input reaches the result.
    /// With no VRFs the op list's router attachments are exactly the node
    /// config's `bpfInterfaces`.
    static func nodeConfigBPFInterfaces(_ text: Data, path: String, compileUser: String) throws(ApplyError) -> [InterfaceName] {
        let bundle = try CompileChild.run(CompileRequest(config: path, configText: text, inputs: [], user: compileUser))
        guard bundle.ops.links.isEmpty else {
            throw ApplyError(
                "\(path): compiled without CRs, the node config yields links; refusing to trust its bpfInterfaces; nothing was changed")
        }
        return bundle.ops.routerAttachments
    }

    /// The bytes of a file only root can have written.
    static func readRootOwned(_ path: String, what: String) throws(ApplyError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw ApplyError("\(path): cannot read the \(what): \(String(cString: strerror(errno))); nothing was changed")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ApplyError("\(path): cannot stat the \(what): \(String(cString: strerror(errno))); nothing was changed")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw ApplyError("\(path): the \(what) is not a regular file; nothing was changed")
        }
        if st.st_uid != 0 || st.st_mode & 0o022 != 0 {
            throw ApplyError(
                "\(path): the \(what) is owned by uid \(st.st_uid) with mode \(String(st.st_mode & 0o777, radix: 8)); vrfc-apply trusts its bpfInterfaces only from a file owned by root and not writable by group or others (chown root \(path); chmod go-w \(path)); nothing was changed"
            )
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        guard let data = try? handle.readToEnd() else {
            throw ApplyError("\(path): cannot read the \(what); nothing was changed")
        }
        return data ?? Data()
    }
}
