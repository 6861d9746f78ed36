import Foundation
import Testing
import VRFCTestSupport

@testable import VRFCYAML

/// The fast YAML reader must read every document exactly as libyaml (via
/// Yams) does, or decline and let Yams read it.
@Suite struct YAMLReaderTests {
    /// JSON writes characters beyond U+FFFF as escaped UTF-16 surrogate
    /// pairs, which libyaml refuses; the fast reader reads them as the
    /// character. When libyaml refuses such a text, the reference is the
    /// same text with each pair written as the `\U` escape libyaml knows.
    static func withPairsAsUEscapes(_ text: String) -> String {
        var out = text
        let pair = /\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})/
        while let m = out.firstMatch(of: pair) {
            let high = UInt32(m.1, radix: 16)!
            let low = UInt32(m.2, radix: 16)!
            let v = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            out.replaceSubrange(m.range, with: "\\U" + String(repeating: "0", count: 8 - String(v, radix: 16).count) + String(v, radix: 16))
        }
        return out
    }

    static func agree(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let fast = FastYAMLParser.parse(text)
        var reference = Libyaml.parse(text)
        if case .success = fast, case .failure = reference, withPairsAsUEscapes(text) != text {
            reference = Libyaml.parse(withPairsAsUEscapes(text))
        }
        switch (fast, reference) {
        case (.success(let f), .success(let r)):
            let nonNull = { (docs: [YNode]) in
                docs.filter {
                    if case .scalar(let s) = $0 { return !s.isNull }
                    return true
                }
            }
            let (fd, rd) = (nonNull(f), nonNull(r))
            #expect(
                fd.count == rd.count && zip(fd, rd).allSatisfy { YAMLDifferential.same($0, $1) },
                "fast and libyaml differ on:\n\(text)\nfast: \(fd)\nlibyaml: \(rd)", sourceLocation: sourceLocation)
        case (.failure(.unsupported), _):
            break  // declined: Yams reads it, which is always right
        case (.failure(.invalid(let e)), .failure):
            _ = e  // both refuse
        case (.success, .failure(let e)):
            Issue.record(
                "fast reader accepted what libyaml refuses (\(e.message)):\n\(text.debugDescription)", sourceLocation: sourceLocation)
        case (.failure(.invalid(let e)), .success):
            Issue.record("fast reader refused (\(e.message)) what libyaml reads:\n\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func fixturesAgree() throws {
        for fixture in Fixture.all {
            for file in try FileManager.default.subpathsOfDirectory(atPath: fixture.dir)
            where file.hasSuffix(".yaml") || file.hasSuffix(".json") {
                Self.agree(try #require(readText(fixture.dir + "/" + file)))
            }
        }
    }

    @Test func fixturesNeedNoFallback() throws {
        for fixture in Fixture.all {
            for file in try FileManager.default.subpathsOfDirectory(atPath: fixture.dir)
            where file.hasSuffix(".yaml") || file.hasSuffix(".json") {
                if case .failure(let f) = FastYAMLParser.parse(try #require(readText(fixture.dir + "/" + file))) {
                    Issue.record("\(fixture.name)/\(file): the fast reader declined: \(f)")
                }
            }
        }
    }

    @Test func randomNodesAgreeInEveryFormat() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let node = RandomNode.generate(&rng)
            Self.agree(node.configYAML())
            Self.agree(node.crsText())
        }
    }

    @Test func trickyDocumentsAgree() {
        let cases = [
            "a: 1\nb:\n  - x\n  - y\nc:\n- z\n",
            "- a: 1\n  b: 2\n- - x\n  - y\n-\n  c: 3\n",
            "k: 'it''s'\nd: \"tab\\there \\u00e9 \\\"q\\\"\"\ne: plain # comment\nf: a#b\n",
            "--- \n# only a comment\n---\na: 1\n...\n---\nb: 2\n",
            "x: |\n  line1\n  line2\n\ny: >-\n  folded\n  text\n\n  para\nz: |+\n  keep\n\n\nw: 1\n",
            "j: {\"a\": [1, 2, {\"b\": null}], c: d}\n",
            "{\n\t\"a\": \"b\",\n\t\"c\": [\n\t\t1\n\t]\n}\n",
            "a:\nb: ~\nc: null\nd: ''\n",
            "url: http://example.com:8080/x\ncolon: a:b\n",
            "key with spaces: v\n\"quoted key\": v2\n",
            "a: 1\r\nb: 2\r\n",
            "\u{FEFF}a: 1\n",
            "a:   \n  b: 1\n",
            "seq: [a, 'b', \"c\"]\nmap: {x: 1, y: [2]}\n",
            "a: &anchor 1\nb: *anchor\n",
            "a: !!str 1\n",
            "? complex\n: key\n",
            "a: multi\n  line\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: [1, 2\n",
            "a: 1\na: 2\n",
            "a:\n\t- b\n",
            "a: \"unterminated\n",
            "- a\nb: 1\n",
            "a: b: c\n",
        ]
        for c in cases { Self.agree(c) }
        // The everyday forms must take the fast path, or the agreement above
        // would say little about it.
        for c in cases.prefix(14) {
            if case .failure(let f) = FastYAMLParser.parse(c) { Issue.record("declined \(c.debugDescription): \(f)") }
        }
    }

    /// Damaged documents: whatever the fast reader accepts, libyaml must
    /// read the same way. Besides single bytes, the damage inserts the
    /// shapes the fast reader must not get wrong: control characters and
    /// other line breaks, escapes, document markers, tags, anchors and
    /// aliases, and nesting.
    @Test func mutatedDocumentsAgree() {
        var rng = SplitMix64(seed: 7)
        let alphabet = Array(" \n-:#'\"{}[],|>&*!?%@`\tab1".utf8)
        for round in 0..<6000 {
            let node = RandomNode.generate(&rng)
            var bytes = Array((round % 2 == 0 ? node.configYAML() : node.crsText()).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                case 2: bytes[at] = alphabet.randomElement(using: &rng)!
                default: bytes.insert(contentsOf: Self.shapes.randomElement(using: &rng)!.utf8, at: at)
                }
            }
            Self.agree(String(decoding: bytes, as: UTF8.self))
        }
    }

    static let shapes: [String] = [
        // control characters and line breaks libyaml reads its own way
        "\u{0}", "\u{1}", "\u{8}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{A0}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFE}", "\r",
        "\r\n", "\t",
        // escapes
        "\"\\u+061\"", "\"\\x4\"", "\"\\x41\"", "\"\\ud83d\\ude80\"", "\"\\ud83d\"", "\"\\ude80\"", "\"\\U0001F680\"", "\"\\q\"", "\\u0041",
        "\"\\uD83D\\uDE80x\"", "\"\\ud83d\\u0041\"", "\"\\\"\"",
        // document markers and directives
        "\n---\n", "\n...\n", "\n--- ", "\n... ", "\n---", "\n...", "\n%YAML 1.1\n",
        // tags, anchors, aliases
        "!!str ", "!!int ", "! ", "!x ", "!<tag:x> ", "&a ", "*a", "&a [x]", "*a ", "? ",
        // nesting
        "[[[[", "]]]]", "{a: {b: ", "}}", "- - - ", "\n  - - ", "[{[{", "\n        deep: ",
    ]

    /// What libyaml refuses, the fast reader refuses too (or leaves to libyaml).
    @Test func whatLibyamlRefusesIsNotAccepted() {
        for text in [
            "a: x\u{0}y\n", "a: x\u{1}y\n", "a: x\u{7F}y\n", "a: x\u{9B}[2Jy\n", "a: 'q\u{1B}'\n", "# c\u{1}\na: 1\n", "a: x\u{FFFE}\n",
            "a: \"\\u+061\"\n", "a: \"\\x+4\"\n",
            "a: [b,\n---\n]\n", "a: [x,\n...\n]\n", "a: {b: 1,\n--- \n}\n",
            "a: 1\n...\nb: 2\n", "...\na: 1\n", "a: 1\n...\n...\nb: 2\n",
            "a: x\u{85}y\n", "a: x\u{2028}y\n", "a: [x\ry]\n", "a: 1\rb: 2\n",
            "--- |\nfoo\n--- \nbar\n", "--- >\nfoo\n...\n",
            "a: \"\\ud83d\"\n", "a: \"\\ude80\"\n", "a: \"\\ud83d\\u0041\"\n",
            // simple keys reach their ':' within 1024 characters
            "{a: 1, \"" + String(repeating: "k", count: 1100) + "\": 2}\n", "\"" + String(repeating: "k", count: 1100) + "\": 1\n",
            "{" + String(repeating: "k", count: 1100) + ": 2}\n",
            "---\n\"\\ufeffx\"\n",
        ] {
            Self.agree(text)
        }
    }

    @Test func jsonSurrogatePairsAreTheirCharacter() throws {
        let docs = try FastYAMLParser.parse(#"{"a": "\ud83d\ude80 \uD83D\uDE80!"}"#).get()
        guard case .mapping(let m) = docs.first else {
            Issue.record("not a mapping: \(docs)")
            return
        }
        #expect(m.pairs.first?.value == .scalar(YScalar("\u{1F680} \u{1F680}!", .doubleQuoted, line: 1)))
        guard case .failure(.invalid(let e)) = FastYAMLParser.parse("a: 1\nb: \"\\ud83d\"\n") else {
            Issue.record("a lone surrogate was not refused")
            return
        }
        #expect(e.line == 2)
    }

    @Test func duplicateKeysAreRefusedByBoth() {
        guard case .failure(.invalid(let e)) = FastYAMLParser.parse("a: 1\nb: 2\na: 3\n") else {
            Issue.record("duplicate key accepted")
            return
        }
        #expect(e.line == 3 && e.message.contains("duplicate key 'a'"))
    }

    @Test func featuresOutsideTheSubsetAreDeclined() {
        for text in ["a: &x 1\nb: *x\n", "a: !!int 1\n", "? a\n: b\n", "a: multi\n  line\n", "%YAML 1.1\n---\na: 1\n"] {
            guard case .failure(.unsupported) = FastYAMLParser.parse(text) else {
                Issue.record("not declined: \(text)")
                continue
            }
        }
    }
}
