/// Splitting text into lines, one way for every line-based input (base
/// config, templates). It works on bytes: Swift's `Character` reads CR LF
/// as one grapheme, so splitting a `String` on "\n" sees a CRLF file as a
/// single line.
///
/// The policy: LF ends a line; CR LF is read as LF (files edited on
/// Windows); a CR anywhere else is refused with its line, because FRR would
/// take it as part of the line, and a terminal showing the file hides what
/// precedes it (a stray CR can hide an `exit`).
public enum TextLines {
    public struct LoneCR: Error, Equatable, Sendable {
        public let line: Int

        public init(line: Int) { self.line = line }

        public var diagnostic: String { "carriage return (CR) without a line feed inside the line" }
        public var fix: String { "end lines with LF or CR LF; remove the stray CR" }
    }

    /// The lines without their line breaks; a final line break does not
    /// start another line.
    public static func split(_ text: String) -> Result<[Substring], LoneCR> {
        var lines: [Substring] = []
        let u = text.utf8
        var start = u.startIndex
        var i = u.startIndex
        while i != u.endIndex {
            let c = u[i]
            if c == 0x0A {
                var end = i
                if end > start, u[u.index(before: end)] == 0x0D { end = u.index(before: end) }
                lines.append(Substring(u[start..<end]))
                start = u.index(after: i)
            } else if c == 0x0D {
                let next = u.index(after: i)
                if next == u.endIndex || u[next] != 0x0A { return .failure(LoneCR(line: lines.count + 1)) }
            }
            i = u.index(after: i)
        }
        if start != u.endIndex { lines.append(Substring(u[start...])) }
        return .success(lines)
    }

    /// `text` with CR LF read as LF; a lone CR is refused.
    public static func normalized(_ text: String) -> Result<String, LoneCR> {
        guard text.utf8.contains(0x0D) else { return .success(text) }
        return split(text).map { lines in lines.map { $0 + "\n" }.joined() }
    }

    /// Lines split at LF only, anything else kept as it is (a diff shows
    /// bytes as they are).
    public static func splitAtLF(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        let u = text.utf8
        var start = u.startIndex
        var i = u.startIndex
        while i != u.endIndex {
            if u[i] == 0x0A {
                lines.append(Substring(u[start..<i]))
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        if start != u.endIndex { lines.append(Substring(u[start...])) }
        return lines
    }
}
