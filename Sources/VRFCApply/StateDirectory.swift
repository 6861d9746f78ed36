import Glibc
import VRFCNetlink

/// Why a state file could not be used: it could not be read (an
/// unprivileged `plan`), or it is not safe to trust (someone other than root
/// could have written it, or it is a link planted to redirect root's writes).
public enum StateFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(String)
    case unsafe(String)

    public var description: String {
        switch self {
        case .unreadable(let s), .unsafe(let s): s
        }
    }
}

/// The applier's state between runs (the creation log, the clsact record):
/// a directory only root may write, default /run/vrfc (tmpfs: gone at
/// reboot, like the links it describes).
///
/// Every use opens the directory with O_NOFOLLOW and checks the open
/// descriptor: a directory owned by root and closed to group and others
/// (a root-owned one with wider permissions, as earlier versions made it,
/// is tightened to 0700). Files are opened relative to that descriptor with
/// O_NOFOLLOW and checked too (regular, root's, one link): a planted symlink
/// or hard link never makes root read or append to its target.
public struct StateDirectory: Sendable {
    public static let defaultPath = "/run/vrfc"
    public let path: String

    public init(_ path: String = StateDirectory.defaultPath) {
        self.path = path
    }

    static func why(_ e: Int32) -> String { String(cString: strerror(e)) }

    /// The checked directory; nil when it does not exist and `create` is false.
    func open(create: Bool) throws(StateFileError) -> Int32? {
        if create && mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .unsafe("cannot create the state directory \(path): \(Self.why(errno))")
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT && !create { return nil }
            if e == EACCES { throw .unreadable("the state directory \(path) is not readable (\(Self.why(e))); it is root's") }
            if e == ELOOP || e == ENOTDIR {
                throw .unsafe("the state directory \(path) is a symbolic link or not a directory; remove it (vrfc creates it 0700)")
            }
            throw .unreadable("cannot open the state directory \(path): \(Self.why(e))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw .unreadable("cannot stat \(path): \(Self.why(errno))")
        }
        if st.st_uid != 0 {
            close(fd)
            throw .unsafe("the state directory \(path) is owned by uid \(st.st_uid), not root; remove it (vrfc creates it 0700)")
        }
        if st.st_mode & 0o077 != 0 {
            if geteuid() == 0 && fchmod(fd, 0o700) == 0 { return fd }
            close(fd)
            throw .unsafe(
                "the state directory \(path) has mode \(String(st.st_mode & 0o777, radix: 8)); it must be 0700 (chmod 0700 \(path))")
        }
        return fd
    }

    /// A file's text; nil when there is no such file.
    func read(_ name: String) throws(StateFileError) -> String? {
        guard let dir = try open(create: false) else { return nil }
        defer { close(dir) }
        let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            if e == ENOENT { return nil }
            if e == ELOOP { throw .unsafe("\(path)/\(name) is a symbolic link; vrfc never follows one there: remove it") }
            if e == EACCES { throw .unreadable("\(path)/\(name) is not readable (\(Self.why(e)))") }
            throw .unreadable("cannot open \(path)/\(name): \(Self.why(e))")
        }
        defer { close(fd) }
        try checkFile(fd, name)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .unreadable("cannot read \(path)/\(name): \(Self.why(errno))") }
            if n == 0 { break }
            out += buffer[0..<n]
            if out.count > 16 << 20 { throw .unsafe("\(path)/\(name) is larger than 16 MiB; vrfc never writes that much there") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func checkFile(_ fd: Int32, _ name: String) throws(StateFileError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable("cannot stat \(path)/\(name): \(Self.why(errno))") }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_uid == 0, st.st_nlink == 1, st.st_mode & 0o022 == 0 else {
            throw .unsafe("\(path)/\(name) is not a regular root-owned file with one link, writable only by root; remove it")
        }
    }

    /// Appends with one write(2), so a line survives the writer's death whole.
    func append(_ name: String, _ text: String) throws(StateFileError) {
        guard let dir = try open(create: true) else { return }
        defer { close(dir) }
        let fd = openat(dir, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        if fd < 0 {
            if errno == ELOOP { throw .unsafe("\(path)/\(name) is a symbolic link; vrfc never follows one there: remove it") }
            throw .unreadable("cannot write \(path)/\(name): \(Self.why(errno))")
        }
        defer { close(fd) }
        try checkFile(fd, name)
        if let e = Array(text.utf8).withUnsafeBytes({ writeAll(fd, $0) }) {
            throw .unreadable("cannot write \(path)/\(name): \(Self.why(e))")
        }
    }

    /// Replaces a file's text atomically (a new file renamed over it); an
    /// empty text removes it.
    func replace(_ name: String, _ text: String) throws(StateFileError) {
        if text.isEmpty { return try remove(name) }
        guard let dir = try open(create: true) else { return }
        defer { close(dir) }
        let tmp = ".\(name).\(getpid()).tmp"
        unlinkat(dir, tmp, 0)
        let fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .unreadable("cannot write \(path)/\(tmp): \(Self.why(errno))") }
        let failed = Array(text.utf8).withUnsafeBytes { writeAll(fd, $0) }
        close(fd)
        guard failed == nil, renameat(dir, tmp, dir, name) == 0 else {
            let e = failed ?? errno
            unlinkat(dir, tmp, 0)
            throw .unreadable("cannot replace \(path)/\(name): \(Self.why(e))")
        }
    }

    func remove(_ name: String) throws(StateFileError) {
        guard let dir = try open(create: false) else { return }
        defer { close(dir) }
        if unlinkat(dir, name, 0) != 0 && errno != ENOENT {
            throw .unreadable("cannot remove \(path)/\(name): \(Self.why(errno))")
        }
    }
}

/// A link vrfc is about to create, and how to know it again: its ifindex
/// (chosen by vrfc), name, kind, and the nonce vrfc puts into its device
/// group (IFLA_GROUP) in the creating request itself. An unmarked link is
/// vrfc's only when it is provably the one that request made: a link someone
/// else later makes with the same name and ifindex does not carry the nonce.
/// The far end of a veth pair cannot be given a group at creation (libnl
/// sends none for the peer), so it proves itself through the pairing, which
/// nobody can forge after the fact: its peer is the logged other end, which
/// carries the nonce or vrfc's marker.
public struct LoggedLink: Hashable, Sendable {
    public var index: Int32
    public var name: String
    public var kind: String
    public var nonce: UInt32
    /// For a veth end: the ifindex of the other end, created in the same request.
    public var peerIndex: Int32?

    public init(index: Int32, name: String, kind: String, nonce: UInt32, peerIndex: Int32? = nil) {
        self.index = index
        self.name = name
        self.kind = kind
        self.nonce = nonce
        self.peerIndex = peerIndex
    }

    var line: String { "\(index) \(name) \(kind) \(String(nonce, radix: 16)) \(peerIndex ?? 0)\n" }

    init?(line: Substring) {
        let p = line.split(separator: " ")
        guard p.count == 5, let i = Int32(p[0]), let n = UInt32(p[3], radix: 16), n != 0, let peer = Int32(p[4]) else { return nil }
        self.init(index: i, name: String(p[1]), kind: String(p[2]), nonce: n, peerIndex: peer == 0 ? nil : peer)
    }

    /// The live link `l` (unmarked) is the one this entry's creation made.
    public func matches(_ l: Link, byIndex: [Int32: Link]) -> Bool {
        guard l.alias == nil, l.index == index, l.name == name, l.kind == kind else { return false }
        if l.group == nonce { return true }
        guard let peerIndex, !l.linkInOtherNamespace, l.linkIndex == peerIndex,
            let p = byIndex[peerIndex], p.linkIndex == l.index, !p.linkInOtherNamespace
        else { return false }
        return Ownership.isMarked(p.alias) || (p.alias == nil && p.group == nonce)
    }
}

/// Write-ahead log of link creations, one file per network namespace.
///
/// The kernel takes the alias marker only after a link exists, so a run
/// killed between creating a link and marking it would leave an unmarked
/// link under vrfc's name, indistinguishable from a squatter. Before each
/// creation, vrfc appends the link's identity here (one write(2); it
/// survives the writer's death); a later run treats an unmarked link that
/// matches an entry as its own and finishes it (marker and group 0 in one
/// request). Each apply first drops the entries that are resolved (the link
/// is gone, marked, or is not the one logged), and a run that completes
/// removes the file. Named by the namespace's cookie, which the kernel
/// never reuses.
public final class CreationLog {
    public let state: StateDirectory
    public let name: String
    public var path: String { state.path + "/" + name }

    public init(namespaceCookie: UInt64, state: StateDirectory = StateDirectory()) {
        self.state = state
        name = "created-netns-\(namespaceCookie).log"
    }

    /// The logged creations; none when there is no log. Lines of another
    /// format (an earlier version's `IFINDEX NAME`) prove nothing and are ignored.
    public func entries() throws(StateFileError) -> Set<LoggedLink> {
        guard let text = try state.read(name) else { return [] }
        return Set(text.split(separator: "\n").compactMap(LoggedLink.init(line:)))
    }

    public func append(_ links: [LoggedLink]) throws(ApplyError) {
        do throws(StateFileError) {
            try state.append(name, links.map(\.line).joined())
        } catch {
            throw ApplyError("cannot write the creation log: \(error)")
        }
    }

    /// Keeps only `entries` (those still unresolved).
    public func retain(_ entries: Set<LoggedLink>) throws(ApplyError) {
        do throws(StateFileError) {
            try state.replace(name, entries.sorted { ($0.index, $0.name) < ($1.index, $1.name) }.map(\.line).joined())
        } catch {
            throw ApplyError("cannot rewrite the creation log: \(error)")
        }
    }

    /// Called once every logged link carries its marker.
    public func remove() {
        try? state.remove(name)
    }
}

/// The interfaces where vrfc added the clsact qdisc for its router, one
/// file per network namespace (`IFINDEX NAME` lines). The kernel keeps no
/// record of who added a qdisc, so vrfc keeps its own: when the router
/// leaves such an interface, the qdisc goes too, unless another filter
/// (ingress or egress) still uses it. A clsact vrfc did not add, or added
/// before it kept this record, always stays. Entries whose interface is
/// gone or renamed are dropped at the next apply.
public final class ClsactRecord {
    public struct Entry: Hashable, Sendable {
        public var index: Int32
        public var name: String

        public init(index: Int32, name: String) {
            self.index = index
            self.name = name
        }
    }

    public let state: StateDirectory
    public let name: String

    public init(namespaceCookie: UInt64, state: StateDirectory = StateDirectory()) {
        self.state = state
        name = "clsact-netns-\(namespaceCookie).list"
    }

    public func entries() throws(StateFileError) -> Set<Entry> {
        guard let text = try state.read(name) else { return [] }
        return Set(
            text.split(separator: "\n").compactMap { line -> Entry? in
                let p = line.split(separator: " ")
                guard p.count == 2, let i = Int32(p[0]) else { return nil }
                return Entry(index: i, name: String(p[1]))
            })
    }

    public func replace(_ entries: Set<Entry>) throws(ApplyError) {
        do throws(StateFileError) {
            try state.replace(
                name, entries.sorted { ($0.index, $0.name) < ($1.index, $1.name) }.map { "\($0.index) \($0.name)\n" }.joined())
        } catch {
            throw ApplyError("cannot write the clsact record: \(error)")
        }
    }

    /// One appended line per qdisc vrfc adds (no rewrite: an apply may add hundreds).
    public func add(_ entry: Entry) throws(ApplyError) {
        do throws(StateFileError) {
            try state.append(name, "\(entry.index) \(entry.name)\n")
        } catch {
            throw ApplyError("cannot write the clsact record: \(error)")
        }
    }

    public func update(adding: Entry? = nil, removing: Entry? = nil) throws(ApplyError) {
        var current: Set<Entry>
        do throws(StateFileError) {
            current = try entries()
        } catch {
            throw ApplyError("cannot read the clsact record: \(error)")
        }
        if let adding { current.insert(adding) }
        if let removing { current.remove(removing) }
        try replace(current)
    }
}
