import Testing
import VRFCModel

/// The splitter that cuts a JSON text into its objects and lists without
/// reading them: strings skipped whole, brackets counted, anything else
/// between the values refused with its place; deep nesting costs no stack.
@Suite struct JSONSplitterTests {
    func split(_ text: String, commas: Bool) -> Result<[String], JSONSplitter.Failure> {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { b in
            Result { () throws(JSONSplitter.Failure) in
                try JSONSplitter.values(in: b, commas: commas).map { String(decoding: bytes[$0], as: UTF8.self) }
            }
        }
    }

    @Test func theSplitterCutsValuesApart() throws {
        #expect(try split(#" {"a":"}]\"{"} [1,[2]]"#, commas: false).get() == [#"{"a":"}]\"{"}"#, "[1,[2]]"])
        #expect(try split("{}{}\n", commas: false).get() == ["{}", "{}"])
        #expect(try split(#"{"a":1}, {"b":[1,2]}"#, commas: true).get() == [#"{"a":1}"#, #"{"b":[1,2]}"#])
        #expect(try split("  ", commas: true).get() == [])
        let bad: [(String, Bool, JSONSplitter.Failure)] = [
            ("{} {}", true, .unexpected(at: 3)),
            ("{},{}", false, .unexpected(at: 2)),
            ("1,2", true, .unexpected(at: 0)),
            (#""s" {}"#, false, .unexpected(at: 0)),
            ("{},", true, .unterminated),
            ("{},,{}", true, .unexpected(at: 3)),
            ("}", false, .unbalanced(at: 0)),
            ("{}]", false, .unbalanced(at: 2)),
            (#"{"a":"x"#, false, .unterminated),
            (#"{"a":"x\"#, false, .unterminated),
            ("{[}", false, .unterminated),
        ]
        for (text, commas, failure) in bad {
            #expect(split(text, commas: commas) == .failure(failure), "\(text)")
        }
    }

    @Test func deepNestingIsWalkedWithoutRecursion() throws {
        let n = 1_000_000
        let deep = String(repeating: "[", count: n) + String(repeating: "]", count: n)
        #expect(try split(deep + " {}", commas: false).get().map(\.utf8.count) == [2 * n, 2])
        #expect(split(String(repeating: "{", count: n), commas: false) == .failure(.unterminated))
    }
}
