/// Where the objects and lists in a JSON text begin and end, found without
/// reading them: strings are skipped whole (escapes included), brackets
/// counted, nothing else checked. It cuts a text into pieces that a full
/// reader then reads or compares one by one: a kept IR's VRFs, the objects
/// FRR prints back to back, the op list inside a bundle.
public enum JSONSplitter {
    public enum Failure: Error, Sendable, Equatable {
        /// A closing bracket with nothing open.
        case unbalanced(at: Int)
        /// Something other than an object or a list (or, between a list's
        /// elements, a comma) where a value must begin.
        case unexpected(at: Int)
        /// The text ends inside a value, or after a comma.
        case unterminated
    }

    /// One past the end of the object or list that opens at `start`.
    public static func end(ofValueAt start: Int, in bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> Int {
        guard start < bytes.count else { throw .unterminated }
        switch bytes[start] {
        case UInt8(ascii: "{"), UInt8(ascii: "["): break
        case UInt8(ascii: "}"), UInt8(ascii: "]"): throw .unbalanced(at: start)
        default: throw .unexpected(at: start)
        }
        var depth = 0
        var i = start
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
            i += 1
        }
        throw .unterminated
    }

    /// The byte ranges of the objects and lists in `bytes`, white space
    /// around them left out: one after another, or with `commas` a list's
    /// elements (the text between its brackets), a comma between each two.
    public static func values(in bytes: UnsafeBufferPointer<UInt8>, commas: Bool) throws(Failure) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }
        skipSpace()
        while i < bytes.count {
            if commas && !out.isEmpty {
                guard bytes[i] == UInt8(ascii: ",") else { throw .unexpected(at: i) }
                i += 1
                skipSpace()
                guard i < bytes.count else { throw .unterminated }
            }
            let end = try end(ofValueAt: i, in: bytes)
            out.append(i..<end)
            i = end
            skipSpace()
        }
        return out
    }
}
