import Foundation
import Glibc
import Testing

@testable import VRFCApply

/// `--ops FILE` is read straight into one array: every byte of a file or a
/// pipe, never more than the cap, and nothing (an error) where there is no
/// file to read.
@Suite struct OpListFileReadTests {
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vrfc-opsread-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    @Test func filesAndPipesAreReadWholeUpToTheCap() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Array((0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) })
        let file = dir + "/ops.json"
        try Data(text).write(to: URL(fileURLWithPath: file))
        #expect(OpListLoader.readBytes(file, limit: 1 << 20) == text)
        // The cap: what the reader then refuses as too large, without reading on.
        #expect(OpListLoader.readBytes(file, limit: 1000) == Array(text.prefix(1000)))
        #expect(OpListLoader.readBytes(file, limit: text.count) == text)
        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))
        #expect(OpListLoader.readBytes(dir + "/empty", limit: 100) == [])
        #expect(OpListLoader.readBytes(dir + "/missing", limit: 100) == nil)
        #expect(OpListLoader.readBytes(dir, limit: 100) == nil)

        // A FIFO written in pieces, as `--ops <(vrfc compile ...)` is.
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            guard fd >= 0 else { return }
            var off = 0
            while off < text.count {
                let n = min(7000, text.count - off)
                _ = text.withUnsafeBytes { write(fd, $0.baseAddress! + off, n) }
                off += n
                usleep(100)
            }
            close(fd)
        }
        writer.start()
        #expect(OpListLoader.readBytes(fifo, limit: 1 << 20) == text)
    }
}
