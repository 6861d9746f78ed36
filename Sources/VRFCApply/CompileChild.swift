import CSpawn
import Foundation
import VRFCBundle
import VRFCKernel
import VRFCModel

/// What the unprivileged compile is asked for.
public struct CompileRequest: Sendable {
    /// The same request, compiling `text` (already read and checked) as
    /// its node config when `config` names `path`.
    public func withConfig(_ text: Data?, readFrom path: String?) -> CompileRequest {
        guard let text, let path, config == path else { return self }
        var r = self
        r.configText = text
        return r
    }

    public var config: String
    /// The node config's bytes, handed over instead of the child reading
    /// `config` itself (the bytes vrfc-apply has already checked).
    public var configText: Data?
    public var inputs: [String]
    /// The base config's text (handed over, so the child needs no access to
    /// vrfc's state directory); nil for links only.
    public var baseConfig: String?
    /// The IR FRR runs, as kept: the child then adds the delta.
    public var runningIR: Data?
    public var hostname: String?
    public var routerID: String?
    public var templates: String?
    public var underlay: String?
    public var tableRange: String?
    /// Who the child runs as when vrfc-apply runs as root.
    public var user: String

    public static let defaultUser = "nobody"

    public init(
        config: String, configText: Data? = nil, inputs: [String], baseConfig: String? = nil, runningIR: Data? = nil,
        hostname: String? = nil, routerID: String? = nil, templates: String? = nil,
        underlay: String? = nil, tableRange: String? = nil, user: String = CompileRequest.defaultUser
    ) {
        self.config = config
        self.configText = configText
        self.inputs = inputs
        self.baseConfig = baseConfig
        self.runningIR = runningIR
        self.hostname = hostname
        self.routerID = routerID
        self.templates = templates
        self.underlay = underlay
        self.tableRange = tableRange
        self.user = user
    }
}

/// Privilege separation: the CRs Kubernetes users write are parsed by
/// `vrfc compile`, run as a child with a dropped uid/gid, no capabilities,
/// `no_new_privs` and a clean environment; vrfc-apply reads one bundle
/// (`CompileBundle`) from its stdout and parses nothing else of the user's.
public enum CompileChild {
    /// `vrfc` next to vrfc-apply's own executable, and only if nobody but
    /// root (or the user running vrfc-apply) can replace it: vrfc-apply
    /// runs it with the inputs of a privileged run.
    public static func executable() throws(ApplyError) -> String {
        try executable(named: "vrfc")
    }

    /// A helper executable next to vrfc-apply (`vrfc`, `vrfc-metrics`),
    /// checked the same way.
    public static func executable(named name: String) throws(ApplyError) -> String {
        guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw ApplyError("cannot find vrfc-apply's own executable (/proc/self/exe) to locate \(name) next to it")
        }
        let dir = (own as NSString).deletingLastPathComponent
        let path = dir + "/" + name
        try checkOwnership(dir, directory: true)
        try checkOwnership(path, directory: false, name: name)
        return path
    }

    static func checkOwnership(_ path: String, directory: Bool, name: String = "vrfc") throws(ApplyError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw ApplyError(
                name == "vrfc"
                    ? "\(path): \(String(cString: strerror(errno))); vrfc-apply runs the vrfc next to it to compile inputs (install both together), or pass --ops"
                    : "\(path): \(String(cString: strerror(errno))); vrfc-apply runs the \(name) next to it (install them together)")
        }
        let kind = st.st_mode & S_IFMT
        guard kind == (directory ? S_IFDIR : S_IFREG) else {
            throw ApplyError("\(path) is not a \(directory ? "directory" : "regular file (a symlink is refused)"); refusing to run it")
        }
        let me = geteuid()
        guard st.st_uid == 0 || st.st_uid == me else {
            throw ApplyError("\(path) is owned by uid \(st.st_uid), not root: refusing to run it")
        }
        guard st.st_mode & 0o022 == 0 else {
            throw ApplyError("\(path) is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8))): refusing to run it")
        }
    }

    public static func run(_ request: CompileRequest) throws(ApplyError) -> CompileBundle {
        let vrfc = try executable()
        let drop = geteuid() == 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        if drop {
            guard let pw = getpwnam(request.user) else {
                throw ApplyError("compile user '\(request.user)' does not exist; pass --compile-user USER (an unprivileged account)")
            }
            uid = pw.pointee.pw_uid
            gid = pw.pointee.pw_gid
            guard uid != 0 else { throw ApplyError("compile user '\(request.user)' is root; pass an unprivileged account") }
        }

        // Files the child needs from vrfc-apply: a private directory owned by the child's user.
        var handoff: String? = nil
        defer { if let handoff { try? FileManager.default.removeItem(atPath: handoff) } }
        var args = [vrfc, "compile", "--emit", "bundle"]
        var inputs = request.inputs.map { $0 == "-" ? $0 : absolute($0) }
        if request.configText == nil { args += ["--config", request.config == "-" ? "-" : absolute(request.config)] }
        if request.baseConfig != nil || request.runningIR != nil || request.configText != nil || inputs.isEmpty {
            var template = Array("/tmp/vrfc-handoff.XXXXXX".utf8CString)
            guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
                throw ApplyError("cannot create a directory for the compile's inputs: \(String(cString: strerror(errno)))")
            }
            handoff = dir
            // The child reads these as its own user: a chown that fails (no
            // CAP_CHOWN) would leave it an unreadable directory and a
            // misleading "cannot read" in its messages.
            func give(_ path: String) throws(ApplyError) {
                guard !drop || chown(path, uid, gid) == 0 else {
                    throw ApplyError(
                        "cannot hand \(path) to the compile user '\(request.user)': chown: \(String(cString: strerror(errno))) (vrfc-apply needs CAP_CHOWN); nothing was changed"
                    )
                }
            }
            func put(_ name: String, _ data: Data) throws(ApplyError) -> String {
                let path = dir + "/" + name
                guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o400]) else {
                    throw ApplyError("cannot write \(path) for the compile")
                }
                try give(path)
                return path
            }
            if let base = request.baseConfig { args += ["--template", try put("base.conf", Data(base.utf8))] }
            if let ir = request.runningIR { args += ["--running-ir", try put("running.ir.json", ir)] }
            if let text = request.configText { args += ["--config", try put("config.yaml", text)] }
            // No CR at all (the trust compile, --clean): an empty directory is the one input.
            if inputs.isEmpty {
                let none = dir + "/no-crs"
                guard mkdir(none, 0o500) == 0 else { throw ApplyError("cannot create \(none) for the compile") }
                try give(none)
                inputs = [none]
            }
            try give(dir)
            chmod(dir, 0o500)
        }
        if let h = request.hostname { args += ["--hostname", h] }
        if let r = request.routerID { args += ["--router-id", r] }
        if let t = request.templates { args += ["--templates", absolute(t)] }
        if let u = request.underlay { args += ["--underlay", u] }
        if let r = request.tableRange { args += ["--table-range", r] }
        args += ["--"] + inputs

        var env = ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
        if let t = ProcessInfo.processInfo.environment["VRFC_TIMINGS"] { env.append("VRFC_TIMINGS=\(t)") }

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ApplyError("cannot create a pipe for the compile: \(String(cString: strerror(errno)))") }
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var err: Int32 = 0
        var stage: UnsafePointer<CChar>? = nil
        // The child's messages (every input error, located) go to an
        // unlinked file, read back once it has exited: the caller reports them
        // (apply on stderr, the agent in its log), and no pipe can fill up.
        var errTemplate = Array("/tmp/vrfc-compile-stderr.XXXXXX".utf8CString)
        let errFD = errTemplate.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if errFD >= 0 { _ = fcntl(errFD, F_SETFD, FD_CLOEXEC) }
        guard errFD >= 0 else { throw ApplyError("cannot create a file for the compile's messages: \(String(cString: strerror(errno)))") }
        errTemplate.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(errFD) }
        let pid = vrfc_spawn_unprivileged(
            vrfc, cArgs, cEnv, drop ? 1 : 0, uid, gid, request.inputs.contains("-") || request.config == "-" ? 1 : 0,
            fds[1], errFD, &err, &stage)
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            throw ApplyError(
                "cannot start the unprivileged compile (\(vrfc)): \(stage.map { String(cString: $0) } ?? "?"): \(String(cString: strerror(err)))"
            )
        }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let limit = 1 << 30
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: buffer[..<n])
            if output.count > limit {
                kill(pid, SIGKILL)
                break
            }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if output.count > limit {
            throw ApplyError("the compile's output exceeds \(limit) bytes; nothing was changed")
        }
        let messages = Self.readBack(errFD, limit: 1 << 20)
        guard code == 0 else {
            throw ApplyError(
                (messages.isEmpty ? "" : messages + (messages.hasSuffix("\n") ? "" : "\n"))
                    + "the inputs did not compile (vrfc compile exited \(code)); nothing was changed", isInputError: true)
        }
        // Warnings of a successful compile still reach the operator.
        if !messages.isEmpty { FileHandle.standardError.write(Data(messages.utf8)) }
        return try decode(output, from: "the compile")
    }

    /// Decodes and checks a bundle, from the child or from a file.
    public static func decode(_ data: Data, from origin: String) throws(ApplyError) -> CompileBundle {
        let bundle: CompileBundle
        do throws(BundleReader.Failure) {
            bundle = try BundleReader.decode(Array(data))
        } catch {
            throw ApplyError("\(origin): not a vrfc bundle (vrfc compile --emit bundle): \(error.message); nothing was changed")
        }
        guard bundle.format == CompileBundle.currentFormat else {
            throw ApplyError(
                "\(origin): bundle format '\(bundle.format)', this vrfc-apply reads \(CompileBundle.currentFormat); nothing was changed")
        }
        return bundle
    }

    /// What the child wrote to `fd`, at most `limit` bytes (vrfc has already
    /// escaped everything user-written in its messages).
    static func readBack(_ fd: Int32, limit: Int) -> String {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return "" }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buffer[..<min(n, limit - out.count)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
