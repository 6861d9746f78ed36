import Testing
import VRFCFrontend
import VRFCModel

/// Runs the frontend on in-memory files: the IR, or every message.
func run(config: String = standardConfig, _ crs: [String]) -> Result<NodeIR, Diagnostics> {
    do throws(Diagnostics) {
        let cfg = try NodeConfig.parse(InputFile(name: "config.yaml", text: config))
        let files = crs.enumerated().map { InputFile(name: "cr\($0.offset).yaml", text: $0.element) }
        let (objects, diags) = InputObjects.parse(files)
        if !diags.isEmpty { throw Diagnostics(diags) }
        return .success(try Lowering.lower(config: cfg, objects: objects.routeConfigurations, options: NodeOptions()))
    } catch {
        return .failure(error)
    }
}

/// The messages of a run; empty when it succeeded.
func errors(config: String = standardConfig, _ crs: String...) -> [String] {
    switch run(config: config, crs) {
    case .success: return []
    case .failure(let d): return d.items.map(\.description)
    }
}

func ir(config: String = standardConfig, _ crs: String...) throws -> NodeIR {
    try run(config: config, crs).get()
}

let standardConfig = """
    vnimap:
      vrf1: 100
      vrf2: 101
    skipVRFConfig:
    - mgmt_vrf
    """

/// A CR with the given spec body (YAML, indented under `spec:`).
func cr(_ name: String = "web", spec: String) -> String {
    """
    apiVersion: network.schiff.telekom.de/v1alpha1
    kind: VRFRouteConfiguration
    metadata:
      name: \(name)
    spec:
    \(spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))

    """
}

/// A CR for vrf1 whose import list holds one item with the given fields.
func importItem(_ fields: String) -> String {
    cr(spec: "vrf: vrf1\nseq: 10\nimport:\n- " + fields.split(separator: "\n").joined(separator: "\n  "))
}

/// Asserts exactly one error, that it contains every fragment, and returns it.
@discardableResult
func expectOneError(_ messages: [String], _ fragments: String..., sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String? {
    #expect(messages.count == 1, "expected one error, got \(messages)", sourceLocation: sourceLocation)
    guard let m = messages.first else { return nil }
    for f in fragments {
        #expect(m.contains(f), "'\(m)' should contain '\(f)'", sourceLocation: sourceLocation)
    }
    return m
}
