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
            var command = try parseAsRoot()
            try command.run()
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(UsageExit.code)
        }
    }
}
