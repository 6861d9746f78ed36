/// Why plan, apply or a reconcile stopped: a message for the operator, and
/// whether the inputs (not the node) were at fault.
public struct ApplyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The inputs did not compile: nothing was changed, and the node stays
    /// on the last intent it ran (the agent reports this as "invalid").
    public let isInputError: Bool
    public init(_ message: String, isInputError: Bool = false) {
        self.message = message
        self.isInputError = isInputError
    }
    public var description: String { message }
}
