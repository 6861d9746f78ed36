import VRFCModel

/// The one way vrfc reads YAML (and JSON, its flow subset). Behind it: the
/// fast byte-level reader for the subset Kubernetes tooling writes, libyaml
/// (via Yams) for any text the fast reader declines, and, for large
/// multi-document texts, reading pieces cut at `---` lines on all cores.
/// Whichever path reads a text, the documents, their lines and the limits
/// (`YAMLLimits`, no aliases, no tags, no control characters) are the same.
public enum YAMLReader {
    /// Every document of `text`, in order, through `each`, which turns it
    /// into what the caller keeps (so a large file never exists as one tree
    /// of nodes). `each` may run on several documents at once and may run
    /// again on a document already seen (when a path gives up and another
    /// takes over): it must not share mutable state.
    ///
    /// On a YAML error, `values` holds the documents read before it, and
    /// `error` the error with its line.
    public static func read<T: Sendable>(_ text: String, _ each: @Sendable (YNode) -> T) -> (values: [T], error: YAMLError?) {
        read(text, pieces: YAMLChunks.defaultPieces, each)
    }

    static func read<T: Sendable>(_ text: String, pieces: Int, _ each: @Sendable (YNode) -> T) -> (values: [T], error: YAMLError?) {
        let chunks = YAMLChunks.split(text, pieces: pieces)
        if chunks.count > 1 {
            // Any piece the fast reader does not read whole sends the whole
            // text down the one-piece path, so the result never depends on
            // where the text was cut.
            let pieces = parallelMap(chunks) { chunk -> [T]? in
                var values: [T] = []
                guard case .success = FastYAMLParser.parse(chunk.text, firstLine: chunk.firstLine, each: { values.append(each($0)) }) else {
                    return nil
                }
                return values
            }
            if pieces.allSatisfy({ $0 != nil }) { return (pieces.flatMap { $0! }, nil) }
        }
        var values: [T] = []
        switch FastYAMLParser.parse(text, each: { values.append(each($0)) }) {
        case .success:
            return (values, nil)
        case .failure(.invalid(let e)):
            return (values, e)
        case .failure(.unsupported):
            // libyaml reads the text again from its first document.
            switch Libyaml.parse(text) {
            case .success(let docs): return (docs.map(each), nil)
            case .failure(let e): return ([], e)
            }
        }
    }
}
