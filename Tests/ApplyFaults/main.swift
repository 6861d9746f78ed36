import ArgumentParser
import Foundation
import Glibc
import VRFCAgent
import VRFCApply
import VRFCApplyCLI
import VRFCCLI

/// vrfc-apply's commands with the faults the tests inject. A test-only
/// executable (built from the test tree, never installed): the shipped
/// binary carries no fault hooks, these pass observers into the library.
@main
struct ApplyFaults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrfc-apply-faults",
        abstract: "vrfc-apply apply/agent with injected faults (tests only).",
        subcommands: [CrashingApply.self, SlowAgent.self]
    )

    static func main() { runWithUsageExit() }
}

/// `vrfc-apply apply` without --frr-config that ends like `kill -9` right
/// after the request (links) or datagram (routes and rules) holding its
/// N-th change the kernel acknowledged: no cleanup, no output,
/// status 137. A run with fewer changes finishes as apply does (exit 0).
struct CrashingApply: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply")

    @Option(name: .customLong("crash-after-changes"), help: "End at once after this many acknowledged kernel changes.")
    var changes: Int

    @OptionGroup var inputs: NodeInputs

    func validate() throws {
        try inputs.requireOpList()
        if changes < 1 { throw ValidationError("--crash-after-changes: expected 1 or more") }
    }

    func run() throws {
        let ops = inputs.loadOps()
        inputs.enterNamespace()
        let outcome: LinkApplyOutcome
        do throws(ApplyError) {
            let session = try inputs.session(ops, exclusive: true)
            var left = changes
            // Route and rule changes come in datagrams: the end falls after the one holding the N-th.
            session.socket.onChange = { made in
                left -= made
                if left <= 0 { _exit(137) }
            }
            outcome = try LinkApply.run(session)
        } catch {
            ApplyCLI.fail(error.message)
        }
        switch outcome {
        case .refused(let plan): ApplyCLI.fail(Report.text(plan))
        case .inSync: break
        case .applied(_, let after):
            if !after.inSync { ApplyCLI.fail("after applying, the kernel still differs from the op list:\n" + Report.text(after)) }
        }
    }
}

/// `vrfc-apply agent` that pauses after each kernel change of a links-only
/// reconcile, so a signal can land while a plan is being executed.
struct SlowAgent: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent")

    @Option(name: .customLong("step-delay-ms"), help: "Milliseconds to pause after each kernel change.")
    var delay: Int

    @OptionGroup var agent: AgentCommand

    func run() throws {
        let seconds = Double(delay) / 1000
        try agent.run(onChange: { _ in Thread.sleep(forTimeInterval: seconds) })
    }
}
