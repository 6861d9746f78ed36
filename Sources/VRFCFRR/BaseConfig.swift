import VRFCModel

/// The generated sections, named as the hint lines name them.
public enum Hint: String, CaseIterable, Sendable {
    case vrfs = "VRFs"
    case neighbors = "Neighbors"
    case neighborsV4 = "NeighborsV4"
    case neighborsV6 = "NeighborsV6"
    case bgp = "BGP"
    case prefixLists = "PrefixLists"
    case routeMaps = "RouteMaps"

    public var isRequired: Bool { self != .neighborsV6 }

    /// The template file (without `.mustache`) that renders this section.
    public var templateName: String {
        switch self {
        case .vrfs: "vrfs"
        case .neighbors: "neighbors"
        case .neighborsV4: "neighbors_v4"
        case .neighborsV6: "neighbors_v6"
        case .bgp: "bgp"
        case .prefixLists: "prefix_lists"
        case .routeMaps: "route_maps"
        }
    }

    /// Where in FRR's configuration tree the section belongs; a section
    /// elsewhere would pull the base config's following lines into the wrong node.
    var requiredContext: BaseConfig.Context {
        switch self {
        case .neighbors: .bgpDefault
        case .neighborsV4: .bgpDefaultAF("ipv4 unicast")
        case .neighborsV6: .bgpDefaultAF("ipv6 unicast")
        case .vrfs, .bgp, .prefixLists, .routeMaps: .top
        }
    }
}

/// Inline placeholders, replaced wherever they appear in a base config line.
public enum Placeholder: String, CaseIterable, Sendable {
    case hostname = "Hostname"
    case underlayRouterID = "UnderlayRouterID"
}

/// A node's base frr.conf, split into its own lines and hint positions.
/// Accepts hinted files (`#++{{.X}}`, comments FRR boots with) and files that
/// are already templates (`{{.X}}` lines, the Go operator's `frr.conf.tpl`).
public struct BaseConfig: Sendable {
    public enum Segment: Sendable, Equatable {
        case text(String)
        case hint(Hint)
        /// A line holding `{{.Hostname}}` / `{{.UnderlayRouterID}}`, split around them.
        case templated([TextPiece])
    }

    public enum TextPiece: Sendable, Equatable {
        case literal(String)
        case placeholder(Placeholder)
    }

    enum Context: Equatable, CustomStringConvertible {
        case top
        case bgpDefault
        case bgpDefaultAF(String)
        case other(String)

        var description: String {
            switch self {
            case .top: "at the top level (not inside any block)"
            case .bgpDefault: "inside 'router bgp ASN' of the default VRF"
            case .bgpDefaultAF(let af): "inside 'address-family \(af)' of the default VRF's 'router bgp ASN'"
            case .other(let s): s
            }
        }
    }

    public let file: String
    public let segments: [Segment]
    public let placeholders: Set<Placeholder>
    /// ASN of `router bgp N` for the default VRF, when the base config has one.
    public let defaultBGPASN: UInt32?
    let defaultBGPASNLine: Int?
    /// `bgp router-id` of the default VRF's `router bgp`, else zebra's
    /// top-level `router-id` / `ip router-id` (which that instance then uses).
    public let defaultRouterID: RouterIDSetting?

    /// The base config's own `route-map NAME ACTION SEQ` lines.
    public let routeMapEntries: [RouteMapEntry]

    public struct RouteMapEntry: Sendable, Equatable {
        public let name: String
        public let action: String
        public let seq: Int
        public let line: Int
    }

    /// A router-id as the base config writes it, and where.
    public struct RouterIDSetting: Sendable, Equatable {
        public enum Value: Sendable, Equatable {
            case underlayPlaceholder
            case address(IPv4Address)
            /// Not an address vrfc can read; FRR judges it at load.
            case other
        }
        public let value: Value
        public let line: Int
        /// `bgp router-id` or zebra's `router-id`.
        public let statement: String
    }

    public init(text: String, file: String) throws(Diagnostics) {
        self.file = file
        var diags: [Diagnostic] = []
        var segments: [Segment] = []
        var seen: [Hint: Int] = [:]
        var placeholders: Set<Placeholder> = []
        var tracker = ContextTracker()
        var defaultASN: UInt32? = nil
        var defaultASNLine: Int? = nil
        var bgpRouterID: RouterIDSetting? = nil
        var zebraRouterID: RouterIDSetting? = nil
        var routeMapEntries: [RouteMapEntry] = []

        // CR LF is read as LF; a lone CR is refused (see TextLines).
        let lines: [Substring]
        switch TextLines.split(text) {
        case .success(let l): lines = l
        case .failure(let e): throw Diagnostics([Diagnostic(SourceLocation(file: file, line: e.line), e.diagnostic, fix: e.fix)])
        }
        for (index, line) in lines.enumerated() {
            let lineNo = index + 1
            let loc = SourceLocation(file: file, line: lineNo)
            let trimmed = line.trimmingSpaces

            if let hintName = Self.hintName(in: trimmed) {
                guard let hint = Hint(rawValue: hintName) else {
                    diags.append(
                        Diagnostic(
                            loc, "unknown hint '{{.\(hintName)}}'",
                            fix: "use one of " + Hint.allCases.map { "#++{{.\($0.rawValue)}}" }.joined(separator: ", ")))
                    continue
                }
                if let first = seen[hint] {
                    diags.append(
                        Diagnostic(
                            loc, "hint {{.\(hint.rawValue)}} appears twice (first on line \(first))",
                            fix: "keep exactly one"))
                    continue
                }
                seen[hint] = lineNo
                if tracker.context != hint.requiredContext {
                    diags.append(
                        Diagnostic(
                            loc, "hint {{.\(hint.rawValue)}} is \(tracker.context)",
                            fix: "move it \(hint.requiredContext)"))
                }
                segments.append(.hint(hint))
                continue
            }

            if let asn = tracker.feed(trimmed, indented: line.first == " " || line.first == "\t") {
                if defaultASN == nil {
                    defaultASN = asn
                    defaultASNLine = lineNo
                }
            }
            if line.hasPrefix("route-map ") {
                let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if words.count == 4, words[2] == "permit" || words[2] == "deny", let seq = Int(words[3]) {
                    routeMapEntries.append(RouteMapEntry(name: String(words[1]), action: String(words[2]), seq: seq, line: lineNo))
                }
            }
            if let setting = Self.routerIDSetting(
                trimmed, line: lineNo, context: tracker.context, indented: line.first == " " || line.first == "\t")
            {
                if setting.statement == "bgp router-id" { bgpRouterID = setting } else { zebraRouterID = setting }
            }

            if line.contains("{{") {
                switch Self.splitPlaceholders(String(line)) {
                case .success(let pieces):
                    for case .placeholder(let p) in pieces { placeholders.insert(p) }
                    segments.append(.templated(pieces))
                case .failure(let unknown):
                    diags.append(
                        Diagnostic(
                            loc, "unknown placeholder '\(unknown)'",
                            fix: "only " + Placeholder.allCases.map { "{{.\($0.rawValue)}}" }.joined(separator: " and ")
                                + " may appear inside a line; hints stand alone on their line"))
                }
                continue
            }
            segments.append(.text(String(line)))
        }

        for hint in Hint.allCases where hint.isRequired && seen[hint] == nil {
            diags.append(
                Diagnostic(
                    SourceLocation(file: file), "required hint #++{{.\(hint.rawValue)}} is missing",
                    fix: "add it on its own line \(hint.requiredContext)"))
        }
        if !diags.isEmpty { throw Diagnostics(diags) }
        self.segments = segments
        self.placeholders = placeholders
        self.defaultBGPASN = defaultASN
        self.defaultBGPASNLine = defaultASNLine
        self.defaultRouterID = bgpRouterID ?? zebraRouterID
        self.routeMapEntries = routeMapEntries
    }

    /// `bgp router-id X` in the default VRF's `router bgp`, or zebra's
    /// `router-id X` / `ip router-id X` for the default VRF at the top level.
    static func routerIDSetting(_ trimmed: Substring, line: Int, context: Context, indented: Bool) -> RouterIDSetting? {
        let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let statement: String
        let arg: Substring
        if context == .bgpDefault, words.count == 3, words[0] == "bgp", words[1] == "router-id" {
            (statement, arg) = ("bgp router-id", words[2])
        } else if context == .top, !indented, words.count == 2, words[0] == "router-id" {
            (statement, arg) = ("router-id", words[1])
        } else if context == .top, !indented, words.count == 3, words[0] == "ip", words[1] == "router-id" {
            (statement, arg) = ("router-id", words[2])
        } else {
            return nil
        }
        let value: RouterIDSetting.Value
        if let pieces = try? splitPlaceholders(String(arg)).get(), pieces == [.placeholder(.underlayRouterID)] {
            value = .underlayPlaceholder
        } else if let address = IPv4Address(parsing: arg) {
            value = .address(address)
        } else {
            value = .other
        }
        return RouterIDSetting(value: value, line: line, statement: statement)
    }

    /// `#++{{.X}}` or `{{.X}}` alone on a line (surrounding blanks allowed) → "X".
    static func hintName(in trimmed: Substring) -> String? {
        var s = trimmed
        if s.hasPrefix("#++") { s = s.dropFirst(3).trimmingSpaces }
        guard s.hasPrefix("{{"), s.hasSuffix("}}") else { return nil }
        let inner = s.dropFirst(2).dropLast(2).trimmingSpaces
        guard inner.hasPrefix("."), inner.count > 1,
            inner.dropFirst().utf8.allSatisfy({ isIdentChar($0) })
        else { return nil }
        let name = String(inner.dropFirst())
        // Inline placeholders alone on a line are text, not hints.
        if Placeholder(rawValue: name) != nil { return nil }
        return name
    }

    static func splitPlaceholders(_ line: String) -> Result<[TextPiece], PlaceholderError> {
        var pieces: [TextPiece] = []
        var rest = line[...]
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.literal(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                return .failure(PlaceholderError(text: String(rest[open.lowerBound...])))
            }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            guard inner.hasPrefix("."), let p = Placeholder(rawValue: String(inner.dropFirst())) else {
                return .failure(PlaceholderError(text: String(rest[open.lowerBound..<close.upperBound])))
            }
            pieces.append(.placeholder(p))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.literal(String(rest))) }
        return .success(pieces)
    }

    struct PlaceholderError: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }

    /// Follows FRR's configuration tree far enough to know whether a line is at
    /// the top level, in the default VRF's `router bgp`, or in one of its
    /// address families. Blocks end at `exit`, or at an unindented line that
    /// starts a new top-level block, the way FRR prints and humans write them.
    struct ContextTracker {
        private(set) var context: Context = .top

        static let topLevelKeywords: Set<Substring> = [
            "router", "vrf", "interface", "route-map", "line", "end", "ip", "ipv6", "hostname",
            "log", "frr", "access-list", "segment-routing", "mpls", "debug", "agentx", "service",
            "password", "enable", "pbr-map", "nexthop-group", "zebra", "fpm", "bfd", "key", "evpn",
        ]

        /// Returns the ASN when the line opens the default VRF's `router bgp`.
        mutating func feed(_ trimmed: Substring, indented: Bool) -> UInt32? {
            if trimmed.isEmpty || trimmed.hasPrefix("!") || trimmed.hasPrefix("#") { return nil }
            let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let first = words[0]
            if first == "router", words.count >= 3, words[1] == "bgp" {
                let isDefault = words.count == 3 || (words.count == 5 && words[3] == "vrf" && words[4] == "default")
                context = isDefault ? .bgpDefault : .other("inside '\(trimmed)'")
                return isDefault ? UInt32(words[2]) : nil
            }
            switch context {
            case .top:
                if Self.topLevelKeywords.contains(first) && !indented && first != "end" {
                    // e.g. `vrf X`, `interface Y`, `route-map Z`: a block that is not ours.
                    if [
                        "vrf", "interface", "route-map", "router", "line", "segment-routing", "mpls",
                        "pbr-map", "nexthop-group", "bfd", "key",
                    ].contains(first) {
                        context = .other("inside '\(trimmed)'")
                    }
                }
            case .bgpDefault:
                if first == "address-family" {
                    context = .bgpDefaultAF(words.dropFirst().joined(separator: " "))
                } else if first == "exit" || (!indented && Self.topLevelKeywords.contains(first)) {
                    context = .top
                    if first != "exit" { return feed(trimmed, indented: indented) }
                }
            case .bgpDefaultAF:
                if first == "exit-address-family" || first == "exit" {
                    context = .bgpDefault
                } else if !indented && Self.topLevelKeywords.contains(first) {
                    context = .top
                    return feed(trimmed, indented: indented)
                }
            case .other:
                if first == "exit" || first == "exit-vrf" || first == "end" {
                    // `exit` leaves an AF inside another router's block too;
                    // close only when it is unindented.
                    if !indented || first == "exit-vrf" { context = .top }
                } else if !indented && Self.topLevelKeywords.contains(first) {
                    context = .top
                    return feed(trimmed, indented: indented)
                }
            }
            return nil
        }
    }
}

@inline(__always)
func isIdentChar(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == UInt8(ascii: "_")
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
