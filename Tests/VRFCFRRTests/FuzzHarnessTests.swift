import Foundation
import Testing
import VRFCTestSupport

/// A bounded run of the fuzz harness (Tests/Fuzz, `scripts/fuzz.sh` for
/// long runs): about a minute of mutated fixtures through the YAML readers
/// and `vrfc compile`. Any crash, hang, usage error, unlocated or unescaped
/// message, or reader disagreement fails it; the seed is printed so a
/// failure can be replayed with `VRFC_FUZZ_SEED`.
@Suite struct FuzzHarnessTests {
    @Test func aMinuteOfFuzzingFindsNothing() throws {
        let fuzz = Repo.executable("vrfc-fuzz")
        guard FileManager.default.isExecutableFile(atPath: fuzz) else {
            throw SetupError("\(fuzz) is not built: run swift build --build-tests")
        }
        let seed = ProcessInfo.processInfo.environment["VRFC_FUZZ_SEED"] ?? String(UInt64(Date().timeIntervalSince1970))
        let dir = try TempDir()
        let r = try Shell.run([fuzz, "--seconds", "60", "--seed", seed, "--out", dir.path + "/fuzz"], timeout: 600)
        print(r.stdout)
        #expect(r.status == 0 && !r.timedOut, "vrfc-fuzz found problems (seed \(seed)):\n\(r)")
        #expect(r.stdout.contains("no crash, hang"), "\(r.stdout)")
    }
}
