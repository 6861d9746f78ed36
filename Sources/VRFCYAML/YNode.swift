/// A YAML node as vrfc reads it. Scalars keep their text and style (so an
/// integer field can refuse `"10"`), every node keeps its line.
public enum YNode: Equatable, Sendable {
    case scalar(YScalar)
    case mapping(YMapping)
    case sequence(YSequence)

    public var line: Int {
        switch self {
        case .scalar(let s): s.line
        case .mapping(let m): m.line
        case .sequence(let s): s.line
        }
    }
}

public struct YScalar: Equatable, Sendable {
    public enum Style: Sendable, Equatable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var text: String
    public var style: Style
    public var line: Int

    public init(_ text: String, _ style: Style, line: Int) {
        self.text = text
        self.style = style
        self.line = line
    }

    /// Plain `null`, `~` or nothing: YAML's ways to write "no value".
    public var isNull: Bool {
        style == .plain && (text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }
}

public struct YMapping: Equatable, Sendable {
    public struct Pair: Equatable, Sendable {
        public var key: YScalar
        public var value: YNode

        public init(key: YScalar, value: YNode) {
            self.key = key
            self.value = value
        }
    }

    public var pairs: [Pair]
    public var line: Int
}

public struct YSequence: Equatable, Sendable {
    public var items: [YNode]
    public var line: Int
}

/// A problem with a file's YAML, with its line.
public struct YAMLError: Error, Equatable, Sendable {
    public var message: String
    public var line: Int?
    public var fix: String?
}

/// Bounds every YAML reader keeps, whatever the input.
public enum YAMLLimits {
    /// Nested mappings and sequences. Objects need a handful of levels
    /// (kubectl's managedFields a dozen or so); libyaml itself stops at 1,000.
    public static let maxDepth = 100

    static func tooDeep(line: Int?) -> YAMLError {
        YAMLError(
            message: "mappings and lists nest deeper than \(maxDepth) levels", line: line,
            fix: "VRFRouteConfiguration objects and the node config need only a few levels")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
