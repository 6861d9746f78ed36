import Foundation
import Testing
import VRFCTestSupport

/// `vrfc compile -o` onto an existing frr.conf of another owner, behind a
/// symlink: mode, owner and symlink stay (a `0640 frr:frr` frr.conf stays
/// so). Root only: only root can give the file another owner.
@Suite struct OutputOwnerTests {
    let fixture = Fixture(name: "mgmt-vrf")

    @Test func outputKeepsModeOwnerAndSymlink() throws {
        let dir = try TempDir()
        let out = dir.path + "/frr.conf"
        try "old\n".write(toFile: out, atomically: false, encoding: .utf8)
        #expect(chmod(out, 0o640) == 0)
        #expect(chown(out, 65534, 65534) == 0, "the tests run as root")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/current.conf", withDestinationPath: out)
        let r = try Shell.run(
            [
                Repo.executable("vrfc"), "compile", "--config", fixture.config, "--template", fixture.base, "--hostname", "node-a",
                "--router-id", "192.0.2.129", "-o", dir.path + "/current.conf", fixture.crs,
            ], timeout: 60)
        #expect(r.status == 0, "\(r)")
        #expect(readText(out) == readText(fixture.golden("conf")))
        var st = stat()
        #expect(stat(out, &st) == 0)
        #expect(
            st.st_mode & 0o7777 == 0o640 && st.st_uid == 65534 && st.st_gid == 65534,
            "mode \(String(st.st_mode & 0o7777, radix: 8)) owner \(st.st_uid):\(st.st_gid)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir.path + "/current.conf")) == out, "the symlink stays")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["current.conf", "frr.conf"], "no temporary file left"
        )
    }
}
