import VRFCYAML

/// The fast YAML reader against libyaml: it may decline a text, but what
/// it reads must read the same through libyaml, and what libyaml refuses
/// it must not read.
public enum YAMLDifferential {
    public enum Verdict: Sendable {
        case agree(fast: String)
        case disagree(String)
    }

    /// Equal trees; the line of an empty (null) value is where each parser
    /// happens to look, so it is not compared.
    public static func same(_ a: YNode, _ b: YNode) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)):
            return x.text == y.text && x.style == y.style && (x.isNull || x.line == y.line)
        case (.mapping(let x), .mapping(let y)):
            return x.line == y.line && x.pairs.count == y.pairs.count
                && zip(x.pairs, y.pairs).allSatisfy {
                    $0.key.text == $1.key.text && $0.key.style == $1.key.style && same($0.value, $1.value)
                }
        case (.sequence(let x), .sequence(let y)):
            return x.line == y.line && x.items.count == y.items.count && zip(x.items, y.items).allSatisfy { same($0, $1) }
        default:
            return false
        }
    }

    static func nonNull(_ docs: [YNode]) -> [YNode] {
        docs.filter {
            if case .scalar(let s) = $0 { return !s.isNull }
            return true
        }
    }

    /// JSON's escaped surrogate pairs, which only the fast reader reads, as
    /// the `\U` escapes libyaml knows.
    public static func withPairsAsUEscapes(_ text: String) -> String {
        var out = text
        let pair = /\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})/
        while let m = out.firstMatch(of: pair) {
            let high = UInt32(m.1, radix: 16)!
            let low = UInt32(m.2, radix: 16)!
            let v = String(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), radix: 16)
            out.replaceSubrange(m.range, with: "\\U" + String(repeating: "0", count: 8 - v.count) + v)
        }
        return out
    }

    public static func check(_ text: String) -> Verdict {
        let fast = YAMLReaders.fast(text)
        var reference = YAMLReaders.libyaml(text)
        if case .read = fast, case .failure = reference, withPairsAsUEscapes(text) != text {
            reference = YAMLReaders.libyaml(withPairsAsUEscapes(text))
        }
        switch (fast, reference) {
        case (.read(let f), .success(let r)):
            let (fd, rd) = (nonNull(f), nonNull(r))
            guard fd.count == rd.count, zip(fd, rd).allSatisfy({ same($0, $1) }) else {
                return .disagree("fast and libyaml read it differently")
            }
            return .agree(fast: "read")
        case (.declined, _):
            return .agree(fast: "declined")
        case (.refused, .failure):
            return .agree(fast: "refused")
        case (.read, .failure(let e)):
            return .disagree("the fast reader read what libyaml refuses (\(e.message))")
        case (.refused(let e), .success):
            return .disagree("the fast reader refused (\(e.message)) what libyaml reads")
        }
    }
}
