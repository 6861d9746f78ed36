import Foundation
import Testing
@testable import VRFCFrontend
import VRFCTestSupport

/// The fast YAML reader must read every document exactly as libyaml (via
/// Yams) does, or decline and let Yams read it.
@Suite struct YAMLReaderTests {
    /// Equal trees; the line of an empty (null) value is where each parser
    /// happens to look, so it is not compared.
    static func same(_ a: YNode, _ b: YNode) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)):
            return x.text == y.text && x.style == y.style && (x.isNull || x.line == y.line)
        case (.mapping(let x), .mapping(let y)):
            return x.line == y.line && x.pairs.count == y.pairs.count
                && zip(x.pairs, y.pairs).allSatisfy { $0.key.text == $1.key.text && $0.key.style == $1.key.style && same($0.value, $1.value) }
        case (.sequence(let x), .sequence(let y)):
            return x.line == y.line && x.items.count == y.items.count && zip(x.items, y.items).allSatisfy { same($0, $1) }
        default:
            return false
        }
    }

    static func agree(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let fast = FastYAMLParser.parse(text)
        let reference = YAMLDocuments.parseWithYams(text)
        switch (fast, reference) {
        case (.success(let f), .success(let r)):
            let nonNull = { (docs: [YNode]) in docs.filter { if case .scalar(let s) = $0 { return !s.isNull }; return true } }
            let (fd, rd) = (nonNull(f), nonNull(r))
            #expect(fd.count == rd.count && zip(fd, rd).allSatisfy { same($0, $1) },
                    "fast and libyaml differ on:\n\(text)\nfast: \(fd)\nlibyaml: \(rd)", sourceLocation: sourceLocation)
        case (.failure(.unsupported), _):
            break  // declined: Yams reads it, which is always right
        case (.failure(.invalid(let e)), .failure):
            _ = e  // both refuse
        case (.success, .failure(let e)):
            Issue.record("fast reader accepted what libyaml refuses (\(e.message)):\n\(text)", sourceLocation: sourceLocation)
        case (.failure(.invalid(let e)), .success):
            Issue.record("fast reader refused (\(e.message)) what libyaml reads:\n\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func fixturesAgree() throws {
        for fixture in Fixture.all {
            for file in try FileManager.default.subpathsOfDirectory(atPath: fixture.dir) where file.hasSuffix(".yaml") || file.hasSuffix(".json") {
                Self.agree(try #require(readText(fixture.dir + "/" + file)))
            }
        }
    }

    @Test func fixturesNeedNoFallback() throws {
        for fixture in Fixture.all {
            for file in try FileManager.default.subpathsOfDirectory(atPath: fixture.dir) where file.hasSuffix(".yaml") || file.hasSuffix(".json") {
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
    /// read the same way.
    @Test func mutatedDocumentsAgree() {
        var rng = SplitMix64(seed: 7)
        let alphabet = Array(" \n-:#'\"{}[],|>&*!?%@`\tab1".utf8)
        for round in 0..<3000 {
            let node = RandomNode.generate(&rng)
            var bytes = Array((round % 2 == 0 ? node.configYAML() : node.crsText()).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                default: bytes[at] = alphabet.randomElement(using: &rng)!
                }
            }
            Self.agree(String(decoding: bytes, as: UTF8.self))
        }
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
