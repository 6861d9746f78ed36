import Foundation
import VRFCBPF
import VRFCTestSupport

/// Other builds of bpf/router.c, compiled by bpf/build.sh like the
/// embedded one: an "older build" (same program name, other instructions)
/// and a foreign program (another name) for the attach tests.
public enum RouterVariant {
    public static func build(defines: [String]) throws -> RouterObject {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrfcb-obj-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("router.o").path
        try Shell.check(["/bin/sh", Repo.root.path + "/bpf/build.sh", out] + defines.map { "-D" + $0 })
        return try RouterObject(contentsOf: out)
    }

    /// Same name, different tag: what an earlier vrfc release left attached.
    public static func olderBuild() throws -> RouterObject { try build(defines: ["VRFC_TEST_VARIANT=1"]) }

    /// Some other project's tc program.
    public static func foreign() throws -> RouterObject { try build(defines: ["VRFC_PROG_NAME=other_prog"]) }
}
