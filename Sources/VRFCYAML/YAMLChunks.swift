import Foundation

/// Cuts a large multi-document YAML file into pieces at `---` lines, so the
/// pieces can be read in parallel. Each piece starts with its `---` line and
/// knows its first line number, so messages point into the whole file.
enum YAMLChunks {
    struct Chunk: Sendable {
        var text: String
        var firstLine: Int
    }

    /// Below this size one core reads the file faster than two can share it.
    static let minimumChunkBytes = 1 << 20

    /// Two pieces per core, so a slow piece does not leave a core idle.
    static var defaultPieces: Int { 2 * ProcessInfo.cores }

    static func split(_ text: String, pieces: Int = defaultPieces) -> [Chunk] {
        let u = Array(text.utf8)
        guard u.count >= 2 * minimumChunkBytes, pieces > 1 else { return [Chunk(text: text, firstLine: 1)] }
        let target = max(minimumChunkBytes, u.count / pieces)
        var chunks: [Chunk] = []
        var start = 0
        var startLine = 1
        var line = 1
        var i = 0
        while i < u.count {
            // At the start of a line: is it exactly `---` (a document start)?
            if i - start >= target, i + 3 <= u.count, u[i] == 0x2D, u[i + 1] == 0x2D, u[i + 2] == 0x2D,
                i + 3 == u.count || u[i + 3] == 0x0A || (u[i + 3] == 0x0D && i + 4 < u.count && u[i + 4] == 0x0A)
            {
                chunks.append(Chunk(text: String(decoding: u[start..<i], as: UTF8.self), firstLine: startLine))
                start = i
                startLine = line
            }
            // To the next line.
            while i < u.count, u[i] != 0x0A { i += 1 }
            i += 1
            line += 1
        }
        chunks.append(Chunk(text: String(decoding: u[start...], as: UTF8.self), firstLine: startLine))
        return chunks
    }
}

extension ProcessInfo {
    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
