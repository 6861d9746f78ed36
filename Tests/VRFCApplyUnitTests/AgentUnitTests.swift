import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCTestSupport

@testable import VRFCAgent

/// The agent's pure parts: its log lines and what it watches.
@Suite struct AgentUnitTests {
    static let hostile = [
        "plain", "", "two words", "new\nline level=critical msg=forged", "quote \" and \\ backslash",
        "key=value", "tab\there", "\r\n", "\u{1b}[31mred", "\u{2028}line separator", "ünïcödé ✓", "{\"json\":1}",
    ]

    /// A logfmt reader: bare values end at a space, quoted ones are JSON strings.
    static func readLogfmt(_ line: String) throws -> [String: String] {
        var out: [String: String] = [:]
        var s = Substring(line)
        while !s.isEmpty {
            let eq = try #require(s.firstIndex(of: "="), "no '=' in \(s)")
            let key = String(s[..<eq])
            s = s[s.index(after: eq)...]
            if s.first == "\"" {
                var i = s.index(after: s.startIndex)
                while s[i] != "\"" { i = s.index(after: s[i] == "\\" ? s.index(after: i) : i) }
                let literal = String(s[...i])
                out[key] = try JSONDecoder().decode(String.self, from: Data(literal.utf8))
                s = s[s.index(after: i)...]
            } else {
                let end = s.firstIndex(of: " ") ?? s.endIndex
                out[key] = String(s[..<end])
                s = s[end...]
            }
            s = s.drop { $0 == " " }
        }
        return out
    }

    @Test(arguments: hostile)
    func aLogLineCannotBeForgedByWhatItCarries(_ value: String) throws {
        let fields = [("ts", "t"), ("level", "info"), ("msg", value), ("error", value)]
        for line in [LineLogHandler.logfmt(fields), LineLogHandler.json(fields)] {
            #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1b}") && !line.contains("\u{2028}"), "\(line)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(LineLogHandler.json(fields).utf8)) as? [String: String])
        #expect(json == ["ts": "t", "level": "info", "msg": value, "error": value])
        #expect(try Self.readLogfmt(LineLogHandler.logfmt(fields)) == ["ts": "t", "level": "info", "msg": value, "error": value])
    }

    @Test func aConfigMapMountIsWatchedThroughItsSymlinks() throws {
        let dir = try TempDir()
        var cm = try ConfigMapDir(dir.path + "/node", ["config.yaml": "a: 1\n"])
        let crs = try ConfigMapDir(dir.path + "/crs", ["a.yaml": "x\n", "b.yaml": "y\n"])
        try FileManager.default.createDirectory(atPath: dir.path + "/plain/sub/deeper", withIntermediateDirectories: true)
        let real = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().path }

        let set = WatchSet(paths: [cm.path + "/config.yaml", crs.path, dir.path + "/plain", dir.path + "/missing/later/x.yaml"])
        let d = set.directories
        // A key of a mount: its directory for the ..data swap, and the file it resolves to now.
        #expect(d[cm.path] == .names(["config.yaml"]))
        #expect(d[real(cm.path + "/..data")] == .names(["config.yaml"]))
        // A directory mount: all of it, through ..data into the timestamped directory.
        #expect(d[crs.path] == .all)
        #expect(d[real(crs.path + "/..data")] == .all)
        // A plain tree: every directory.
        for sub in ["/plain", "/plain/sub", "/plain/sub/deeper"] { #expect(d[dir.path + sub] == .all, "\(sub)") }
        // The parents of the directory inputs (replaced as a whole), and for a
        // path that does not exist yet its nearest existing ancestor, for the next name.
        #expect(d[dir.path] == .names(["crs", "plain", "missing"]))

        let names = WatchSet.Filter.names(["config.yaml"])
        #expect(names.matches("config.yaml") && names.matches("..data") && names.matches("..data_tmp") && names.matches("..2026_11_30"))
        #expect(!names.matches("other.yaml") && !names.matches("config.yaml.tmp-1"))

        // After the swap the watch follows ..data to the new directory.
        let before = real(cm.path + "/..data")
        try cm.update(["config.yaml": "a: 2\n"])
        let after = WatchSet(paths: [cm.path + "/config.yaml"]).directories
        #expect(real(cm.path + "/..data") != before)
        #expect(after[real(cm.path + "/..data")] == .names(["config.yaml"]))
        #expect(after[before] == nil)
    }
}
