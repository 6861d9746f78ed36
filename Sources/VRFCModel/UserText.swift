/// The one door through which text a user wrote reaches a message. Input
/// strings may hold line breaks (a forged `FILE:LINE: error:` line), terminal
/// escape sequences, bidirectional overrides, or megabytes of text; printed
/// through here they are one line of visible characters of bounded length.
public enum UserText {
    /// Longest piece of user text quoted inside a message.
    public static let quoteLimit = 120

    /// `'text'` with every invisible or line-breaking character escaped and
    /// long text cut, e.g. `'vrf1\nrouter bgp 1'`, `'aaaa…' (5000000 characters)`.
    public static func quoted(_ s: String, limit: Int = quoteLimit) -> String {
        var out = "'"
        let (body, total) = escaped(s, limit: limit, quote: "'")
        out += body
        out += "'"
        if let total { out += " (\(total) characters)" }
        return out
    }

    /// The text made printable on one line: control characters, line and
    /// paragraph separators, bidirectional controls and the like become
    /// `\n`, `\t`, `\u{1b}`; more than `limit` characters are cut with `…`
    /// and their total count.
    public static func printable(_ s: String, limit: Int) -> String {
        let (body, total) = escaped(s, limit: limit, quote: nil)
        guard let total else { return body }
        return body + " (\(total) characters)"
    }

    /// Whether a scalar must not reach a terminal as it is.
    public static func isUnsafe(_ v: UInt32) -> Bool {
        v < 0x20 || (v >= 0x7F && v <= 0x9F)  // C0, DEL, C1 (CSI is 0x9B)
            || v == 0x2028 || v == 0x2029  // line and paragraph separators
            || (v >= 0x200B && v <= 0x200F)  // zero-width and direction marks
            || (v >= 0x202A && v <= 0x202E)  // bidirectional embeddings and overrides
            || (v >= 0x2066 && v <= 0x2069)  // bidirectional isolates
            || v == 0xFEFF || v == 0xFFFE || v == 0xFFFF
            || (v >= 0xD800 && v <= 0xDFFF)
    }

    static func escaped(_ s: String, limit: Int, quote: Unicode.Scalar?) -> (String, Int?) {
        var out = ""
        var count = 0
        var cut = false
        for scalar in s.unicodeScalars {
            if count == limit {
                cut = true
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\" where quote != nil: out += "\\\\"
            default:
                if scalar == quote {
                    out += "\\"
                    out.unicodeScalars.append(scalar)
                } else if isUnsafe(scalar.value) {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        guard cut else { return (out, nil) }
        return (out + "…", s.unicodeScalars.count)
    }
}

/// Shorthand for `UserText.quoted`, used wherever a message shows input.
public func quoted(_ s: String) -> String { UserText.quoted(s) }
