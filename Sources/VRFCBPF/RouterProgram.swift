import CBPF
import Foundation
import Glibc

/// The compiled router program: ELF bytes for libbpf.
public struct RouterObject: Sendable, Equatable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// An object file built by `bpf/build.sh` (tests load variant builds).
    public init(contentsOf path: String) throws(BPFError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .objectInvalid(reason: "cannot read \(path)")
        }
        bytes = Array(data)
    }

    /// bpf/router.c as compiled by the EmbedRouterObject plugin during this
    /// build: the binary carries its program and needs no file at runtime.
    public static let embedded: RouterObject = {
        guard let data = Data(base64Encoded: EmbeddedRouterObject.base64) else {
            preconditionFailure("EmbeddedRouterObject.base64 is not base64: the build plugin is broken")
        }
        return RouterObject(bytes: Array(data))
    }()
}

/// What makes an attached program "this exact program": the kernel's tag
/// (a hash of the instructions with map references blanked, so equal for
/// every load of one build) plus the maps it uses, so an instance that
/// counts into maps other than the pinned ones is not current either.
public struct ProgramIdentity: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var tag: [UInt8]
    public var mapIDs: [UInt32]

    public init(name: String, tag: [UInt8], mapIDs: [UInt32]) {
        self.name = name
        self.tag = tag
        self.mapIDs = mapIDs.sorted()
    }

    public var tagHex: String { tag.map { String(format: "%02x", $0) }.joined() }
    public var description: String { "\(name) tag \(tagHex) maps \(mapIDs)" }
}

/// One loaded instance of the router object: the program, its maps, and
/// (with a pin directory) maps shared with every other instance pinned
/// there. Owns kernel objects, hence a class: closing it drops the program
/// unless tc or a pin still holds it.
public final class RouterProgram: @unchecked Sendable {
    public static let mapNames = [VRFC_MAP_OUTCOMES, VRFC_MAP_FIB]

    public let pinDirectory: String?
    public let programName: String
    public let programFD: Int32
    public let identity: ProgramIdentity
    private let object: OpaquePointer
    private let mapFDs: [String: Int32]

    /// Loads (and so verifies) the program. With `pinDirectory`, maps pinned
    /// there are reused (counters continue), missing ones are created and
    /// pinned, and pins of another layout (an older build) are replaced.
    ///
    /// With `reuseMapIDs` (the maps of instances already attached, found
    /// through the kernel), maps not pinned are taken from those instead of
    /// created, so every instance keeps counting into one set of maps even
    /// where pins are lost (`ip netns exec` hides bpffs). Pinning is a
    /// convenience: when bpffs cannot be prepared the program loads unpinned.
    public init(
        object routerObject: RouterObject = .embedded, pinDirectory: String?,
        reuseMapIDs: [UInt32] = []
    ) throws(BPFError) {
        LibbpfLog.install()
        _ = LibbpfLog.take()
        var opts = bpf_object_open_opts()
        opts.sz = libbpfOptionsSize(\bpf_object_open_opts.kernel_log_level, 4)
        let opened = routerObject.bytes.withUnsafeBytes { raw in
            bpf_object__open_mem(raw.baseAddress, raw.count, &opts)
        }
        guard let obj = opened else {
            throw .objectInvalid(reason: errnoName(errno) + "\n" + LibbpfLog.take())
        }
        do throws(BPFError) {
            var usablePins: String? = nil
            if let dir = pinDirectory {
                do throws(BPFError) {
                    try BPFFS.prepare(directory: dir)
                    usablePins = dir
                } catch {
                    // No bpffs here (and none mountable): run unpinned; the
                    // next run finds the maps through the attached instances.
                }
            }
            let pinnedIDs = usablePins.flatMap { PinnedMaps.ids(in: $0) }
            // Pins win (they are what earlier runs counted into); without
            // them, the maps of the instances already attached.
            if pinnedIDs == nil && !reuseMapIDs.isEmpty {
                let fds = KernelMaps.open(ids: reuseMapIDs)
                defer { fds.values.forEach { close($0) } }
                var map = bpf_object__next_map(obj, nil)
                while let m = map {
                    let name = String(cString: bpf_map__name(m))
                    if let fd = fds[name], KernelMaps.compatible(fd: fd, with: m) {
                        let rc = bpf_map__reuse_fd(m, fd)
                        if rc != 0 { throw .mapAccess(map: name, operation: "reuse by id", errno: -rc) }
                    }
                    map = bpf_object__next_map(obj, m)
                }
            }
            if let dir = usablePins {
                var map = bpf_object__next_map(obj, nil)
                while let m = map {
                    let path = dir + "/" + String(cString: bpf_map__name(m))
                    try PinnedMaps.dropIfIncompatible(path: path, with: m)
                    let rc = bpf_map__set_pin_path(m, path)
                    if rc != 0 { throw .pinFailed(path: path, errno: -rc) }
                    map = bpf_object__next_map(obj, m)
                }
            }
            let rc = bpf_object__load(obj)
            if rc != 0 { throw .loadFailed(errno: -rc, log: LibbpfLog.take()) }
            // One program per object; test variants give it another name.
            guard let prog = bpf_object__next_program(obj, nil) else {
                throw .objectInvalid(reason: "the object holds no program")
            }
            programName = String(cString: bpf_program__name(prog))
            programFD = bpf_program__fd(prog)
            var fds: [String: Int32] = [:]
            for name in Self.mapNames {
                guard let m = bpf_object__find_map_by_name(obj, name) else {
                    throw .objectInvalid(reason: "the object lacks map \(name) (bpf/router.h)")
                }
                fds[name] = bpf_map__fd(m)
            }
            mapFDs = fds
            identity = try ProgramInfo.read(fd: programFD).identity
        } catch {
            bpf_object__close(obj)
            throw error
        }
        self.object = obj
        self.pinDirectory = pinDirectory
    }

    deinit { bpf_object__close(object) }

    func mapFD(_ name: String) -> Int32 { mapFDs[name]! }

    /// The counters of this instance's maps.
    public func stats() throws(BPFError) -> RouterStats {
        try RouterStats.read(
            outcomesFD: mapFD(VRFC_MAP_OUTCOMES), fibFD: mapFD(VRFC_MAP_FIB),
            source: pinDirectory ?? "(unpinned)")
    }
}

/// What the kernel says about a loaded program.
struct ProgramInfo {
    var id: UInt32
    var identity: ProgramIdentity

    static func read(fd: Int32) throws(BPFError) -> ProgramInfo {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        var rc = bpf_obj_get_info_by_fd(fd, &info, &len)
        if rc != 0 { throw .mapAccess(map: "program fd \(fd)", operation: "get info", errno: -rc) }
        var ids = [UInt32](repeating: 0, count: Int(info.nr_map_ids))
        if !ids.isEmpty {
            var again = bpf_prog_info()
            again.nr_map_ids = UInt32(ids.count)
            len = UInt32(MemoryLayout<bpf_prog_info>.size)
            rc = ids.withUnsafeMutableBufferPointer { buf in
                again.map_ids = UInt64(UInt(bitPattern: buf.baseAddress))
                return bpf_obj_get_info_by_fd(fd, &again, &len)
            }
            if rc != 0 { throw .mapAccess(map: "program fd \(fd)", operation: "get map ids", errno: -rc) }
            ids = Array(ids.prefix(Int(again.nr_map_ids)))
        }
        return ProgramInfo(
            id: info.id,
            identity: ProgramIdentity(
                name: cString(tuple: info.name), tag: bytes(tuple: info.tag), mapIDs: ids))
    }

    /// nil when the program is gone (unloaded between listing and asking).
    static func read(id: UInt32) throws(BPFError) -> ProgramInfo? {
        let fd = bpf_prog_get_fd_by_id(id)
        if fd < 0 {
            if -fd == ENOENT { return nil }
            throw .mapAccess(map: "program id \(id)", operation: "open", errno: -fd)
        }
        defer { close(fd) }
        return try read(fd: fd)
    }
}
