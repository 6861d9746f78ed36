import CBPF
import Glibc

/// bpffs, where maps are pinned so they outlive the process that made them.
public enum BPFFS {
    public static let mountPoint = "/sys/fs/bpf"

    static func isBPFFS(_ path: String) -> Bool {
        var s: statfs = .init()
        guard statfs(path, &s) == 0 else { return false }
        return UInt32(truncatingIfNeeded: s.f_type) == UInt32(BPF_FS_MAGIC)
    }

    /// Mounts bpffs at /sys/fs/bpf when nothing is (as iproute2 does on
    /// demand; systemd hosts have it already), then creates `directory`.
    public static func prepare(directory: String) throws(BPFError) {
        if directory.hasPrefix(mountPoint + "/") && !isBPFFS(mountPoint) {
            if mount("bpf", mountPoint, "bpf", 0, nil) != 0 && !isBPFFS(mountPoint) {
                throw .bpffsUnavailable(path: mountPoint, errno: errno)
            }
        }
        var path = ""
        for part in directory.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw .pinFailed(path: path, errno: errno)
            }
        }
        guard isBPFFS(directory) else { throw .bpffsUnavailable(path: directory, errno: ENOTSUP) }
    }

    /// Removes a pin directory and the pins in it (tests' own directories;
    /// programs still attached keep their maps).
    public static func remove(directory: String) {
        for name in RouterProgram.mapNames { unlink(directory + "/" + name) }
        rmdir(directory)
    }
}

enum PinnedMaps {
    /// An old build's pin of another shape would make libbpf refuse to load;
    /// vrfc owns the pin directory, so it replaces the pin (old programs
    /// keep their maps until they are replaced too).
    static func dropIfIncompatible(path: String, with map: OpaquePointer) throws(BPFError) {
        guard access(path, F_OK) == 0 else { return }
        let fd = bpf_obj_get(path)
        var compatible = false
        if fd >= 0 {
            compatible = KernelMaps.compatible(fd: fd, with: map)
            close(fd)
        }
        if !compatible && unlink(path) != 0 { throw .pinFailed(path: path, errno: errno) }
    }

    /// The IDs of the maps pinned in `directory`, nil unless all are there.
    static func ids(in directory: String) -> [UInt32]? {
        var ids: [UInt32] = []
        for name in RouterProgram.mapNames {
            let fd = bpf_obj_get(directory + "/" + name)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var info = bpf_map_info()
            var len = UInt32(MemoryLayout<bpf_map_info>.size)
            guard bpf_obj_get_info_by_fd(fd, &info, &len) == 0 else { return nil }
            ids.append(info.id)
        }
        return ids
    }
}

/// Maps found through the kernel by id rather than by pin.
enum KernelMaps {
    static func info(fd: Int32) -> bpf_map_info? {
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info : nil
    }

    /// Same type, key, value, size and flags as the object's map.
    static func compatible(fd: Int32, with map: OpaquePointer) -> Bool {
        guard let info = info(fd: fd) else { return false }
        return info.type == bpf_map__type(map).rawValue
            && info.key_size == bpf_map__key_size(map)
            && info.value_size == bpf_map__value_size(map)
            && info.max_entries == bpf_map__max_entries(map)
            && info.map_flags == bpf_map__map_flags(map)
    }

    /// Opens the maps with these ids, by their kernel name (the caller
    /// closes the descriptors); ids that are gone are skipped.
    static func open(ids: [UInt32]) -> [String: Int32] {
        var fds: [String: Int32] = [:]
        for id in ids {
            let fd = bpf_map_get_fd_by_id(id)
            guard fd >= 0 else { continue }
            guard let info = info(fd: fd) else {
                close(fd)
                continue
            }
            let name = cString(tuple: info.name)
            if fds[name] == nil { fds[name] = fd } else { close(fd) }
        }
        return fds
    }
}
