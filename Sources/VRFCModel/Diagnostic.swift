/// Where a problem is: the file, the object (`metadata.name`, or the node
/// config), the field path inside it and, when known, the line.
public struct SourceLocation: Hashable, Sendable, Codable {
    public var file: String
    public var line: Int?
    public var object: String?
    public var field: String?

    public init(file: String, line: Int? = nil, object: String? = nil, field: String? = nil) {
        self.file = file
        self.line = line
        self.object = object
        self.field = field
    }
}

/// One problem with the input: what is wrong and what would be right.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// What the user should write instead; printed after the message.
    public var fix: String?
    /// A warning is printed and the compile goes on; an error stops it.
    public var severity: Severity

    public enum Severity: String, Hashable, Sendable { case error, warning }

    public init(_ location: SourceLocation, _ message: String, fix: String? = nil, severity: Severity = .error) {
        self.location = location
        self.message = message
        self.fix = fix
        self.severity = severity
    }

    /// `file:line: object: field: message; fix` — the shape compilers use, so
    /// editors and CI logs link it to the line.
    ///
    /// Every part is printed through `UserText.printable`: whatever a file
    /// name, key or value holds, a diagnostic is one line (no forged
    /// `FILE:LINE: error:` lines, no terminal escapes) of bounded length.
    public var description: String {
        var s = UserText.printable(location.file, limit: Self.nameLimit)
        if let line = location.line { s += ":\(line)" }
        s += ": \(severity.rawValue): "
        if let object = location.object { s += UserText.printable(object, limit: Self.nameLimit) + ": " }
        if let field = location.field { s += UserText.printable(field, limit: Self.nameLimit) + ": " }
        s += UserText.printable(message, limit: Self.textLimit)
        if let fix { s += "; " + UserText.printable(fix, limit: Self.textLimit) }
        return s
    }

    /// Limits of the printed parts (messages quote input at most
    /// `UserText.quoteLimit` characters at a time, so these cut only
    /// what slipped through unquoted).
    static let nameLimit = 300
    static let textLimit = 2000
}

/// All problems of one run; the pipeline reports every one, not just the first.
public struct Diagnostics: Error, Sendable, CustomStringConvertible {
    public var items: [Diagnostic]

    public init(_ items: [Diagnostic]) { self.items = items }

    public var description: String { items.map(\.description).joined(separator: "\n") }
}
