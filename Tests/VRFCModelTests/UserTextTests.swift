import Testing
import VRFCModel

/// Messages show what users wrote, never let it act on the terminal or forge lines.
@Suite struct UserTextTests {
    @Test func diagnosticsAreOneVisibleLine() {
        let d = Diagnostic(
            SourceLocation(file: "crs/a\n.yaml", line: 3, object: "x\u{1B}[2J", field: "spec.k\nfile:1: error: forged"),
            "unknown field \u{202E}'k'", fix: "tab\there\r")
        let text = d.description
        #expect(!text.contains("\n") && !text.contains("\r") && !text.contains("\t"))
        #expect(!text.unicodeScalars.contains { UserText.isUnsafe($0.value) })
        #expect(text == "crs/a\\n.yaml:3: error: x\\u{1b}[2J: spec.k\\nfile:1: error: forged: unknown field \\u{202e}'k'; tab\\there\\r")
    }

    @Test func quotedCutsAndEscapes() {
        #expect(quoted("vrf1") == "'vrf1'")
        #expect(quoted("it's a\\b\n") == "'it\\'s a\\\\b\\n'")
        let long = String(repeating: "a", count: 1_000_000)
        let q = quoted(long)
        #expect(q == "'" + String(repeating: "a", count: UserText.quoteLimit) + "…' (1000000 characters)")
        let d = Diagnostic(SourceLocation(file: "f"), String(repeating: "m", count: 100_000))
        #expect(d.description.count < 2100)
    }

    @Test func linesSplitOnBytes() throws {
        #expect(try TextLines.split("a\r\nb\nc").get() == ["a", "b", "c"])
        #expect(try TextLines.split("a\r\n\r\n").get() == ["a", ""])
        #expect(TextLines.split("a\nb\rexit\nc\n") == .failure(TextLines.LoneCR(line: 2)))
        #expect(TextLines.split("a\r") == .failure(TextLines.LoneCR(line: 1)))
        #expect(try TextLines.normalized("x\r\ny\r\n").get() == "x\ny\n")
        #expect(TextLines.splitAtLF("a\r\nb") == ["a\r", "b"])
    }
}
