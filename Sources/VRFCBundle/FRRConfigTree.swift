/// FRR configuration text as FRR nests it: every command with the block
/// headers it sits under (`router bgp 64510 vrf vr.x` > `address-family
/// ipv4 unicast` > `aggregate-address ...`), found from the indentation FRR
/// and vrfc's templates both use. Comments, blank lines and the closing
/// words (`exit`, `exit-vrf`, `exit-address-family`, `end`) carry no
/// configuration and are left out, so a file with and without `exit`
/// after route-map entries reads the same.
public struct FRRConfigTree: Sendable {
    public struct Entry: Sendable, Hashable {
        /// Enclosing block headers, outermost first, without indentation.
        public var path: [String]
        /// The command, without indentation.
        public var text: String
        /// Commands nested under this one (it is a block header).
        public var hasChildren: Bool

        public var key: Key { Key(path: path, text: text) }
    }

    public struct Key: Sendable, Hashable {
        public var path: [String]
        public var text: String

        public init(path: [String], text: String) {
            self.path = path
            self.text = text
        }
    }

    /// In file order.
    public let entries: [Entry]

    public static let closers: Set<Substring> = ["exit", "exit-vrf", "exit-address-family", "end", "quit", "exit-vnc"]

    public init(_ text: String) {
        var entries: [Entry] = []
        // (indentation, index into entries) of the open block headers.
        var stack: [(Int, Int)] = []
        // The headers' texts for the current stack, shared by every entry
        // of a block (one array, not one per line of a large node's file).
        var path: [String] = []
        var pathOf: [Int] = []
        // Byte-level: a node's running config is tens of thousands of lines.
        var text = text
        text.withUTF8 { bytes in
            var lineStart = 0
            let n = bytes.count
            while lineStart < n {
                var lineEnd = lineStart
                while lineEnd < n && bytes[lineEnd] != 0x0A { lineEnd += 1 }
                var start = lineStart
                while start < lineEnd && bytes[start] == 0x20 { start += 1 }
                let indent = start - lineStart
                while start < lineEnd && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
                var end = lineEnd
                while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0D) { end -= 1 }
                lineStart = lineEnd + 1
                if start == end || bytes[start] == UInt8(ascii: "!") || bytes[start] == UInt8(ascii: "#") { continue }
                let command = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                if Self.closers.contains(Substring(command)) { continue }
                while let top = stack.last, top.0 >= indent { stack.removeLast() }
                if !stack.elementsEqual(pathOf, by: { $0.1 == $1 }) {
                    pathOf = stack.map(\.1)
                    path = pathOf.map { entries[$0].text }
                }
                if let top = stack.last { entries[top.1].hasChildren = true }
                entries.append(Entry(path: path, text: command, hasChildren: false))
                stack.append((indent, entries.count - 1))
            }
        }
        self.entries = entries
    }

    public var keys: Set<Key> { Set(entries.map(\.key)) }

    /// The trimmed command lines of a config text, for line-by-line checks.
    public static func commands(_ text: String) -> Set<String> {
        Set(FRRConfigTree(text).entries.map(\.text))
    }
}
