import VRFCModel
import VRFCYAML

/// A problem found in a node before it is placed in a file, object and
/// path: what is wrong and what would be right.
struct Problem: Error {
    var message: String
    var fix: String?
}

/// The rules for scalar values, as pure functions on nodes. `Field` wraps
/// them with locations; the item reader calls them directly, so the
/// thousands of valid items of a large node cost no bookkeeping.
enum ScalarRules {
    static func kindName(_ node: YNode) -> String {
        switch node {
        case .scalar(let s): s.isNull ? "null" : "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    static func string(_ node: YNode) -> Result<String, Problem> {
        guard case .scalar(let s) = node, !s.isNull else {
            return .failure(Problem(message: "expected a string, found \(kindName(node))"))
        }
        return .success(s.text)
    }

    /// An unquoted decimal integer in `range`, as the Kubernetes API would
    /// insist for an integer field.
    static func integer(_ node: YNode, in range: ClosedRange<UInt64>) -> Result<UInt64, Problem> {
        func rangeText() -> String { "\(range.lowerBound)..\(range.upperBound)" }
        guard case .scalar(let s) = node, !s.isNull else {
            return .failure(Problem(message: "expected an integer in \(rangeText()), found \(kindName(node))"))
        }
        let u = s.text.utf8
        var value: UInt64 = 0
        var digits = true
        for c in u {
            guard c >= 0x30 && c <= 0x39 else {
                digits = false
                break
            }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            if o1 || o2 {
                digits = false
                break
            }
            value = a
        }
        digits = digits && !u.isEmpty
        if s.style != .plain {
            return .failure(
                digits
                    ? Problem(message: "expected an integer, found the string \"\(s.text)\"", fix: "write \(s.text) without quotes")
                    : Problem(message: "expected an integer in \(rangeText()), found the string \(quoted(s.text))"))
        }
        guard digits else {
            return .failure(Problem(message: "expected an integer in \(rangeText()), found \(quoted(s.text))"))
        }
        if u.count > 1 && u.first == 0x30 {
            return .failure(Problem(message: "'\(s.text)' has a leading zero, which YAML may read as octal", fix: "write \(value)"))
        }
        guard range.contains(value) else {
            return .failure(Problem(message: "\(value) is out of range", fix: "use a value in \(rangeText())"))
        }
        return .success(value)
    }

    /// A canonical prefix; anything else is refused with the canonical form.
    static func prefix(_ text: String) -> Result<IPPrefix, Problem> {
        switch IPPrefix.parse(text) {
        case .success(let p):
            return .success(p)
        case .failure(.malformed):
            return .failure(
                Problem(
                    message: "\(quoted(text)) is not an IPv4 or IPv6 prefix",
                    fix: "write ADDRESS/LENGTH, e.g. 203.0.113.0/24 or 2001:db8::/48"))
        case .failure(.missingLength(let suggestion)):
            return .failure(Problem(message: "\(quoted(text)) has no prefix length", fix: "write e.g. '\(suggestion)'"))
        case .failure(.lengthOutOfRange(let max)):
            return .failure(Problem(message: "the prefix length of \(quoted(text)) is above \(max)", fix: "use a length in 0..\(max)"))
        case .failure(.notCanonical(let canonical)):
            let written = IPAddress(parsing: text.split(separator: "/")[0])
            let network = try? IPPrefix.parse(canonical).get().address
            if let written, let network, written != network {
                return .failure(Problem(message: "\(quoted(text)) has host bits set", fix: "write the network '\(canonical)'"))
            }
            return .failure(Problem(message: "\(quoted(text)) is not in canonical form", fix: "write '\(canonical)'"))
        }
    }
}
