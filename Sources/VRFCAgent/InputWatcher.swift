import Foundation
import Glibc

/// Which directories to watch for a set of input paths, and which entry
/// names in each matter. Pure given the file system it looks at; recomputed
/// after every event, because what a path resolves to moves (a ConfigMap
/// mount swaps its `..data` symlink, an editor renames over a file).
public struct WatchSet: Equatable, Sendable {
    public enum Filter: Equatable, Sendable {
        /// Every entry (a directory input and its subdirectories).
        case all
        /// Only these names, and Kubernetes' atomic-writer entries (`..data`,
        /// `..2024_...`, `..data_tmp`) that a ConfigMap mount swaps.
        case names(Set<String>)

        func merged(_ other: Filter) -> Filter {
            switch (self, other) {
            case (.names(let a), .names(let b)): .names(a.union(b))
            default: .all
            }
        }

        public func matches(_ name: String) -> Bool {
            switch self {
            case .all: true
            case .names(let n): name.isEmpty || n.contains(name) || name.hasPrefix("..")
            }
        }
    }

    /// Directory path → filter.
    public var directories: [String: Filter] = [:]

    public init(paths: [String]) {
        var visited: Set<String> = []
        for p in paths { add(Self.absolute(p), visited: &visited) }
    }

    static func absolute(_ p: String) -> String {
        let path = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
        return URL(fileURLWithPath: path).standardized.path
    }

    mutating func watch(_ dir: String, _ filter: Filter) {
        directories[dir] = directories[dir].map { $0.merged(filter) } ?? filter
    }

    mutating func add(_ path: String, visited: inout Set<String>) {
        // The parent catches replacement, creation and the ..data swap; if
        // it does not exist yet, the nearest ancestor that does catches its
        // creation.
        var dir = (path as NSString).deletingLastPathComponent
        var name = (path as NSString).lastPathComponent
        while !isDirectory(dir) && dir != "/" {
            name = (dir as NSString).lastPathComponent
            dir = (dir as NSString).deletingLastPathComponent
        }
        watch(dir, .names([name]))
        guard let real = realPath(path) else { return }
        if isDirectory(real) {
            addTree(real, visited: &visited)
        } else if real != path {
            // A symlink (a ConfigMap key): the file it resolves to can change in place.
            watch((real as NSString).deletingLastPathComponent, .names([(real as NSString).lastPathComponent]))
        }
    }

    /// A directory input: it and every directory below it, following
    /// symlinks (`..data`), each real directory once.
    mutating func addTree(_ dir: String, visited: inout Set<String>) {
        guard visited.insert(dir).inserted else { return }
        watch(dir, .all)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for n in names.sorted() {
            let entry = dir + "/" + n
            guard let real = realPath(entry) else { continue }
            if isDirectory(real) {
                addTree(real, visited: &visited)
            } else if real != entry {
                let parent = (real as NSString).deletingLastPathComponent
                if !visited.contains(parent) { watch(parent, .names([(real as NSString).lastPathComponent])) }
            }
        }
    }

    func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

public struct WatchError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// inotify on the agent's inputs. Calls `onChange` with a short description
/// of the first relevant event of each batch read from the kernel; the agent
/// coalesces them.
public final class InputWatcher: @unchecked Sendable {
    let paths: [String]
    let fd: Int32
    private let wakeup: (read: Int32, write: Int32)
    private var watches: [Int32: (dir: String, filter: WatchSet.Filter)] = [:]  // the watcher thread's
    private let onChange: @Sendable (String) -> Void

    static let mask = UInt32(
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF)

    public init(paths: [String], onChange: @escaping @Sendable (String) -> Void) throws(WatchError) {
        self.paths = paths
        self.onChange = onChange
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError(description: "inotify_init1: \(String(cString: strerror(errno)))") }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else { throw WatchError(description: "pipe: \(String(cString: strerror(errno)))") }
        for end in p { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wakeup = (p[0], p[1])
        rewatch()
        guard !watches.isEmpty else {
            throw WatchError(description: "nothing to watch: no directory of \(paths.joined(separator: ", ")) could be watched")
        }
    }

    /// The directories currently watched (for the log).
    public var watchedDirectories: [String] { watches.values.map(\.dir).sorted() }

    /// Starts the thread that reads events.
    public func start() {
        let t = Thread { [self] in loop() }
        t.name = "vrfc-inotify"
        t.start()
    }

    public func stop() {
        var b: UInt8 = 1
        _ = write(wakeup.write, &b, 1)
    }

    /// Adds watches for what the paths resolve to now and drops the rest.
    /// Adding a watch on an inode already watched returns its descriptor.
    func rewatch() {
        let want = WatchSet(paths: paths)
        var next: [Int32: (dir: String, filter: WatchSet.Filter)] = [:]
        for (dir, filter) in want.directories.sorted(by: { $0.key < $1.key }) {
            let wd = inotify_add_watch(fd, dir, Self.mask | UInt32(IN_ONLYDIR))
            guard wd >= 0 else { continue }  // gone meanwhile: the next event rewatches
            if let have = next[wd], have.filter != filter {
                next[wd] = (have.dir, have.filter.merged(filter))
            } else {
                next[wd] = (dir, filter)
            }
        }
        for wd in watches.keys where next[wd] == nil { inotify_rm_watch(fd, wd) }
        watches = next
    }

    func loop() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let n = read(fd, buffer, size)
            guard n > 0 else { continue }
            var first: String?
            var offset = 0
            while offset + 16 <= n {
                let wd = buffer.load(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.load(fromByteOffset: offset + 4, as: UInt32.self)
                let len = Int(buffer.load(fromByteOffset: offset + 12, as: UInt32.self))
                let name = len == 0 ? "" : String(cString: buffer.advanced(by: offset + 16).assumingMemoryBound(to: CChar.self))
                offset += 16 + len
                if first == nil, let d = describe(wd: wd, mask: mask, name: name) { first = d }
            }
            if let first {
                rewatch()
                onChange(first)
            }
        }
    }

    /// A relevant event as "DIR/NAME what"; nil when it does not matter.
    func describe(wd: Int32, mask: UInt32, name: String) -> String? {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 { return "inotify queue overflow" }
        guard let w = watches[wd] else { return nil }
        if mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 { return "\(w.dir) removed or moved" }
        guard w.filter.matches(name) else { return nil }
        let what =
            mask & UInt32(IN_CLOSE_WRITE) != 0
            ? "written"
            : mask & UInt32(IN_MOVED_TO) != 0
                ? "moved in"
                : mask & UInt32(IN_MOVED_FROM) != 0
                    ? "moved away"
                    : mask & UInt32(IN_CREATE) != 0
                        ? "created"
                        : mask & UInt32(IN_DELETE) != 0 ? "deleted" : "attributes changed"
        return "\(w.dir)/\(name) \(what)"
    }
}
