import Foundation
import Glibc

/// vrfc's memory of what FRR runs, in a root-only directory (default
/// /var/lib/vrfc): the last frr.conf FRR was verified to run, the IR it
/// came from (what a `delta` starts from and a rollback returns to), and
/// the base config it was rendered from. The base is kept because after
/// the first run the file FRR reads is vrfc's own output, which must never
/// be read back as a base.
public struct KeptState {
    public static let defaultDirectory = "/var/lib/vrfc"

    public let directory: String
    public var goodConfigPath: String { directory + "/frr.conf.good" }
    public var goodIRPath: String { directory + "/frr.conf.good.ir.json" }
    public var basePath: String { directory + "/base.conf" }

    /// Opens (creating it 0700 if needed) and checks the directory: it
    /// must belong to the user running vrfc-apply and be closed to others.
    public init(directory: String) throws(ApplyError) {
        self.directory = directory
        var st = stat()
        if lstat(directory, &st) != 0 {
            guard errno == ENOENT else { throw ApplyError("state directory \(directory): \(String(cString: strerror(errno)))") }
            let parent = (directory as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw ApplyError("cannot create the state directory \(directory): \(String(cString: strerror(errno)))")
            }
            guard lstat(directory, &st) == 0 else { throw ApplyError("state directory \(directory): \(String(cString: strerror(errno)))") }
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ApplyError("state directory \(directory) is not a directory") }
        guard st.st_uid == geteuid() else {
            throw ApplyError("state directory \(directory) belongs to uid \(st.st_uid), not to this user; refusing to trust it")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw ApplyError("state directory \(directory) is open to others (mode \(String(st.st_mode & 0o7777, radix: 8))); make it 0700")
        }
    }

    public func read(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
    public var goodConfig: String? { read(goodConfigPath).map { String(decoding: $0, as: UTF8.self) } }
    public var goodIR: Data? { read(goodIRPath) }
    public var base: String? { read(basePath).map { String(decoding: $0, as: UTF8.self) } }

    /// Records a config FRR was verified to run. The IR goes first: a
    /// config without its IR gives no delta, the safe side.
    public func recordGood(config: String, ir: Data, base: String?) throws(ApplyError) {
        try? FileManager.default.removeItem(atPath: goodConfigPath)
        try ConfigFile.write(ir, to: goodIRPath, owner: nil, mode: 0o600)
        try ConfigFile.write(Data(config.utf8), to: goodConfigPath, owner: nil, mode: 0o600)
        if let base { try ConfigFile.write(Data(base.utf8), to: basePath, owner: nil, mode: 0o600) }
    }

    /// The files `recordGood` writes, staged (written and fsynced beside
    /// their places) while FRR loads the change; `commitGood` puts them in
    /// place once FRR is verified to run it. Pure file work: it may run on
    /// another thread.
    public static func stageGood(directory: String, config: String, ir: Data, base: String?, ops: Data) throws(ApplyError) -> [(
        tmp: String, path: String
    )] {
        var staged: [(tmp: String, path: String)] = []
        do throws(ApplyError) {
            for (data, path) in [
                (ir, directory + "/frr.conf.good.ir.json"), (Data(config.utf8), directory + "/frr.conf.good"),
                (base.map { Data($0.utf8) }, directory + "/base.conf"), (ops, directory + "/frr.conf.good.ops.json"),
            ] {
                guard let data else { continue }
                staged.append((try ConfigFile.stage(data, to: path, owner: nil, mode: 0o600), path))
            }
        } catch {
            discard(staged)
            throw error
        }
        return staged
    }

    /// `recordGood` with staged files, in its order: the kept config goes,
    /// the IR comes, then the config (a config without its IR gives no
    /// delta, the safe side).
    public func commitGood(_ staged: [(tmp: String, path: String)]) throws(ApplyError) {
        try? FileManager.default.removeItem(atPath: goodConfigPath)
        var left = staged
        while !left.isEmpty {
            let s = left.removeFirst()
            do throws(ApplyError) {
                // The directory is synced after the IR (on disk before its
                // config) and after the last file; the rest need no order.
                try ConfigFile.commit(s.tmp, to: s.path, syncDirectory: s.path.hasSuffix(".ir.json") || left.isEmpty)
            } catch {
                Self.discard(left)
                throw error
            }
        }
    }

    public static func discard(_ staged: [(tmp: String, path: String)]) {
        for s in staged { unlink(s.tmp) }
    }

    /// A scratch file in the state directory (candidate configs, deltas):
    /// read by vtysh at once and never trusted later, so not fsynced.
    public func scratch(_ name: String, _ text: String) throws(ApplyError) -> String {
        let path = directory + "/" + name
        try writePrivateFile(path, Array(text.utf8))
        return path
    }
}

public enum ConfigFile {
    /// frr.conf's owner and mode: as the existing file has them, else
    /// frr:frr 0640 (root when there is no frr user).
    public static func attributes(of path: String) -> (uid: uid_t, gid: gid_t, mode: mode_t) {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_uid, st.st_gid, st.st_mode & 0o7777) }
        let uid = getpwnam("frr")?.pointee.pw_uid ?? 0
        let gid = getgrnam("frr")?.pointee.gr_gid ?? 0
        return (uid, gid, 0o640)
    }

    /// All or nothing: a temporary file in the same directory, written,
    /// given its owner and mode, fsynced, renamed over the target, and the
    /// directory fsynced, so a crash leaves the old file or the new one.
    public static func write(_ data: Data, to path: String, owner: (uid: uid_t, gid: gid_t)?, mode: mode_t) throws(ApplyError) {
        let tmp = try stage(data, to: path, owner: owner, mode: mode)
        try commit(tmp, to: path)
    }

    /// The first half of `write`: the temporary file beside `path`,
    /// written and fsynced; `commit` renames it into place.
    public static func stage(_ data: Data, to path: String, owner: (uid: uid_t, gid: gid_t)?, mode: mode_t) throws(ApplyError) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        var template = Array("\(dir.isEmpty ? "." : dir)/.\(base).vrfc-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ApplyError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let tmp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        let writeError = data.withUnsafeBytes { writeAll(fd, $0) }
        guard writeError == nil, fchmod(fd, mode) == 0, owner.map({ fchown(fd, $0.uid, $0.gid) == 0 }) ?? true, fsync(fd) == 0
        else {
            let err = writeError ?? errno
            close(fd)
            throw ApplyError("cannot write \(path): \(String(cString: strerror(err)))")
        }
        close(fd)
        ok = true
        return tmp
    }

    /// The second half of `write`: renames a staged file over `path` and
    /// fsyncs the directory.
    public static func commit(_ tmp: String, to path: String, syncDirectory: Bool = true) throws(ApplyError) {
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw ApplyError("cannot replace \(path): \(String(cString: strerror(e)))")
        }
        if !syncDirectory { return }
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
