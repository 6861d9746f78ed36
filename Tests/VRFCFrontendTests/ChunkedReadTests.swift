import Testing
import VRFCModel

@testable import VRFCFrontend
@testable import VRFCYAML

/// Large files are read in parallel pieces; the result must be exactly what
/// reading them in one go gives, messages and line numbers included.
@Suite struct ChunkedReadTests {
    static func bigFile(objects: Int, badAt: Set<Int> = [], extra: String = "") -> String {
        var s = ""
        for i in 0..<objects {
            let cidr = badAt.contains(i) ? "10.0.0.1/8" : "203.0.113.\(i % 64 * 4)/30"
            s += """
                ---
                apiVersion: network.schiff.telekom.de/v1alpha1
                kind: VRFRouteConfiguration
                metadata:
                  name: cr-\(i)
                spec:
                  vrf: vrf\(i % 7)
                  seq: \(i + 1)
                  import:
                \(String(repeating: "  - {cidr: \(cidr), action: permit, le: 32}\n", count: 1))\
                  export:
                  - {cidr: "2001:db8:\(String(i + 1, radix: 16))::/48", action: permit}

                """
        }
        return s + extra
    }

    static func sequential(_ text: String) -> ([RouteConfiguration], [String]) {
        // In one piece: the reference the parallel pieces must match.
        let (docs, _) = YAMLReader.read(text, pieces: 1) { doc -> ([RouteConfiguration], [Diagnostic]) in
            let sink = DiagnosticSink()
            var objects = InputObjects()
            InputObjects.readDocument(Field(node: doc, context: .init(file: "f.yaml", object: nil, sink: sink)), into: &objects)
            return (objects.routeConfigurations, sink.items)
        }
        return (docs.flatMap(\.0), docs.flatMap(\.1).map(\.description))
    }

    @Test func piecesGiveTheSameObjectsAndMessages() {
        let text = Self.bigFile(objects: 12_000, badAt: [3, 7_777, 11_999])
        #expect(YAMLChunks.split(text).count > 1, "the file must be big enough to be cut")
        let (read, messages) = InputObjects.parse(InputFile(name: "f.yaml", text: text))
        let objects = read.routeConfigurations
        let (refObjects, refMessages) = Self.sequential(text)
        #expect(objects == refObjects)
        #expect(messages.map(\.description) == refMessages)
        #expect(messages.count == 3)
        // cr-7777 starts at line 7777 * 12 + 1; its cidr is 9 lines further.
        #expect(
            messages.contains { $0.description.hasPrefix("f.yaml:\(7_777 * 12 + 10): error: VRFRouteConfiguration \"cr-7777\"") },
            "\(messages)")
    }

    @Test func aPieceTheFastReaderDeclinesSendsTheWholeFileToLibyaml() {
        // An anchor in the last document: libyaml reads it, the fast reader declines.
        let anchored =
            "---\napiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\n"
            + "metadata: {name: anchored}\nspec:\n  vrf: &v vrf1\n  seq: 99999\n"
        let text = Self.bigFile(objects: 12_000, extra: anchored)
        if case .success = FastYAMLParser.parse(anchored) { Issue.record("the fast reader should decline anchors") }
        let (read, messages) = InputObjects.parse(InputFile(name: "f.yaml", text: text))
        let objects = read.routeConfigurations
        #expect(objects.count == 12_000)
        #expect(
            messages.count == 1
                && messages[0].description.hasPrefix("f.yaml:\(12_000 * 12 + 7): error: VRFRouteConfiguration \"anchored\": spec.seq"),
            "\(messages.prefix(3))")
    }

    @Test func piecesStartAtDocumentMarkersAndCarryTheirLine() {
        let text = Self.bigFile(objects: 12_000)
        let chunks = YAMLChunks.split(text)
        #expect(chunks.map(\.text).joined() == text)
        for c in chunks { #expect(c.text.hasPrefix("---\n")) }
        var line = 1
        for c in chunks {
            #expect(c.firstLine == line)
            line += c.text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        }
    }
}
