import Testing
import VRFCModel

@testable import VRFCYAML

/// The libyaml path (Yams) keeps vrfc's limits too: it is where the fast
/// reader sends everything it does not read itself, hostile input included.
@Suite struct LibyamlPathTests {
    func refusal(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> YAMLError? {
        switch Libyaml.parse(text) {
        case .success(let docs):
            Issue.record("accepted: \(docs)", sourceLocation: sourceLocation)
            return nil
        case .failure(let e):
            return e
        }
    }

    @Test func aliasesAreRefusedAtTheirLine() {
        #expect(refusal("a: &x 1\nb: *x\n")?.line == 2)
        #expect(refusal("a: &x [1]\n? *x\n: 2\n")?.line == 2)
        #expect(refusal("a: [&x 1, *x]\n")?.message.contains("aliases") == true)
        #expect(refusal("--- &x a\n--- *x\n")?.line == 2, "an anchor of an earlier document")
    }

    @Test func starsThatAreNoAliasesAreRead() throws {
        #expect((try? Libyaml.parse("\u{FEFF}'*A'\n").get()) == [.scalar(YScalar("*A", .singleQuoted, line: 1))])
        let docs = try Libyaml.parse("a: '*x'\nb: &y c\nc: \"*\"\nd: a*b\ne: |\n  *bold*\n# *c\n").get()
        guard case .mapping(let m) = docs.first else {
            Issue.record("\(docs)")
            return
        }
        #expect(
            m.pairs.map { $0.value } == [
                .scalar(YScalar("*x", .singleQuoted, line: 1)), .scalar(YScalar("c", .plain, line: 2)),
                .scalar(YScalar("*", .doubleQuoted, line: 3)), .scalar(YScalar("a*b", .plain, line: 4)),
                .scalar(YScalar("*bold*\n", .literal, line: 5)),
            ])
    }

    @Test func tagsAreRefused() {
        let e = refusal("a: 1\nb: !!str 10\n")
        #expect(e?.line == 2 && e?.message.contains("tags") == true, "\(String(describing: e))")
        #expect(refusal("a: !!map {b: 1}\n")?.line == 1)
        #expect(refusal("a: ! 10\n") != nil)
        #expect(refusal("a: !!int \"10\"\n") != nil)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(refusal("a: &x 1\nb: " + deep + "\n")?.message.contains("nest deeper than 100") == true)
        // The mapping is the first level.
        let ok = String(repeating: "[", count: 99) + String(repeating: "]", count: 99)
        #expect((try? Libyaml.parse("a: &x 1\nb: " + ok + "\n").get()) != nil)
        guard case .failure(.invalid(let e)) = FastYAMLParser.parse("a:\n  b: " + deep + "\n") else {
            Issue.record("the fast reader did not refuse 101 levels")
            return
        }
        #expect(e.line == 2)
        #expect((try? FastYAMLParser.parse("a: " + ok + "\n").get()) != nil)
    }

    @Test func readerErrorsHaveTheirLine() {
        // The anchor makes the fast reader decline; libyaml's reader finds the ESC.
        let e = refusal("a: &x 1\nb: c\nd: e\u{1B}f\n")
        #expect(e?.line == 3, "\(String(describing: e))")
    }
}
