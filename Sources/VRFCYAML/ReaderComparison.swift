/// The two readers one by one, for checks that compare them (the fuzz
/// harness): vrfc itself always reads through `YAMLReader`.
package enum YAMLReaders {
    package enum FastOutcome: Sendable {
        case read([YNode])
        case declined(reason: String, line: Int)
        case refused(YAMLError)
    }

    package static func fast(_ text: String) -> FastOutcome {
        switch FastYAMLParser.parse(text) {
        case .success(let docs): .read(docs)
        case .failure(.unsupported(let u)): .declined(reason: u.reason, line: u.line)
        case .failure(.invalid(let e)): .refused(e)
        }
    }

    package static func libyaml(_ text: String) -> Result<[YNode], YAMLError> {
        Libyaml.parse(text)
    }
}
