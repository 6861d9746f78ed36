import Glibc
import VRFCKernel
import VRFCModel

/// How vrfc recognises its own links: by name (one of its prefixes) AND by
/// a marker in the link's alias (IFLA_IFALIAS), which no other tool writes.
/// A link with a vrfc name but no marker belongs to someone else, unless
/// the creation log says vrfc made it and was interrupted before marking it.
public enum Ownership {
    /// `vrfc:v1:<vrf>`; the version lets a later format be told apart.
    public static let markerPrefix = "vrfc:v1:"

    public static func marker(_ vrf: VRFName) -> String { markerPrefix + vrf.value }

    public static func isMarked(_ alias: String?) -> Bool { alias?.hasPrefix(markerPrefix) ?? false }

    public static func hasOwnedPrefix(_ name: String) -> Bool {
        OpList.ownedPrefixes.contains { name.hasPrefix($0) }
    }
}

/// A link vrfc is about to create: its ifindex (chosen by vrfc) and name.
public struct LoggedLink: Hashable, Sendable {
    public var index: Int32
    public var name: String

    public init(index: Int32, name: String) {
        self.index = index
        self.name = name
    }
}

/// Write-ahead log of link creations, one file per network namespace.
///
/// The kernel takes the alias marker only after a link exists, so a run
/// killed between creating a link and marking it would leave an unmarked
/// link under vrfc's name, indistinguishable from a squatter. Before each
/// creation, vrfc appends the link's ifindex and name here (one write(2);
/// it survives the writer's death); a later run treats an unmarked link
/// whose ifindex and name are logged as its own and finishes it. A run that
/// completes removes the file.
///
/// The file lives in /run (tmpfs: gone at reboot, like the links) and is
/// named by the namespace's cookie, which the kernel never reuses.
public final class CreationLog {
    public static let defaultDirectory = "/run/vrfc"
    public let directory: String
    public let path: String
    private var fd: Int32 = -1

    public init(namespaceCookie: UInt64, directory: String = CreationLog.defaultDirectory) {
        self.directory = directory
        path = "\(directory)/created-netns-\(namespaceCookie).log"
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The logged creations; none when there is no log.
    public func entries() -> Set<LoggedLink> {
        guard let f = fopen(path, "r") else { return [] }
        defer { fclose(f) }
        var out: Set<LoggedLink> = []
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0, let line {
            let parts = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\n" })
            if parts.count == 2, let i = Int32(parts[0]) {
                out.insert(LoggedLink(index: i, name: String(parts[1])))
            }
        }
        return out
    }

    public func append(_ links: [LoggedLink]) throws(ApplyError) {
        if fd < 0 {
            mkdir(directory, 0o755)
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ApplyError("cannot write the creation log \(path): \(String(cString: strerror(errno)))") }
        }
        let text = links.map { "\($0.index) \($0.name)\n" }.joined()
        let n = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard n == text.utf8.count else { throw ApplyError("cannot write the creation log \(path): \(String(cString: strerror(errno)))") }
    }

    /// Called once every logged link carries its marker.
    public func remove() {
        unlink(path)
    }
}
