import Foundation
import Glibc
import Testing

@testable import VRFCApply

/// The one writer of vrfc-apply's scratch files (deltas, their per-daemon
/// copies, candidate configs).
@Suite struct FileWritesTests {
    static func directory() throws -> String {
        var template = Array("/tmp/vrfc-filewrites-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    @Test func aScratchFileIsPrivateAndReplacesWhatWasThere() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/frr.delta.bgpd"
        try writePrivateFile(path, Array(String(repeating: "old line\n", count: 10_000).utf8))
        // 1 MiB: more than one write(2) may take in one go on some files.
        let text = String(repeating: "ip prefix-list a seq 5 permit 192.0.2.0/24\n", count: 25_000)
        try writePrivateFile(path, Array(text.utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func aSymbolicLinkInItsPlaceIsRefusedAndItsTargetUntouched() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/target"
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(symlink(target, dir + "/frr.delta.zebra") == 0)
        #expect(throws: ApplyError.self) { try writePrivateFile(dir + "/frr.delta.zebra", Array("x\n".utf8)) }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
    }

    @Test func aWriteThatCannotHappenNamesItsErrno() throws {
        // A read-only descriptor: write(2) fails with EBADF, never loops.
        let fd = open("/dev/null", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let e = Array("x".utf8).withUnsafeBytes { writeAll(fd, $0) }
        #expect(e == EBADF)
        #expect([UInt8]().withUnsafeBytes { writeAll(fd, $0) } == nil)
    }
}
