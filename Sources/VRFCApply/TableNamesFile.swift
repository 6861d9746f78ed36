import Foundation
import Glibc
import VRFCKernel
import VRFCModel

// The names of vrfc's owned tables for iproute2: one file of vrfc's own in
// rt_tables.d (`TABLE NAME` lines, which `ip` reads next to rt_tables), so
// `ip route show table metallb-nra` and `ip rule` speak the node config's
// name. The file is vrfc's alone: written whole when its bytes should
// change, removed when no owned table has a name (and by --clean).

public struct TableNamesFile: Sendable, Hashable {
    public static let defaultPath = "/etc/iproute2/rt_tables.d/vrfc.conf"

    public let path: String

    public init(_ path: String = TableNamesFile.defaultPath) { self.path = path }

    /// What the file holds.
    public enum State: Sendable, Hashable {
        case absent
        case contents([UInt8])
        case unreadable(String)
    }

    /// The file's bytes for these names; nil when there are none (no file).
    public static func contents(_ names: [TableName]) -> [UInt8]? {
        guard !names.isEmpty else { return nil }
        var text = "# Written by vrfc-apply: the names of the routing tables vrfc owns. Changes here are overwritten.\n"
        for n in names.sorted(by: { $0.table < $1.table }) { text += "\(n.table)\t\(n.name)\n" }
        return Array(text.utf8)
    }

    /// The file as it is; a symlink or anything else but a regular file
    /// reads as different contents (the write replaces it, never follows it).
    public func read() -> State {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { return .absent }
            if e == ELOOP { return .contents([]) }
            return .unreadable("\(path): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return .contents([]) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return .unreadable("\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return .contents(bytes)
    }

    /// Writes `bytes` atomically (mode 0644, as iproute2's own files), or
    /// removes the file when nil; makes its directory when it is missing.
    func apply(_ bytes: [UInt8]?) throws(ApplyError) {
        guard let bytes else {
            if unlink(path) != 0 && errno != ENOENT {
                throw ApplyError("cannot remove \(path): \(String(cString: strerror(errno)))")
            }
            return
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            do {
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw ApplyError("cannot create \(dir): \(error.localizedDescription)")
            }
        }
        try ConfigFile.write(Data(bytes), to: path, owner: nil, mode: 0o644)
    }
}

/// Writing or removing the table-names file.
public struct TableNamesStep: Sendable, Hashable {
    public var file: TableNamesFile
    /// nil: remove the file.
    public var contents: [UInt8]?
    /// The names, for reports (`200 metallb-nra`).
    public var names: [TableName]
}

extension PlanBuilder {
    /// A step when the file's bytes differ from what the op list's names give.
    mutating func tableNamesSteps() -> [Step] {
        guard let (file, state) = snap.tableNames else { return [] }
        let want = TableNamesFile.contents(ops.tableNames)
        switch state {
        case .unreadable(let why):
            plan.unreadable.append("the table names for iproute2 (\(why))")
            return []
        case .absent where want == nil:
            return []
        case .contents(let have) where have == want:
            return []
        default:
            return [.tableNames(TableNamesStep(file: file, contents: want, names: ops.tableNames))]
        }
    }
}
