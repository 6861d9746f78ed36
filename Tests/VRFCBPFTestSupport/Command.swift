import Foundation
import VRFCTestSupport

/// A command that failed, with what it printed.
public struct CommandFailed: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let output: String
    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(output)"
    }
}

/// The shared test helpers' error, under the name these tests use.
public typealias SetupError = VRFCTestSupport.SetupError

public enum Command {
    /// Runs `args` and returns stdout; a non-zero exit throws with stderr.
    @discardableResult
    public static func run(_ args: [String], environment: [String: String]? = nil) throws -> String {
        let r = try Shell.run(args, environment: environment)
        guard r.status == 0 else { throw CommandFailed(command: args, status: r.status, output: r.stderr + r.stdout) }
        return r.stdout
    }

    public static func which(_ name: String) throws -> String {
        name.contains("/") ? name : try Shell.which(name)
    }
}

/// The checkout the tests run in (for bpf/build.sh).
public enum Checkout {
    public static var root: String { Repo.root.path }
}
