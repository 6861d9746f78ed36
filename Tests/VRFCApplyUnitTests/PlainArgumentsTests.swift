import ArgumentParser
import Testing

@testable import vrfc_apply

/// `plan` and `apply` read plain command lines without swift-argument-parser
/// (PlainArguments); these tests hold that reader to swift-argument-parser's
/// result, and check that everything else is left to it.
@Suite struct PlainArgumentsTests {
    /// What swift-argument-parser makes of the words: the same values the plain reader makes.
    static func reference(_ words: [String]) throws -> PlainRun? {
        let command = try VRFCApplyCommand.parseAsRoot(words)
        if let apply = command as? Apply { return .apply(apply.values) }
        if let plan = command as? Plan { return .plan(plan.values) }
        return nil
    }

    /// Command lines the plain reader takes: each gives what swift-argument-parser gives.
    static let plain: [[String]] = [
        ["apply", "--ops", "ops.json"],
        ["plan", "--ops", "ops.json"],
        ["plan", "--json", "--ops", "o.json", "--netns", "ns1"],
        ["apply", "--netns", "vrfca-bench-rv-1", "--bpf-pin-dir", "/sys/fs/bpf/x", "--ops", "/tmp/ops.json"],
        ["apply", "--config", "/etc/vrfc/node.yaml", "crs", "more.yaml", "--adopt", "--force"],
        ["apply", "a.yaml", "--config", "c.yaml", "b.yaml", "--json"],
        [
            "apply", "--bundle", "b.json", "--bpf-interface", "eth0", "--bpf-interface", "eth1", "--run-dir", "/run/x",
            "--table-names-file", "none", "--underlay", "lo", "--table-range", "1000-1999", "--compile-user", "vrfc",
            "--router-id", "192.0.2.1", "--hostname", "n1", "--templates", "t", "--frr-config", "/etc/frr/frr.conf",
            "--template", "base.conf", "--reload", "delta", "--state-dir", "/var/lib/x", "--frr-pathspace", "second",
        ],
        ["apply", "--ops", "o.json", "--frr-config", "f.conf", "--reload", "none"],
        ["plan", "--ops", "o.json", "--adopt", "--bpf-interface", "eth0", "--table-range", "50-79"],
    ]

    @Test(arguments: plain)
    func plainCommandLinesReadAsSwiftArgumentParserReadsThem(_ words: [String]) throws {
        let plain = try #require(VRFCApplyCommand.plainRun(words[...]), "the plain reader refused \(words)")
        #expect(plain == (try Self.reference(words)))
    }

    /// Command lines left to swift-argument-parser: help, other spellings,
    /// unknown or repeated names, other subcommands, and what the commands'
    /// checks refuse (swift-argument-parser then words the error).
    static let others: [[String]] = [
        [], ["apply"], ["plan", "--help"], ["apply", "-h"], ["help", "apply"], ["apply", "help"],
        ["apply", "--ops=o.json"], ["apply", "--ops", "-"], ["apply", "--ops", "o.json", "--", "x"],
        ["apply", "--ops", "a", "--ops", "b"], ["apply", "--json", "--json", "--ops", "o"], ["apply", "--ops"],
        ["apply", "--ops", "o", "--bogus"], ["plan", "--ops", "o", "--frr-config", "f"],
        ["apply", "--ops", "o", "--reload", "sometimes"], ["apply", "--ops", "o", "--template", "t"],
        ["apply", "--ops", "o", "--table-range", "9-1"], ["apply", "--ops", "o", "--underlay", "a/b"],
        ["apply", "--ops", "o", "--bpf-interface", "this-name-is-too-long"], ["apply", "--ops", "o", "in.yaml"],
        ["agent", "--ops", "o"], ["bpf", "stats"], ["--generate-completion-script", "bash"], ["apply", "--version"],
    ]

    @Test(arguments: others)
    func everythingElseIsLeftToSwiftArgumentParser(_ words: [String]) {
        #expect(VRFCApplyCommand.plainRun(words[...]) == nil)
    }

    /// The plain reader knows every option of `plan` and `apply`: each one
    /// swift-argument-parser's help lists is read (given once with a value
    /// its checks accept) the way swift-argument-parser reads it.
    @Test(arguments: ["plan", "apply"])
    func everyOptionIsKnown(_ subcommand: String) throws {
        let help = VRFCApplyCommand.helpMessage(for: subcommand == "plan" ? Plan.self : Apply.self, columns: 10_000)
        // The OPTIONS lines (one per option at this width) start with the option's name.
        let names = Set(
            help.split(separator: "\n").map { $0.drop(while: { $0 == " " }) }.filter { $0.hasPrefix("--") }
                .map { String($0.prefix(while: { $0 != " " && $0 != "<" })) })
        // 16 node options and --json; apply's 5 of FRR besides.
        #expect(
            names.isSuperset(of: ["--ops", "--json", "--netns"]) && names.count == (subcommand == "plan" ? 17 : 22), "\(names.sorted())")
        let value: [String: String] = [
            "--reload": "systemd", "--table-range": "10-20", "--underlay": "eth9", "--bpf-interface": "eth8",
        ]
        let flags: Set = ["--json", "--force", "--adopt"]
        for name in names.subtracting(["--help", "--ops", "--version"]).sorted() {
            // --bundle is the op list's other source.
            var words = [subcommand] + (name == "--bundle" ? [] : ["--ops", "o.json"]) + [name]
            if !flags.contains(name) { words.append(value[name] ?? "v-\(name.dropFirst(2))") }
            // --template and --reload go with --frr-config.
            if subcommand == "apply" && name != "--frr-config" && (name == "--template" || name == "--reload" || name == "--frr-pathspace")
            {
                words += ["--frr-config", "f.conf"]
            }
            let plain = VRFCApplyCommand.plainRun(words[...])
            #expect(plain != nil, "\(words) is not read by the plain reader")
            if let plain { #expect(plain == (try Self.reference(words)), "\(words)") }
        }
    }
}
