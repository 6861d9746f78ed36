import Foundation

/// Deterministic JSON for `--emit ir|ops` and golden files.
public enum JSONOutput {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding our own value types cannot fail.
        let data = try! encoder.encode(value)
        return compactEmpty(String(decoding: data, as: UTF8.self)) + "\n"
    }

    /// Foundation prints an empty array as "[", a blank line and "]";
    /// golden files read better with "[]". JSON strings never hold a raw
    /// line break, so a bracket, blanks only, and its closer are always
    /// an empty container.
    static func compactEmpty(_ json: String) -> String {
        var out: [UInt8] = []
        let b = Array(json.utf8)
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                let close = c == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                var j = i + 1
                while j < b.count, b[j] == 0x20 || b[j] == 0x0A { j += 1 }
                if j < b.count, b[j] == close {
                    out += [c, close]
                    i = j + 1
                    continue
                }
            }
            if c == UInt8(ascii: "\"") {
                // Copy a string verbatim, escapes included.
                var j = i + 1
                while j < b.count, b[j] != UInt8(ascii: "\"") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
                out += b[i...min(j, b.count - 1)]
                i = j + 1
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
