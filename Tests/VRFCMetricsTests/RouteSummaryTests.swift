import Testing

@testable import VRFCMetrics

/// zebra's route summaries as FRR 8.4 prints them: one object keyed by VRF,
/// a bare summary, or bare summaries back to back (cut apart by the shared
/// JSON splitter and named from the text summary); anything else refused.
@Suite struct RouteSummaryTests {
    @Test func summariesAreCutApartAndNamed() throws {
        let one = #"{"routes":[{"type":"connected","rib":2}],"routesTotal":2}"#
        let two = #"{"routes":[{"type":"bgp","rib":5}],"routesTotal":5}"#
        #expect(try RouteCollector.summaries(one, names: { [] }).keys.sorted() == ["default"])
        let keyed = try RouteCollector.summaries(#"{"vr1":"# + one + #","vr2":"# + two + "}", names: { [] })
        #expect(keyed.keys.sorted() == ["vr1", "vr2"])
        let backToBack = try RouteCollector.summaries(one + "\n" + two + "\n", names: { [("vr1", 2), ("vr2", 5)] })
        #expect(number(backToBack["vr2"]?["routesTotal"]) == 5 && number(backToBack["vr1"]?["routesTotal"]) == 2)
        // A brace inside a string does not cut an object.
        #expect(try JSONObjects.split(#" {"a":"}{\"x"} {"b":1}"#).count == 2)
    }

    @Test func whatIsNotBackToBackObjectsIsRefused() {
        let cases: [(String, String)] = [
            ("", "FRR printed no complete JSON object"),
            (#"{"a":1"#, "FRR printed no complete JSON object"),
            (#"{"a":1}}"#, "unbalanced JSON from FRR"),
            (#"{"a":1} % Unknown command"#, "FRR printed text outside JSON"),
            (#"{"a":1},{"b":2}"#, "FRR printed text outside JSON"),
            ("[1,2]", "FRR printed something that is not a JSON object"),
            (#"{"a":tru}"#, "FRR printed something that is not a JSON object"),
        ]
        for (text, message) in cases {
            do {
                _ = try JSONObjects.split(text)
                Issue.record("\(text) accepted")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(text): \(error)")
            }
        }
        #expect(throws: CollectorFailure.self) {
            try RouteCollector.summaries(#"{"routesTotal":1}{"routesTotal":2}"#, names: { [("vr1", 1)] })
        }
    }
}
