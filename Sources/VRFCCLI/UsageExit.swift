import ArgumentParser
import Foundation

/// vrfc's executables share one exit-code contract: an `ExitCode` a command
/// throws keeps its code, `--help`/`--version` exit 0, and every other
/// parsing or validation error is a usage error, exit 2 (ArgumentParser's
/// own default, 64, is not what scripts here expect).
public enum UsageExit {
    public static let code: Int32 = 2
}

extension ParsableCommand {
    public static func runWithUsageExit() -> Never {
        do {
            let command = try parseAsRoot()
            run(command)
        } catch {
            leave(after: error)
        }
    }

    /// Runs a command read by `parseAsRoot`, with the same exit-code contract.
    public static func run(_ parsed: any ParsableCommand) -> Never {
        var command = parsed
        run(plain: { try command.run() })
    }

    /// Runs a command's work, read without swift-argument-parser, with the same contract.
    public static func run(plain body: () throws -> Void) -> Never {
        do {
            try body()
            Foundation.exit(0)
        } catch {
            leave(after: error)
        }
    }

    private static func leave(after error: any Error) -> Never {
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        if exitCode(for: error) == .success { exit(withError: error) }
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(UsageExit.code)
    }
}
