import VRFCModel

/// Reads an op list from its JSON text, strictly. The op list is what the
/// privileged applier executes, and it may come from a file anyone could
/// have edited, so everything a lenient decoder lets through is refused
/// here: unknown fields (a typo would silently mean "default"), duplicate
/// keys (which one wins differs between readers), numbers out of their
/// type's range (named as such, with their line), nesting deeper than an
/// op list ever is, and texts over `maxBytes`. Errors carry the line and the
/// JSON path. A small reader of its own rather than Foundation's: it keeps
/// key order, duplicates and number literals, which JSONDecoder hides.
///
/// One pass over the text (`JSONCursor`), straight into the op list's
/// types: no tree of the document is built first, since reading the op
/// list is a sizeable part of an apply's own work (a thousand routes).
/// Text that is not JSON is refused with that one failure, wherever it is;
/// otherwise every schema problem is collected (the first `maxProblems`
/// are given), in the order the schema reads the fields, not the text's.
public enum OpListReader {
    /// 16 MiB: the op list of 50 VRFs is 63 KB, so this allows over 10,000.
    public static let maxBytes = 16 << 20
    /// An op list nests four levels (list, link or route, vxlan or nexthop); 32 is generous.
    public static let maxDepth = 32
    /// Schema problems reported before giving up.
    static let maxProblems = 20

    public static func decode(_ bytes: [UInt8]) throws(OpListError) -> OpList {
        guard bytes.count <= maxBytes else {
            throw OpListError([
                "op list is larger than \(maxBytes >> 20) MiB (\(bytes.count) bytes); an op list of 10,000 VRFs is about 13 MB"
            ])
        }
        var d = OpListDecoder(bytes: bytes, maxDepth: maxDepth)
        let ops: OpList?
        do throws(JSONCursor.Failure) {
            ops = try d.document()
        } catch {
            throw OpListError(["line \(error.line): not valid JSON: \(error.message)"])
        }
        if !d.problems.isEmpty { throw OpListError(Array(d.problems.prefix(maxProblems))) }
        guard let ops else { throw OpListError(["the op list could not be read"]) }
        return ops
    }
}

extension JSONCursor.Keys {
    typealias Keys = JSONCursor.Keys

    static let top = Keys(
        required: ["format", "version", "underlay", "tableRange", "links", "routerAttachments"],
        optional: ["ownedTables", "routes", "rules", "tableNames"])
    static let tableRange = Keys(required: ["first", "last"])
    static let link = Keys(
        required: ["name", "kind", "vrf", "mtu", "addrGenMode", "macFromUnderlay"], optional: ["master", "vxlan", "bridgePort", "peer"],
        order: ["name", "kind", "vrf", "mtu", "addrGenMode", "macFromUnderlay", "master", "peer", "vxlan", "bridgePort"])
    static let vxlan = Keys(required: ["vni", "dstPort", "learning", "device"])
    static let bridgePort = Keys(required: ["hairpin", "neighSuppress", "learning"])
    static let route = Keys(
        required: ["table", "destination", "nexthops", "protocol"], order: ["table", "destination", "protocol", "nexthops"])
    static let nexthop = Keys(
        required: ["weight"], optional: ["gateway", "linkLocalOf", "device"], order: ["gateway", "linkLocalOf", "device", "weight"])
    static let rule = Keys(required: ["priority", "family", "table"], optional: ["from", "to", "fwmark", "fwmask"])
    static let tableName = Keys(required: ["table", "name"])
}

/// The op list's schema over a `JSONCursor`, collecting every problem with
/// its line and path. Each read function starts with the cursor at its
/// value and leaves it after; a value of the wrong type is passed over
/// (still checked) and named.
struct OpListDecoder {
    typealias Failure = JSONCursor.Failure
    typealias Keys = JSONCursor.Keys

    var c: JSONCursor
    var problems: [String] = []

    init(bytes: [UInt8], maxDepth: Int) { c = JSONCursor(bytes: bytes, maxDepth: maxDepth) }

    mutating func problem(_ line: Int, _ path: String, _ what: String) {
        problems.append("line \(line): \(path): \(what)")
    }

    /// The value at the cursor is not the `expected` kind: passed over, and named.
    mutating func mismatch(_ expected: String, _ path: () -> String) throws(Failure) {
        let line = c.line
        let found = c.kindName
        try c.skipValue()  // refuses what is no value at all
        problem(line, path(), "expected \(expected), found \(found ?? "a value")")
    }

    // MARK: Objects

    /// One object being read: its keys, and where its problems are.
    struct Object {
        let keys: Keys
        let line: Int
        /// `problems.count` when it began: its problems are those after.
        let mark: Int
        var members = JSONCursor.Members()
        /// Known fields with a value (an optional one written as null is absent).
        var present: UInt32 = 0
        var more: Bool
        var started = false
        /// The field whose value is being read, and the problems before it.
        var current = -1
        var before = 0
        /// Runs of problems by rank (0: unknown fields, 1: missing fields,
        /// 2 + i: field i in evaluation order): the text's order is not the
        /// schema's, and problems are given in the schema's. None in a good op list.
        var runs: [(rank: Int, start: Int, end: Int)] = []
    }

    /// At an object: begins reading it; nil (and the value named) for anything else.
    mutating func beginObject(_ keys: Keys, _ path: () -> String) throws(Failure) -> Object? {
        guard c.atObject else {
            try mismatch("an object", path)
            return nil
        }
        let line = c.line
        let more = try c.enterObject()
        return Object(keys: keys, line: line, mark: problems.count, more: more)
    }

    mutating func note(_ o: inout Object, rank: Int, since start: Int) {
        if problems.count > start { o.runs.append((rank, start, problems.count)) }
    }

    /// The next known field with a value, the cursor at it; nil once the
    /// object is read. Unknown fields are named and passed over here.
    mutating func nextField(_ o: inout Object, _ path: () -> String) throws(Failure) -> Int? {
        if o.current >= 0 {
            note(&o, rank: 2 + o.current, since: o.before)
            o.current = -1
        }
        while true {
            if o.started {
                guard try c.nextMember() else { return nil }
            } else {
                o.started = true
                guard o.more else { return nil }
            }
            switch try c.key(o.keys, &o.members) {
            case .other(let key):
                let line = c.line
                let start = problems.count
                try c.skipValue()
                problem(line, path(), "unknown field \(quoted(key)); known fields: \(o.keys.listed)")
                note(&o, rank: 0, since: start)
            case .known(let i):
                if o.keys.isOptional(i) && c.atNull {
                    try c.skipValue()  // an absent optional, written out
                    continue
                }
                o.present |= 1 << UInt32(i)
                o.current = i
                o.before = problems.count
                return i
            }
        }
    }

    /// After the last field: names the missing ones and puts the object's
    /// problems in the schema's order. `through`: fields after this one in
    /// evaluation order have their problems dropped (a field that is read
    /// only once those before it are good).
    mutating func endObject(_ o: inout Object, _ path: () -> String, through last: Int = .max) {
        let start = problems.count
        for i in o.keys.required where o.present & 1 << UInt32(i) == 0 {
            problem(o.line, path(), "missing field '\(o.keys.names[i])'")
        }
        note(&o, rank: 1, since: start)
        guard !o.runs.isEmpty else { return }
        let runs = o.runs.sorted { ($0.rank, $0.start) < ($1.rank, $1.start) }
        var ordered: [String] = []
        for r in runs where r.rank < 2 || r.rank - 2 <= last { ordered += problems[r.start..<r.end] }
        problems.replaceSubrange(o.mark..., with: ordered)
    }

    // MARK: Scalars

    mutating func string(_ path: @autoclosure () -> String) throws(Failure) -> String? {
        guard c.atString else {
            try mismatch("a string", path)
            return nil
        }
        return try c.string()
    }

    mutating func bool(_ path: @autoclosure () -> String) throws(Failure) -> Bool? {
        guard c.atBool else {
            try mismatch("true or false", path)
            return nil
        }
        return try c.literal()
    }

    /// A number as written, cut short: the scanner accepts numbers of any
    /// length, and a message must not grow with the input.
    static func shown(number text: String) -> String {
        text.utf8.count <= 40 ? text : "\(text.prefix(32))… (\(text.utf8.count) characters)"
    }

    /// An integer literal within `T`'s range; anything else is named.
    mutating func integer<T: FixedWidthInteger>(_ path: @autoclosure () -> String, _: T.Type) throws(Failure) -> T? {
        guard c.atNumber else {
            try mismatch("an integer", path)
            return nil
        }
        let line = c.line
        let r = try c.number()
        // Plain digits (the scanner refused leading zeros): their value, without a String.
        if r.count <= 18 {
            let v: UInt64? = c.bytes.withUnsafeBufferPointer { b in
                var v: UInt64 = 0
                for i in r {
                    let d = b[i] &- UInt8(ascii: "0")
                    guard d <= 9 else { return nil }
                    v = v * 10 + UInt64(d)
                }
                return v
            }
            if let v, v <= UInt64(T.max) { return T(v) }
        }
        let text = String(decoding: c.bytes[r], as: UTF8.self)
        guard !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            problem(line, path(), "\(Self.shown(number: text)) is not an integer")
            return nil
        }
        guard let v = T(text) else {
            problem(line, path(), "\(Self.shown(number: text)) is out of range (\(T.min)...\(T.max))")
            return nil
        }
        return v
    }

    mutating func interfaceName(_ path: @autoclosure () -> String) throws(Failure) -> InterfaceName? {
        let line = c.line
        guard let s = try string(path()) else { return nil }
        do throws(NameError) {
            return try InterfaceName(validating: s)
        } catch {
            problem(line, path(), "\(quoted(s)) is not an interface name: expected \(error.expected)")
            return nil
        }
    }

    mutating func vrfName(_ path: @autoclosure () -> String) throws(Failure) -> VRFName? {
        let line = c.line
        guard let s = try string(path()) else { return nil }
        do throws(NameError) {
            return try VRFName(validating: s)
        } catch {
            problem(line, path(), "\(quoted(s)) is not a VRF name: expected \(error.expected)")
            return nil
        }
    }

    mutating func enumeration<E: RawRepresentable>(_ path: @autoclosure () -> String, _ all: [E]) throws(Failure) -> E?
    where E.RawValue == String {
        let line = c.line
        guard let s = try string(path()) else { return nil }
        guard let e = E(rawValue: s) else {
            problem(line, path(), "\(quoted(s)) is not one of \(all.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return e
    }

    /// A canonical prefix: the applier never guesses what a sloppy one meant.
    mutating func prefix(_ path: @autoclosure () -> String) throws(Failure) -> IPPrefix? {
        let line = c.line
        guard let s = try string(path()) else { return nil }
        switch IPPrefix.parse(s) {
        case .success(let p): return p
        case .failure(.notCanonical(let canonical)):
            problem(line, path(), "\(quoted(s)) is not canonical; the prefix is written '\(canonical)'")
        case .failure(.missingLength(let suggestion)): problem(line, path(), "\(quoted(s)) has no prefix length; write '\(suggestion)'")
        case .failure(.lengthOutOfRange(let max)): problem(line, path(), "\(quoted(s)): the prefix length is at most \(max)")
        case .failure(.malformed): problem(line, path(), "\(quoted(s)) is not an IPv4 or IPv6 prefix")
        }
        return nil
    }

    /// An address in its canonical spelling (RFC 5952 for IPv6).
    mutating func address(_ path: @autoclosure () -> String) throws(Failure) -> IPAddress? {
        let line = c.line
        guard let s = try string(path()) else { return nil }
        guard let a = IPAddress(parsing: s[...]) else {
            problem(line, path(), "\(quoted(s)) is not an IPv4 or IPv6 address")
            return nil
        }
        guard a.isSpelled(s) else {
            problem(line, path(), "\(quoted(s)) is not canonical; the address is written '\(a)'")
            return nil
        }
        return a
    }

    // MARK: The op list

    mutating func document() throws(Failure) -> OpList? {
        c.begin()
        let ops = try opList()
        try c.end()
        return ops
    }

    mutating func opList() throws(Failure) -> OpList? {
        let path = { "top level" }
        guard var o = try beginObject(.top, path) else { return nil }
        var format: String?
        var version: Int?
        var underlay: InterfaceName?
        var range: TableRange?
        var links: [LinkSpec] = []
        var attachments: [InterfaceName] = []
        var owned: [UInt32] = []
        var routes: [RouteSpec] = []
        var rules: [RuleSpec] = []
        var tableNames: [TableName] = []
        while let field = try nextField(&o, path) {
            switch field {
            case 0: format = try string("format")
            case 1: version = try integer("version", Int.self)
            case 2: underlay = try interfaceName("underlay")
            case 3: range = try tableRange()
            case 4:
                try list("links") { d, n throws(Failure) in
                    if let spec = try d.link({ "links[\(n)]" }) { links.append(spec) }
                }
            case 5:
                try list("routerAttachments") { d, n throws(Failure) in
                    if let name = try d.interfaceName("routerAttachments[\(n)]") { attachments.append(name) }
                }
            case 6:
                try list("ownedTables") { d, n throws(Failure) in
                    if let id = try d.integer("ownedTables[\(n)]", UInt32.self) { owned.append(id) }
                }
            case 7:
                try list("routes") { d, n throws(Failure) in
                    if let spec = try d.route({ "routes[\(n)]" }) { routes.append(spec) }
                }
            case 8:
                try list("rules") { d, n throws(Failure) in
                    if let spec = try d.rule({ "rules[\(n)]" }) { rules.append(spec) }
                }
            default:
                try list("tableNames") { d, n throws(Failure) in
                    if let name = try d.tableName({ "tableNames[\(n)]" }) { tableNames.append(name) }
                }
            }
        }
        endObject(&o, path)
        guard problems.isEmpty, let format, let version, let underlay, let range else { return nil }
        var ops = OpList(
            underlay: underlay, tableRange: range, links: links, routerAttachments: attachments,
            ownedTables: owned, routes: routes, rules: rules, tableNames: tableNames)
        ops.format = format
        ops.version = version
        return ops
    }

    /// The items of a list, each read by `item` with its index.
    mutating func list(_ path: @autoclosure () -> String, _ item: (inout Self, Int) throws(Failure) -> Void) throws(Failure) {
        guard c.atArray else { return try mismatch("a list", path) }
        guard try c.enterArray() else { return }
        var n = 0
        repeat {
            try item(&self, n)
            n += 1
        } while try c.nextElement()
    }

    mutating func tableRange() throws(Failure) -> TableRange? {
        let path = { "tableRange" }
        guard var o = try beginObject(.tableRange, path) else { return nil }
        var first: UInt32?
        var last: UInt32?
        while let field = try nextField(&o, path) {
            if field == 0 {
                first = try integer("tableRange.first", UInt32.self)
            } else {
                last = try integer("tableRange.last", UInt32.self)
            }
        }
        // `last` is read only once `first` is good.
        endObject(&o, path, through: first == nil ? 0 : 1)
        guard let first, let last else { return nil }
        return TableRange(first: first, last: last)
    }

    mutating func tableName(_ path: () -> String) throws(Failure) -> TableName? {
        guard var o = try beginObject(.tableName, path) else { return nil }
        var table: UInt32?
        var name: RouteTableName?
        while let field = try nextField(&o, path) {
            if field == 0 {
                table = try integer(path() + ".table", UInt32.self)
            } else {
                let line = c.line
                if let s = try string(path() + ".name") {
                    do throws(NameError) {
                        name = try RouteTableName(validating: s)
                    } catch {
                        problem(line, path() + ".name", "\(quoted(s)) is not a table name: expected \(error.expected)")
                    }
                }
            }
        }
        endObject(&o, path)
        guard let table, let name else { return nil }
        return TableName(table: table, name: name)
    }

    mutating func link(_ path: () -> String) throws(Failure) -> LinkSpec? {
        guard var o = try beginObject(.link, path) else { return nil }
        var name: InterfaceName?
        var kind: LinkKind?
        var vrf: VRFName?
        var mtu: Int?
        var mode: AddrGenMode?
        var mac: Bool?
        var master: InterfaceName?
        var peer: InterfaceName?
        var vxlan: VXLANSettings?
        var bridgePort: BridgePortSettings?
        while let field = try nextField(&o, path) {
            switch field {
            case 0: name = try interfaceName(path() + ".name")
            case 1: kind = try enumeration(path() + ".kind", [LinkKind.vrf, .bridge, .vxlan, .veth])
            case 2: vrf = try vrfName(path() + ".vrf")
            case 3: mtu = try integer(path() + ".mtu", Int.self)
            case 4: mode = try enumeration(path() + ".addrGenMode", [AddrGenMode.eui64, .none])
            case 5: mac = try bool(path() + ".macFromUnderlay")
            case 6: master = try interfaceName(path() + ".master")
            case 7: peer = try interfaceName(path() + ".peer")
            case 8: vxlan = try vxlanSettings({ path() + ".vxlan" })
            default: bridgePort = try bridgePortSettings({ path() + ".bridgePort" })
            }
        }
        endObject(&o, path)
        guard let name, let kind, let vrf, let mtu, let mode, let mac else { return nil }
        return LinkSpec(
            name: name, kind: kind, vrf: vrf, master: master, mtu: mtu, addrGenMode: mode,
            macFromUnderlay: mac, vxlan: vxlan, bridgePort: bridgePort, peer: peer)
    }

    mutating func vxlanSettings(_ path: () -> String) throws(Failure) -> VXLANSettings? {
        guard var o = try beginObject(.vxlan, path) else { return nil }
        var vni: UInt32?
        var port: UInt16?
        var learning: Bool?
        var device: InterfaceName?
        while let field = try nextField(&o, path) {
            switch field {
            case 0: vni = try integer(path() + ".vni", UInt32.self)
            case 1: port = try integer(path() + ".dstPort", UInt16.self)
            case 2: learning = try bool(path() + ".learning")
            default: device = try interfaceName(path() + ".device")
            }
        }
        // Each field is read only once those before it are good.
        endObject(&o, path, through: vni == nil ? 0 : port == nil ? 1 : learning == nil ? 2 : 3)
        guard let vni, let port, let learning, let device else { return nil }
        return VXLANSettings(vni: vni, dstPort: port, learning: learning, device: device)
    }

    mutating func bridgePortSettings(_ path: () -> String) throws(Failure) -> BridgePortSettings? {
        guard var o = try beginObject(.bridgePort, path) else { return nil }
        var hairpin: Bool?
        var suppress: Bool?
        var learning: Bool?
        while let field = try nextField(&o, path) {
            switch field {
            case 0: hairpin = try bool(path() + ".hairpin")
            case 1: suppress = try bool(path() + ".neighSuppress")
            default: learning = try bool(path() + ".learning")
            }
        }
        // Each field is read only once those before it are good.
        endObject(&o, path, through: hairpin == nil ? 0 : suppress == nil ? 1 : 2)
        guard let hairpin, let suppress, let learning else { return nil }
        return BridgePortSettings(hairpin: hairpin, neighSuppress: suppress, learning: learning)
    }

    mutating func route(_ path: () -> String) throws(Failure) -> RouteSpec? {
        // `path` is made only for a message (a thousand routes, none wrong, is the usual case).
        guard var o = try beginObject(.route, path) else { return nil }
        var table: UInt32?
        var destination: IPPrefix?
        var proto: UInt8?
        var nexthops: [Nexthop] = []
        var complete = true
        while let field = try nextField(&o, path) {
            switch field {
            case 0: table = try integer(path() + ".table", UInt32.self)
            case 1: destination = try prefix(path() + ".destination")
            case 2: proto = try integer(path() + ".protocol", UInt8.self)
            default:
                try list(path() + ".nexthops") { d, n throws(Failure) in
                    if let hop = try d.nexthop({ path() + ".nexthops[\(n)]" }) { nexthops.append(hop) } else { complete = false }
                }
            }
        }
        endObject(&o, path)
        guard complete, let table, let destination, let proto else { return nil }
        return RouteSpec(table: table, destination: destination, nexthops: nexthops, protocol: proto)
    }

    mutating func nexthop(_ path: () -> String) throws(Failure) -> Nexthop? {
        guard var o = try beginObject(.nexthop, path) else { return nil }
        var gateway: IPAddress?
        var linkLocalOf: IPAddress?
        var device: InterfaceName?
        var weight: Int?
        var complete = true
        while let field = try nextField(&o, path) {
            switch field {
            case 0:
                gateway = try address(path() + ".gateway")
                if gateway == nil { complete = false }
            case 1:
                linkLocalOf = try address(path() + ".linkLocalOf")
                if linkLocalOf == nil { complete = false }
            case 2:
                device = try interfaceName(path() + ".device")
                if device == nil { complete = false }
            default: weight = try integer(path() + ".weight", Int.self)
            }
        }
        endObject(&o, path)
        guard complete, let weight else { return nil }
        var hop = Nexthop(gateway: gateway, device: device, weight: weight)
        hop.linkLocalOf = linkLocalOf
        return hop
    }

    mutating func rule(_ path: () -> String) throws(Failure) -> RuleSpec? {
        guard var o = try beginObject(.rule, path) else { return nil }
        var priority: UInt32?
        var family: AddressFamily?
        var table: UInt32?
        var from: IPPrefix?
        var to: IPPrefix?
        var mark: UInt32?
        var mask: UInt32?
        var complete = true
        while let field = try nextField(&o, path) {
            switch field {
            case 0: priority = try integer(path() + ".priority", UInt32.self)
            case 1: family = try enumeration(path() + ".family", AddressFamily.allCases)
            case 2: table = try integer(path() + ".table", UInt32.self)
            case 3:
                from = try prefix(path() + ".from")
                if from == nil { complete = false }
            case 4:
                to = try prefix(path() + ".to")
                if to == nil { complete = false }
            case 5:
                mark = try integer(path() + ".fwmark", UInt32.self)
                if mark == nil { complete = false }
            default:
                mask = try integer(path() + ".fwmask", UInt32.self)
                if mask == nil { complete = false }
            }
        }
        endObject(&o, path)
        guard complete, let priority, let family, let table else { return nil }
        return RuleSpec(priority: priority, family: family, from: from, to: to, fwmark: mark, fwmask: mask, table: table)
    }
}
