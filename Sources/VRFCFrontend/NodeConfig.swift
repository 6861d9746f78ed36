import VRFCModel
import VRFCYAML

/// The node's `config.yaml` (README "Node config"), validated.
public struct NodeConfig: Sendable, Equatable {
    public static let defaultServerASN: UInt32 = 4_200_065_169
    public static let vniRange: ClosedRange<UInt64> = 1...16_777_215
    public static let keys = ["vnimap", "vrfConfig", "skipVRFConfig", "bpfInterfaces", "serverASN", "nodeName", "returnPath", "podRoutes"]
    /// ASNs no BGP speaker may use as its own.
    static let reservedASNs: [UInt64: String] = [
        0: "RFC 7607; FRR refuses it",
        23456: "AS_TRANS, RFC 6793: 2-byte speakers see it in place of 4-byte ASNs",
        4_294_967_295: "RFC 7300, last 4-byte ASN; FRR warns 'Reserved AS used'",
    ]

    public struct Mapping: Sendable, Equatable {
        public var vni: UInt32
        public var routeTarget: RouteTarget?
        /// Where it was defined, for messages about conflicts.
        public var location: SourceLocation
    }

    public var file: String
    /// VRF → VNI (and route target): `vrfConfig` entries win over `vnimap`.
    public var mappings: [VRFName: Mapping]
    public var skip: [VRFName]
    public var bpfInterfaces: [InterfaceName]
    public var serverASN: UInt32
    /// This node's `metadata.name` among the Node objects (RoutingConfig.swift).
    public var nodeName: ObjectName?
    public var nodeNameLocation: SourceLocation?
    public var returnPath: ReturnPathConfig?
    public var podRoutes: PodRoutesConfig?

    public init(
        file: String, mappings: [VRFName: Mapping] = [:], skip: [VRFName] = [],
        bpfInterfaces: [InterfaceName] = [], serverASN: UInt32 = NodeConfig.defaultServerASN
    ) {
        self.file = file
        self.mappings = mappings
        self.skip = skip
        self.bpfInterfaces = bpfInterfaces
        self.serverASN = serverASN
    }

    /// Every VRF name the config knows, for "did you mean" messages.
    public var knownVRFs: [VRFName] { Array(Set(mappings.keys).union(skip)).sorted() }

    public static func parse(_ file: InputFile) throws(Diagnostics) -> NodeConfig {
        let sink = DiagnosticSink()
        let docs = documents(of: file, sink: sink)
        var config = NodeConfig(file: file.name)
        if sink.items.isEmpty {
            let nonEmpty = docs.filter { doc in
                if case .scalar(let s) = doc { return !s.isNull }
                return true
            }
            if nonEmpty.count > 1 {
                sink.add(
                    Diagnostic(
                        SourceLocation(file: file.name, line: nonEmpty[1].line), "the node config holds \(nonEmpty.count) YAML documents",
                        fix: "keep one"))
            } else if let doc = nonEmpty.first {
                config.read(Field(node: doc, context: .init(file: file.name, object: "node config", sink: sink)))
            }
        }
        if !sink.items.isEmpty { throw Diagnostics(sink.items) }
        return config
    }

    mutating func read(_ root: Field) {
        guard let fields = root.mapping(allowed: Self.keys) else { return }

        var vnimap: [VRFName: Mapping] = [:]
        if let f = fields["vnimap"], !f.isNull {
            for (name, value) in Self.entries(f) {
                if let vni = value.integer(in: Self.vniRange) {
                    vnimap[name] = Mapping(vni: UInt32(vni), routeTarget: nil, location: value.location)
                }
            }
        }
        var vrfConfig: [VRFName: Mapping] = [:]
        if let f = fields["vrfConfig"], !f.isNull {
            for (name, value) in Self.entries(f) {
                guard let m = value.mapping(allowed: ["vni", "rt"]) else { continue }
                guard let vniField = m["vni"] else {
                    value.error("missing required field 'vni'", fix: "add vni: <1..16777215>")
                    continue
                }
                let rt = m["rt"].flatMap { $0.isNull ? nil : $0.validated(RouteTarget.init(validating:)) }
                if let vni = vniField.integer(in: Self.vniRange) {
                    vrfConfig[name] = Mapping(vni: UInt32(vni), routeTarget: rt, location: value.location)
                }
            }
        }
        mappings = vnimap.merging(vrfConfig) { _, newer in newer }

        // Two VRFs on one VNI would need two VXLAN devices with the same VNI
        // on one VTEP and port, which the kernel refuses.
        var byVNI: [UInt32: VRFName] = [:]
        for name in mappings.keys.sorted() {
            let m = mappings[name]!
            if let other = byVNI[m.vni] {
                root.sink.add(
                    Diagnostic(
                        m.location, "VNI \(m.vni) is used by both '\(other)' and '\(name)'",
                        fix: "give each VRF its own VNI"))
            } else {
                byVNI[m.vni] = name
            }
        }

        if let f = fields["skipVRFConfig"] {
            skip = Self.uniqueList(f, what: "VRF", VRFName.init(validating:))
            // vrfc would make such a VRF policy-only, the Go operator a full
            // VRF (it looks at vrfConfig, then vnimap, then skip): ambiguous.
            if case .sequence(let s) = f.node {
                for (i, item) in s.items.enumerated() {
                    guard case .scalar(let text) = item, let name = try? VRFName(validating: text.text) else { continue }
                    let found = [("vnimap", vnimap[name]), ("vrfConfig", vrfConfig[name])].compactMap { place, m in
                        m.map { (place, $0.location) }
                    }
                    guard !found.isEmpty else { continue }
                    let places = found.map { "\($0.0) (\($0.1.file)\($0.1.line.map { ":\($0)" } ?? ""))" }
                    f.element(i, item).error(
                        "VRF '\(name)' is in skipVRFConfig and also mapped in \(places.joined(separator: " and "))",
                        fix:
                            "remove it from skipVRFConfig if vrfc should create the VRF and its BGP instance; remove it from \(found.map(\.0).joined(separator: " and ")) if the node's provisioning creates the VRF and vrfc should write only its route-maps and prefix-lists"
                    )
                }
            }
        }
        if let f = fields["bpfInterfaces"] {
            bpfInterfaces = Self.uniqueList(f, what: "interface", InterfaceName.init(validating:))
        }
        if let f = fields["nodeName"], !f.isNull {
            nodeName = f.validated(ObjectName.init(validating:))
            nodeNameLocation = f.location
        }
        if let f = fields["returnPath"], !f.isNull { returnPath = ReturnPathConfig.read(f) }
        if let f = fields["podRoutes"], !f.isNull { podRoutes = PodRoutesConfig.read(f) }
        if let f = fields["serverASN"], let asn = f.integer(in: 0...4_294_967_295) {
            if let why = Self.reservedASNs[asn] {
                f.error("ASN \(asn) is reserved (\(why))", fix: "use a private ASN such as 64512..65534 or 4200000000..4294967294")
            } else {
                serverASN = UInt32(asn)
            }
        }
    }

    /// A mapping keyed by VRF name, with each key validated.
    static func entries(_ f: Field) -> [(VRFName, Field)] {
        guard case .mapping(let m) = f.node else {
            f.error("expected a mapping of VRF names, found \(f.kindName)")
            return []
        }
        var out: [(VRFName, Field)] = []
        for pair in m.pairs {
            let field = f.key(pair.key.text, pair.value)
            do {
                out.append((try VRFName(validating: pair.key.text), field))
            } catch {
                field.error("\(quoted(pair.key.text)) is not a valid VRF name", fix: "expected \(error.expected)")
            }
        }
        return out
    }

    static func uniqueList<T: Hashable & CustomStringConvertible>(_ f: Field, what: String, _ make: (String) throws(NameError) -> T) -> [T]
    {
        var out: [T] = []
        var seen: Set<T> = []
        for element in f.sequence() ?? [] {
            guard let v = element.validated(make) else { continue }
            if seen.insert(v).inserted {
                out.append(v)
            } else {
                element.error("\(what) '\(v)' is listed twice", fix: "list it once")
            }
        }
        return out
    }
}
