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
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let indent = line.prefix { $0 == " " }.count
            let body = line.dropFirst(indent).drop { $0 == " " || $0 == "\t" }
            let trimmed = body.reversed().drop { $0 == " " || $0 == "\t" }
            let command = Substring(String(trimmed.reversed()))
            if command.isEmpty || command.hasPrefix("!") || command.hasPrefix("#") || Self.closers.contains(command) {
                continue
            }
            while let top = stack.last, top.0 >= indent { stack.removeLast() }
            let path = stack.map { entries[$0.1].text }
            if let top = stack.last { entries[top.1].hasChildren = true }
            entries.append(Entry(path: path, text: String(command), hasChildren: false))
            stack.append((indent, entries.count - 1))
        }
        self.entries = entries
    }

    public var keys: Set<Key> { Set(entries.map(\.key)) }

    /// The trimmed command lines of a config text, for line-by-line checks.
    public static func commands(_ text: String) -> Set<String> {
        Set(FRRConfigTree(text).entries.map(\.text))
    }
}
