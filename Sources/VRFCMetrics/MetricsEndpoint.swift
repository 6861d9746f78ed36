import CSpawn
import Foundation
import Glibc
import Synchronization
import VRFCApply
import VRFCNetlink

/// How the unprivileged exporter is started.
public struct ExporterOptions: Sendable {
    public var listen: ListenAddress
    /// false: bpf-only mode, no FRR collectors.
    public var frr: Bool
    public var vtysh: String
    public var frrPathspace: String?
    /// Who the exporter runs as when vrfc-apply runs as root.
    public var user: String
    /// A supplementary group for the exporter: the group of FRR's vty
    /// sockets, which vtysh needs (nil: none).
    public var vtyGroup: String?

    public static let defaultUser = "nobody"
    public static let defaultVTYGroup = "frrvty"

    public init(
        listen: ListenAddress, frr: Bool = true, vtysh: String = "vtysh", frrPathspace: String? = nil,
        user: String = ExporterOptions.defaultUser, vtyGroup: String? = ExporterOptions.defaultVTYGroup
    ) {
        self.listen = listen
        self.frr = frr
        self.vtysh = vtysh
        self.frrPathspace = frrPathspace
        self.user = user
        self.vtyGroup = vtyGroup
    }
}

/// The metrics endpoint, split at the privilege boundary: the HTTP server
/// and vtysh run in `vrfc-metrics`, started here as an unprivileged child
/// (its own uid, FRR's vty group only, no capabilities, no_new_privs, a
/// clean environment); this side keeps what needs privileges — the tc
/// router's maps and the kernel's links — and answers the exporter's
/// requests over a socket pair on a thread of its own.
public final class MetricsEndpoint: Sendable {
    public let pid: pid_t
    let channel: Int32
    let finished = DispatchSemaphore(value: 0)
    let status = Atomic<Int32>(-1)
    let stopping = Atomic<Bool>(false)

    /// Starts the exporter and the responder. `netns`: the namespace whose
    /// links are counted (the responder thread enters it; the exporter
    /// listens where the caller is). `stderrLine`: where the exporter's
    /// messages go, line by line (nil: the caller's stderr).
    public init(
        _ options: ExporterOptions, netns: String? = nil, collectors: [any MetricsCollector],
        persistent: (@Sendable () -> String)? = nil,
        stderrLine: (@Sendable (String) -> Void)? = nil
    ) throws(MetricsSetupError) {
        let executable: String
        do { executable = try CompileChild.executable(named: "vrfc-metrics") } catch {
            throw MetricsSetupError(error.message)
        }
        let drop = geteuid() == 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        var groups: [gid_t] = []
        if drop {
            guard let pw = getpwnam(options.user) else {
                throw MetricsSetupError("metrics user '\(options.user)' does not exist; pass an unprivileged account")
            }
            uid = pw.pointee.pw_uid
            gid = pw.pointee.pw_gid
            guard uid != 0 else { throw MetricsSetupError("metrics user '\(options.user)' is root; pass an unprivileged account") }
            if options.frr, let name = options.vtyGroup {
                guard let gr = getgrnam(name) else {
                    throw MetricsSetupError(
                        "group '\(name)' (FRR's vty sockets, for vtysh) does not exist; pass the group FRR's vty sockets belong to, or no FRR collectors"
                    )
                }
                guard gr.pointee.gr_gid != 0 else { throw MetricsSetupError("group '\(name)' is root's group; refusing it") }
                groups = [gr.pointee.gr_gid]
            }
        }
        var args = [executable, "--listen", options.listen.description, "--privileged-channel"]
        if options.frr {
            args += ["--vtysh", options.vtysh]
            if let p = options.frrPathspace { args += ["--frr-pathspace", p] }
        } else {
            args.append("--no-frr")
        }
        let env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]

        let (mine, theirs) = try PrivilegedChannel.pair()
        var errPipe: [Int32] = [-1, -1]
        if stderrLine != nil {
            guard pipe(&errPipe) == 0, fcntl(errPipe[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(errPipe[1], F_SETFD, FD_CLOEXEC) == 0 else {
                close(mine)
                close(theirs)
                throw MetricsSetupError("cannot create a pipe for the exporter's messages: \(String(cString: strerror(errno)))")
            }
        }
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var err: Int32 = 0
        var stage: UnsafePointer<CChar>? = nil
        let pid = groups.withUnsafeBufferPointer { g in
            vrfc_spawn_with_channel(
                executable, cArgs, cEnv, drop ? 1 : 0, uid, gid, g.baseAddress, Int32(g.count),
                devnull, errPipe[1], theirs, &err, &stage)
        }
        close(theirs)
        close(devnull)
        if errPipe[1] >= 0 { close(errPipe[1]) }
        guard pid > 0 else {
            close(mine)
            if errPipe[0] >= 0 { close(errPipe[0]) }
            throw MetricsSetupError(
                "cannot start the unprivileged exporter (\(executable)): \(stage.map { String(cString: $0) } ?? "?"): \(String(cString: strerror(err)))"
            )
        }
        self.pid = pid
        channel = mine
        if let stderrLine, errPipe[0] >= 0 {
            let fd = errPipe[0]
            Thread {
                let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let nl = pending.firstIndex(of: 10) {
                        stderrLine(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                        pending.removeSubrange(pending.startIndex...nl)
                    }
                }
                if !pending.isEmpty { stderrLine(String(decoding: pending, as: UTF8.self)) }
            }.start()
        }
        let responder = PrivilegedResponder(fd: mine, collectors: collectors, persistent: persistent)
        Thread { [self] in
            var failure: String?
            if let netns {
                do throws(NetlinkError) { try NetlinkSocket.enterNamespace(netns) } catch { failure = "\(error)" }
            }
            responder.serve(failure: failure)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status.store((raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f), ordering: .sequentiallyConsistent)
            finished.signal()
        }.start()
    }

    /// What the privileged side answers for, in `PrivilegedChannel.collectorNames` order.
    public static func privilegedCollectors(pinDirectory: String) -> [any MetricsCollector] {
        [RouterCollector(pinDirectory: pinDirectory), LinksCollector()]
    }

    /// Blocks until the exporter has exited (it only does on an error, e.g.
    /// it cannot listen); its exit status.
    public func waitUntilStopped() -> Int32 {
        finished.wait()
        finished.signal()
        return status.load(ordering: .sequentiallyConsistent)
    }

    /// `stop()` was called (the exporter's end is then no error).
    public var stopRequested: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// Stops the exporter and waits for it (at most 10 s). It is told by
    /// shutting the channel down (it exits on the hangup): a signal would need
    /// CAP_KILL, which the agent's unit does not grant, to reach another uid.
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        shutdown(channel, Int32(SHUT_RDWR))
        if finished.wait(timeout: .now() + 10) == .success { finished.signal() }
        close(channel)
    }
}
