import Foundation
import Testing
import VRFCTestSupport

/// Hostile files and command lines end in a located error, never a crash,
/// a hang or a memory blow-up. `vrfc` runs as a subprocess with a memory
/// limit and a timeout, so a crash or a hang is a failed test, not a dead
/// test run.
@Suite struct HostileFilesTests {
    let vrfc = Repo.executable("vrfc")
    let fixture = Fixture(name: "mgmt-vrf")

    /// `vrfc ARGS` under a 4 GiB address-space limit, killed after 60 s.
    func bounded(_ args: [String], stdin: Data? = nil) throws -> CommandResult {
        try Shell.run(["/usr/bin/prlimit", "--as=4294967296", "--", vrfc] + args, stdin: stdin, timeout: 60)
    }

    func compile(_ inputs: [String], config: String? = nil, extra: [String] = []) throws -> CommandResult {
        try bounded(["compile", "--config", config ?? fixture.config, "--emit", "ir"] + extra + inputs)
    }

    /// Exit 1 with every message located (`FILE:LINE: error:`), one per line.
    func expectLocatedRefusal(_ r: CommandResult, _ fragments: String..., sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(r.status == 1 && !r.timedOut, "expected a refusal, got \(r)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for line in lines.dropLast() {
            #expect(line.wholeMatch(of: /[^:]+:\d+: error: .*/) != nil, "unlocated message: \(line)", sourceLocation: sourceLocation)
        }
        for f in fragments {
            #expect(r.stderr.contains(f), "stderr lacks \(f): \(r.stderr.prefix(2000))", sourceLocation: sourceLocation)
        }
    }

    static let header = "apiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\n"

    // MARK: 1. alias expansion

    /// Nine levels of nine aliases each: 9^10 nodes when expanded, from 600 bytes.
    static func aliasBomb(asKey: Bool = false) -> String {
        var s = header + "metadata: {name: bomb}\nspec: {vrf: vrf1, seq: 10}\nstatus:\n  a: &a [x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for level in 1...9 {
            s += "  b\(level): &b\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = "b\(level)"
        }
        if asKey { s += "  ? *b9\n  : 1\n  ? [*b9]\n  : 2\n" }
        return s
    }

    @Test func aliasBombsAreRefusedWithTheirLine() throws {
        let dir = try TempDir()
        let plain = try dir.write("bomb.yaml", Self.aliasBomb())
        expectLocatedRefusal(try compile([plain]), "bomb.yaml:7: error:", "aliases")
        // As mapping keys Yams would hash the whole expanded tree.
        let keys = try dir.write("keys.yaml", Self.aliasBomb(asKey: true))
        expectLocatedRefusal(try compile([keys]), "keys.yaml:7: error:", "aliases")
        // An alias in a later document to an anchor of an earlier one.
        let cross = try dir.write(
            "cross.yaml",
            Self.header + "metadata: {name: a}\nspec: &s {vrf: vrf1, seq: 10}\n---\n"
                + Self.header + "metadata: {name: b}\nspec: *s\n")
        expectLocatedRefusal(try compile([cross]), "cross.yaml:9: error:", "aliases")
    }

    // MARK: 2. nesting depth

    @Test func deepNestingIsRefusedWithItsLine() throws {
        let dir = try TempDir()
        let json = try dir.write("deep.json", String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000))
        expectLocatedRefusal(try compile([json]), "deep.json:1: error:", "nest deeper than")
        let block = try dir.write("deep.yaml", String(repeating: "- ", count: 60_000) + "x\n")
        expectLocatedRefusal(try compile([block]), "deep.yaml:1: error:", "nest deeper than")
        let lines = try dir.write(
            "lines.yaml", (0..<5000).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " 1\n")
        expectLocatedRefusal(try compile([lines]), "lines.yaml:101: error:", "nest deeper than")
        // The fast reader declines this file at once (a tag): libyaml's path must hold too.
        let fallback = try dir.write(
            "fallback.yaml", "x: !!str a\ny: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        expectLocatedRefusal(try compile([fallback]), "fallback.yaml:")
        // The node config goes through the same reader.
        expectLocatedRefusal(try compile([fixture.crs], config: json), "deep.json:1: error:", "nest deeper than")
    }

    @Test func deeplyNestedTemplateSectionsAreRefusedAtLoad() throws {
        let dir = try TempDir()
        try dir.write("t/bgp.mustache", String(repeating: "{{#vrfs}}", count: 100_000) + String(repeating: "{{/vrfs}}", count: 100_000))
        let r = try bounded([
            "compile", "--config", fixture.config, "--template", fixture.base, "--hostname", "node-a",
            "--router-id", "192.0.2.129", "--templates", dir.path + "/t", fixture.crs,
        ])
        expectLocatedRefusal(r, "bgp.mustache:1: error:", "nest deeper than")
    }

    @Test func templatesThatMultiplyAreStopped() throws {
        let dir = try TempDir()
        // Eight nested loops over the VRFs; a node with 100 VRFs would render 10^16 lines.
        var config = "serverASN: 64510\nvnimap:\n"
        for i in 1...100 { config += "  v\(i): \(i)\n" }
        var crs = ""
        for i in 1...100 { crs += "---\n" + Self.header + "metadata: {name: c\(i)}\nspec: {vrf: v\(i), seq: 10}\n" }
        let configPath = try dir.write("config.yaml", config)
        let crPath = try dir.write("crs.yaml", crs)
        try dir.write(
            "t/vrfs.mustache", String(repeating: "{{#vrfs}}\n", count: 8) + "x {{name}}\n" + String(repeating: "{{/vrfs}}\n", count: 8))
        let r = try bounded([
            "compile", "--config", configPath, "--template", fixture.base, "--hostname", "node-a",
            "--router-id", "192.0.2.129", "--templates", dir.path + "/t", crPath,
        ])
        expectLocatedRefusal(r, "vrfs.mustache:", "rendering takes more than")
    }

    // MARK: 3. what libyaml refuses is refused

    @Test func typedAndKindlessInputIsRefused() throws {
        let dir = try TempDir()
        let tagged = try dir.write("tagged.yaml", Self.header + "metadata: {name: t}\nspec:\n  vrf: vrf1\n  seq: !!str 10\n")
        expectLocatedRefusal(try compile([tagged]), "tagged.yaml:6: error:", "tags")
        let list = try dir.write(
            "list.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: network.schiff.telekom.de/v1alpha1\n  metadata: {name: k}\n  spec: {vrf: vrf1, seq: 10}\n"
        )
        expectLocatedRefusal(try compile([list]), "list.yaml:4: error:", "missing kind")
    }

    // MARK: 4. JSON surrogate pairs

    @Test func jsonSurrogatePairsReadAsTheirCharacter() throws {
        let dir = try TempDir()
        let pair = try dir.write(
            "pair.json",
            #"{"apiVersion": "network.schiff.telekom.de/v1alpha1", "kind": "VRFRouteConfiguration", "metadata": {"name": "p", "annotations": {"note": "\ud83d\ude80"}}, "spec": {"vrf": "vrf1", "seq": 10}}"#
        )
        let r = try compile([pair])
        #expect(r.status == 0, "\(r)")
        let lone = try dir.write(
            "lone.json",
            #"{"apiVersion": "network.schiff.telekom.de/v1alpha1", "kind": "VRFRouteConfiguration","#
                + "\n" + #""metadata": {"name": "p", "annotations": {"note": "\ud83d"}}, "spec": {"vrf": "vrf1", "seq": 10}}"#)
        expectLocatedRefusal(try compile([lone]), "lone.json:2: error:")
    }

    // MARK: 5. diagnostics cannot be forged

    @Test func messagesEscapeWhatUsersWrote() throws {
        let dir = try TempDir()
        let forged = try dir.write(
            "forged.yaml",
            Self.header + "metadata: {name: f}\nspec:\n  vrf: vrf1\n  seq: 10\n"
                + "  \"x\\nforged.yaml:1: error: all is fine\": 1\n  \"\\e[2J\\e[31mred\": 2\n  vrf2: \"\\u202Eevil\"\n")
        let r = try compile([forged])
        expectLocatedRefusal(r, "forged.yaml:7: error:", "\\n", "\\u{1b}")
        #expect(!r.stderr.contains("\nforged.yaml:1: error: all is fine"), "a forged line: \(r.stderr)")
        #expect(!r.stderr.utf8.contains(0x1B), "an escape sequence reached stderr")
        #expect(!r.stderr.contains("\u{202E}"), "a bidirectional override reached stderr")
        #expect(r.stderr.split(separator: "\n").count == 4, "three messages and the summary: \(r.stderr)")
    }

    @Test func longValuesAreCutInMessages() throws {
        let dir = try TempDir()
        let huge = String(repeating: "A", count: 20_000_000)
        let path = try dir.write("huge.yaml", Self.header + "metadata: {name: h}\nspec: {vrf: \(huge), seq: 10}\n")
        let r = try compile([path])
        expectLocatedRefusal(r, "huge.yaml:4: error:", "(20000000 characters)")
        #expect(r.stderr.utf8.count < 4000, "stderr is \(r.stderr.utf8.count) bytes")
    }

    @Test func controlCharacterErrorsHaveTheirLine() throws {
        let dir = try TempDir()
        let fast = try dir.write("nul.yaml", Self.header + "metadata: {name: n}\nspec: {vrf: \"vrf1\", seq: 10, community: a\u{0}b}\n")
        expectLocatedRefusal(try compile([fast]), "nul.yaml:4: error:", "control character")
        // A file the fast reader leaves to libyaml (an anchor on line 3).
        let slow = try dir.write("esc.yaml", Self.header + "metadata: &m {name: n}\nspec:\n  vrf: vrf1\n  seq: 10\n  community: a\u{1B}b\n")
        expectLocatedRefusal(try compile([slow]), "esc.yaml:7: error:")
    }

    // MARK: 6. line endings

    @Test func crlfBaseConfigsAndTemplatesReadLikeLF() throws {
        let dir = try TempDir()
        let base = try dir.write("frr.conf", readText(fixture.base)!.replacingOccurrences(of: "\n", with: "\r\n"))
        let shipped = Repo.path("templates/vrfs.mustache")
        try dir.write("t/vrfs.mustache", readText(shipped)!.replacingOccurrences(of: "\n", with: "\r\n"))
        let crlfCRs = try dir.write(
            "crs/all.yaml",
            (readText(fixture.crs + "/vrf1.yaml")! + "---\n" + readText(fixture.crs + "/mgmt.yaml")!)
                .replacingOccurrences(of: "\n", with: "\r\n"))
        let r = try bounded([
            "compile", "--config", fixture.config, "--template", base, "--hostname", "node-a", "--router-id", "192.0.2.129",
            "--templates", dir.path + "/t", crlfCRs,
        ])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == readText(fixture.golden("conf")), "CRLF inputs give the LF golden output")
    }

    @Test func aLoneCRIsRefusedWithItsLine() throws {
        let dir = try TempDir()
        // The CR would hide `exit` from the hint-placement check (and from a reader of the file).
        let text = readText(fixture.base)!.replacingOccurrences(
            of: "  advertise-all-vni\n exit-address-family\nexit\n",
            with: "  advertise-all-vni\n exit-address-family\r exit\n")
        #expect(text != readText(fixture.base)!)
        let base = try dir.write("frr.conf", text)
        let r = try bounded([
            "compile", "--config", fixture.config, "--template", base, "--hostname", "node-a", "--router-id", "192.0.2.129", fixture.crs,
        ])
        expectLocatedRefusal(r, "frr.conf:", "carriage return")
        try dir.write("t/bgp.mustache", "router bgp {{asn}}\r exit\n")
        let t = try bounded([
            "compile", "--config", fixture.config, "--template", fixture.base, "--hostname", "node-a", "--router-id", "192.0.2.129",
            "--templates", dir.path + "/t", fixture.crs,
        ])
        expectLocatedRefusal(t, "bgp.mustache:1: error:", "carriage return")
    }

    // MARK: 7. directory walks terminate

    @Test func symlinkLoopsAndFanOutEndInAMessage() throws {
        let dir = try TempDir()
        try dir.write("crs/a.yaml", readText(fixture.crs + "/vrf1.yaml")!)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/crs/loop1", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/crs/loop2", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/crs/up", withDestinationPath: "..")
        let r = try compile([dir.path + "/crs"])
        #expect(r.status == 1 && !r.timedOut, "\(r)")
        for link in ["crs/loop1", "crs/loop2", "crs/up/crs"] {
            #expect(r.stderr.contains("\(dir.path)/\(link): error: is the directory"), "\(link): \(r.stderr)")
        }
        // A FIFO would block the read forever.
        let fifoDir = try TempDir()
        try fifoDir.write("a.yaml", readText(fixture.crs + "/vrf1.yaml")!)
        #expect(mkfifo(fifoDir.path + "/b.yaml", 0o600) == 0)
        let f = try compile([fifoDir.path])
        #expect(f.status == 1 && !f.timedOut && f.stderr.contains("b.yaml: error: is not a regular file"), "\(f)")
    }

    @Test func endlessOrBlockingBaseConfigsAndTemplatesAreRefused() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/t", withIntermediateDirectories: true)
        #expect(mkfifo(dir.path + "/t/bgp.mustache", 0o600) == 0)
        let fifo = try bounded([
            "compile", "--config", fixture.config, "--template", fixture.base, "--hostname", "node-a", "--router-id", "192.0.2.129",
            "--templates", dir.path + "/t", fixture.crs,
        ])
        #expect(fifo.status == 1 && !fifo.timedOut && fifo.stderr.contains("bgp.mustache: error: not a regular file"), "\(fifo)")
        let zero = try bounded([
            "compile", "--config", fixture.config, "--template", "/dev/zero", "--hostname", "node-a", "--router-id", "192.0.2.129",
            fixture.crs,
        ])
        #expect(zero.status == 1 && !zero.timedOut && zero.stderr.contains("larger than 256 MiB"), "\(zero)")
    }

    // MARK: 8. -o never destroys an input and keeps the file's mode and owner

    @Test func outputThatIsAnInputIsRefused() throws {
        let dir = try TempDir()
        let config = try dir.write("config.yaml", readText(fixture.config)!)
        let base = try dir.write("frr.conf", readText(fixture.base)!)
        let cr = try dir.write("crs/vrf1.yaml", readText(fixture.crs + "/vrf1.yaml")!)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link.conf", withDestinationPath: base)
        #expect(link(config, dir.path + "/hard.yaml") == 0)
        let args = ["compile", "--config", config, "--template", base, "--hostname", "node-a", "--router-id", "192.0.2.129"]
        for out in [config, base, cr, dir.path + "/link.conf", dir.path + "/hard.yaml"] {
            let before = readText(out)
            let r = try bounded(args + ["-o", out, dir.path + "/crs"])
            #expect(r.status == 2 && r.stderr.contains("choose another output path"), "-o \(out): \(r)")
            #expect(readText(out) == before, "-o \(out) changed an input")
        }
    }
}
