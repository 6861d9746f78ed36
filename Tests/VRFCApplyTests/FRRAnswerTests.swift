import Foundation
import Testing
import VRFCApply
import VRFCTestSupport

/// `FRRControl.awaitAnswer`, what a reconcile does after a reload before it
/// verifies: against real zebra and bgpd, one of them killed (as a crash,
/// or systemd stopping FRR, leaves it) and started again (as watchfrr
/// does), or not.
@Suite struct FRRAnswerTests {
    @Test func waitsForADaemonThatComesBackAndGivesUpOnOneThatDoesNot() throws {
        let frr = try FRRInstance(tag: "answer")
        defer { frr.stop() }
        let control = FRRControl(pathspace: frr.name)
        let daemons = ["bgpd", "zebra"]
        final class Lines: @unchecked Sendable {
            let lock = NSLock()
            var all: [String] = []
            func add(_ s: String) { lock.withLock { all.append(s) } }
            var text: String { lock.withLock { all.joined(separator: "\n") } }
        }

        // Every daemon answers: no wait, nothing said.
        let quiet = Lines()
        #expect(control.awaitAnswer(daemons, limit: .seconds(5), log: quiet.add) == nil)
        #expect(quiet.text.isEmpty, "\(quiet.text)")

        // bgpd gone, back 2 s later: the wait says so, and ends when it answers.
        frr.killDaemons(["bgpd"])
        let back = Lines()
        let restarted = DispatchSemaphore(value: 0)
        let startError = Lines()
        Thread.detachNewThread {
            usleep(2_000_000)
            do { try frr.start("bgpd") } catch { startError.add("\(error)") }
            restarted.signal()
        }
        let started = ContinuousClock.now
        let why = control.awaitAnswer(daemons, limit: .seconds(60), log: back.add)
        let waited = ContinuousClock.now - started
        restarted.wait()
        #expect(startError.text.isEmpty, "\(startError.text)")
        #expect(why == nil, "\(why ?? "")")
        #expect(waited >= .seconds(1), "it waited for bgpd: \(waited)")
        #expect(
            back.text.contains("bgpd") && back.text.contains("waiting up to 60.0 s")
                && back.text.contains("every daemon answers again"), "\(back.text)")

        // bgpd gone for good: after the limit, why (which daemon).
        frr.killDaemons(["bgpd"])
        let gone = Lines()
        let failure = control.awaitAnswer(daemons, limit: .seconds(2), log: gone.add)
        #expect(failure?.contains("did not all answer within 2.0 s") == true && failure?.contains("bgpd") == true, "\(failure ?? "nil")")
        #expect(gone.text.contains("waiting up to 2.0 s"), "\(gone.text)")
    }
}
