import VRFCModel

@testable import VRFCKernel

// The op-list reader as it was before the single-pass one (d546395..2baf51f):
// JSON into a tree (JSONNode), then a decoder walking the tree. Kept here
// only as the reference the differential test compares the shipped reader
// with: for any text, both must accept the same op list or refuse it with
// the same problems, in the same order.

enum ReferenceOpListReader {
    /// 16 MiB: the op list of 50 VRFs is 63 KB, so this allows over 10,000.
    static let maxBytes = 16 << 20
    /// An op list nests four levels (list, link or route, vxlan or nexthop); 32 is generous.
    static let maxDepth = 32
    /// Schema problems reported before giving up.
    static let maxProblems = 20

    static func decode(_ bytes: [UInt8]) throws(OpListError) -> OpList {
        guard bytes.count <= maxBytes else {
            throw OpListError([
                "op list is larger than \(maxBytes >> 20) MiB (\(bytes.count) bytes); an op list of 10,000 VRFs is about 13 MB"
            ])
        }
        var parser = RefJSONParser(bytes: bytes, maxDepth: maxDepth)
        let root: RefJSONNode
        do throws(RefJSONParser.Failure) {
            root = try parser.document()
        } catch {
            throw OpListError(["line \(error.line): not valid JSON: \(error.message)"])
        }
        var d = RefDecoder()
        let ops = d.opList(root)
        if !d.problems.isEmpty { throw OpListError(Array(d.problems.prefix(maxProblems))) }
        return ops!
    }
}

// MARK: - JSON

/// A JSON value with the line it starts on. Objects keep their keys in
/// order; numbers keep their literal, so range checks see what was written.
private struct RefJSONNode {
    enum Value {
        case object([(key: String, node: RefJSONNode)])
        case array([RefJSONNode])
        case string(String)
        case number(String)
        case bool(Bool)
        case null
    }
    var value: Value
    var line: Int

    var typeName: String {
        switch value {
        case .object: "an object"
        case .array: "a list"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// RFC 8259 JSON into a tree, refusing duplicate keys and nesting beyond
/// `maxDepth`; the tokens come from the shared `JSONScanner`.
private struct RefJSONParser {
    struct Failure: Error {
        var line: Int
        var message: String
    }

    var s: JSONScanner
    let maxDepth: Int
    var depth = 0

    init(bytes: [UInt8], maxDepth: Int) {
        s = JSONScanner(bytes)
        self.maxDepth = maxDepth
    }

    mutating func document() throws(Failure) -> RefJSONNode {
        if s.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { s.offset = 3 }  // a UTF-8 byte order mark
        s.skipSpace()
        let v = try value()
        s.skipSpace()
        if let b = s.next { throw fail("unexpected \(describe(b)) after the end of the document") }
        return v
    }

    func fail(_ message: String) -> Failure { Failure(line: s.line, message: message) }

    func describe(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    /// A token the scanner refused, in this reader's words.
    static func failure(_ f: JSONScanner.Failure) -> Failure {
        let message: String
        switch f.kind {
        case .unterminatedString: message = "unexpected end of the document in a string"
        case .controlCharacter(let c): message = "control character 0x\(String(c, radix: 16)) in a string; write it as an escape"
        case .unknownEscape(let e):
            message =
                "unknown escape \\" + (e >= 0x21 && e < 0x7F ? String(Character(UnicodeScalar(e))) : "(byte 0x\(String(e, radix: 16)))")
        case .shortUnicodeEscape: message = "unexpected end of the document in a \\u escape"
        case .badUnicodeEscape: message = "\\u must be followed by four hex digits"
        case .loneHighSurrogate: message = "a high surrogate \\u escape must be followed by a low one"
        case .loneLowSurrogate: message = "a lone low surrogate \\u escape"
        case .notUTF8: message = "a string that is not UTF-8"
        case .numberWithoutDigits: message = "a number needs digits"
        case .numberWithLeadingZero: message = "a number may not have leading zeros"
        case .numberWithoutFractionDigits: message = "a number needs digits after '.'"
        case .numberWithoutExponentDigits: message = "a number needs digits in its exponent"
        }
        return Failure(line: f.line, message: message)
    }

    mutating func string() throws(Failure) -> String {
        do throws(JSONScanner.Failure) { return try s.string() } catch { throw Self.failure(error) }
    }

    mutating func value() throws(Failure) -> RefJSONNode {
        guard let b = s.next else { throw fail("unexpected end of the document") }
        let start = s.line
        switch b {
        case UInt8(ascii: "{"): return RefJSONNode(value: try object(), line: start)
        case UInt8(ascii: "["): return RefJSONNode(value: try array(), line: start)
        case UInt8(ascii: "\""): return RefJSONNode(value: .string(try string()), line: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            do throws(JSONScanner.Failure) {
                return RefJSONNode(value: .number(try s.number()), line: start)
            } catch { throw Self.failure(error) }
        default:
            if s.take("true") { return RefJSONNode(value: .bool(true), line: start) }
            if s.take("false") { return RefJSONNode(value: .bool(false), line: start) }
            if s.take("null") { return RefJSONNode(value: .null, line: start) }
            throw fail("unexpected \(describe(b)), expected a value")
        }
    }

    mutating func nest() throws(Failure) {
        depth += 1
        if depth > maxDepth { throw fail("nested deeper than \(maxDepth) levels; an op list nests four") }
    }

    mutating func object() throws(Failure) -> RefJSONNode.Value {
        try nest()
        defer { depth -= 1 }
        s.offset += 1
        var members: [(key: String, node: RefJSONNode)] = []
        // Duplicates are looked for in the few members an op-list object
        // has; a table of keys only once an object grows large.
        var keyLines: [Int] = []
        var seen: [String: Int]? = nil
        s.skipSpace()
        if s.next == UInt8(ascii: "}") {
            s.offset += 1
            return .object(members)
        }
        while true {
            s.skipSpace()
            guard let b = s.next, b == UInt8(ascii: "\"") else {
                throw fail(s.next.map { "unexpected \(describe($0)), expected a key in quotes" } ?? "unexpected end of the document")
            }
            let keyLine = s.line
            let key = try string()
            let first = seen != nil ? seen![key] : members.firstIndex(where: { $0.key == key }).map { keyLines[$0] }
            if let first {
                throw Failure(line: keyLine, message: "duplicate key \(refQuoted(key)) (first at line \(first)); each key may appear once")
            }
            keyLines.append(keyLine)
            if seen != nil {
                seen![key] = keyLine
            } else if keyLines.count > 16 {
                seen = Dictionary(zip(members.map(\.key) + [key], keyLines), uniquingKeysWith: { a, _ in a })
            }
            s.skipSpace()
            guard s.next == UInt8(ascii: ":") else { throw fail("expected ':' after the key \(refQuoted(key))") }
            s.offset += 1
            s.skipSpace()
            members.append((key, try value()))
            s.skipSpace()
            guard let b = s.next else { throw fail("unexpected end of the document, expected ',' or '}'") }
            if b == UInt8(ascii: ",") {
                s.offset += 1
                continue
            }
            if b == UInt8(ascii: "}") {
                s.offset += 1
                return .object(members)
            }
            throw fail("unexpected \(describe(b)), expected ',' or '}'")
        }
    }

    mutating func array() throws(Failure) -> RefJSONNode.Value {
        try nest()
        defer { depth -= 1 }
        s.offset += 1
        var items: [RefJSONNode] = []
        s.skipSpace()
        if s.next == UInt8(ascii: "]") {
            s.offset += 1
            return .array(items)
        }
        while true {
            s.skipSpace()
            items.append(try value())
            s.skipSpace()
            guard let b = s.next else { throw fail("unexpected end of the document, expected ',' or ']'") }
            if b == UInt8(ascii: ",") {
                s.offset += 1
                continue
            }
            if b == UInt8(ascii: "]") {
                s.offset += 1
                return .array(items)
            }
            throw fail("unexpected \(describe(b)), expected ',' or ']'")
        }
    }
}

/// A user-written string in a message: quoted, control characters escaped,
/// capped, so it can neither forge message lines nor flood the terminal.
private func refQuoted(_ s: String) -> String {
    var out = "'"
    for (n, u) in s.unicodeScalars.enumerated() {
        if n == 64 {
            out += "…"
            break
        }
        switch u {
        case "'": out += "\\'"
        case "\\": out += "\\\\"
        case _ where u.value < 0x20 || u.value == 0x7F || (0x80..<0xA0).contains(u.value):
            out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "'"
}

// MARK: - Schema

/// JSON tree → OpList, collecting every problem with its line and path.
private struct RefDecoder {
    var problems: [String] = []

    mutating func problem(_ node: RefJSONNode, _ path: String, _ what: String) {
        problems.append("line \(node.line): \(path): \(what)")
    }

    /// The members of an object, by key: an op-list object has a handful,
    /// so a look-up is a scan (no hashing per object).
    struct Fields {
        var members: [(key: String, node: RefJSONNode)] = []

        subscript(_ key: String) -> RefJSONNode? { members.first(where: { $0.key == key })?.node }
    }

    /// The members of an object, after refusing unknown and missing keys.
    mutating func fields(_ node: RefJSONNode, _ path: @autoclosure () -> String, required: [String], optional: [String] = []) -> Fields? {
        guard case .object(let members) = node.value else {
            problem(node, path(), "expected an object, found \(node.typeName)")
            return nil
        }
        var out = Fields()
        out.members.reserveCapacity(members.count)
        for (k, v) in members {
            if !required.contains(k) && !optional.contains(k) {
                problem(v, path(), "unknown field \(refQuoted(k)); known fields: \((required + optional).joined(separator: ", "))")
            } else if case .null = v.value, optional.contains(k) {
                continue  // an absent optional, written out
            } else {
                out.members.append((k, v))
            }
        }
        for k in required where out[k] == nil {
            problem(node, path(), "missing field '\(k)'")
        }
        return out
    }

    mutating func string(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> String? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            problem(node, path(), "expected a string, found \(node.typeName)")
            return nil
        }
        return s
    }

    mutating func bool(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> Bool? {
        guard let node else { return nil }
        guard case .bool(let b) = node.value else {
            problem(node, path(), "expected true or false, found \(node.typeName)")
            return nil
        }
        return b
    }

    /// A number as written, cut short: the scanner accepts numbers of any
    /// length, and a message must not grow with the input.
    static func shown(number text: String) -> String {
        text.utf8.count <= 40 ? text : "\(text.prefix(32))… (\(text.utf8.count) characters)"
    }

    /// An integer literal within `T`'s range; anything else is named.
    mutating func integer<T: FixedWidthInteger>(_ node: RefJSONNode?, _ path: @autoclosure () -> String, _: T.Type) -> T? {
        guard let node else { return nil }
        guard case .number(let text) = node.value else {
            problem(node, path(), "expected an integer, found \(node.typeName)")
            return nil
        }
        guard !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            problem(node, path(), "\(Self.shown(number: text)) is not an integer")
            return nil
        }
        guard let v = T(text) else {
            problem(node, path(), "\(Self.shown(number: text)) is out of range (\(T.min)...\(T.max))")
            return nil
        }
        return v
    }

    mutating func interfaceName(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> InterfaceName? {
        guard let node, let s = string(node, path()) else { return nil }
        do throws(NameError) {
            return try InterfaceName(validating: s)
        } catch {
            problem(node, path(), "\(refQuoted(s)) is not an interface name: expected \(error.expected)")
            return nil
        }
    }

    mutating func vrfName(_ node: RefJSONNode?, _ path: String) -> VRFName? {
        guard let node, let s = string(node, path) else { return nil }
        do throws(NameError) {
            return try VRFName(validating: s)
        } catch {
            problem(node, path, "\(refQuoted(s)) is not a VRF name: expected \(error.expected)")
            return nil
        }
    }

    mutating func enumeration<E: RawRepresentable>(_ node: RefJSONNode?, _ path: @autoclosure () -> String, _ all: [E]) -> E?
    where E.RawValue == String {
        guard let node, let s = string(node, path()) else { return nil }
        guard let e = E(rawValue: s) else {
            problem(node, path(), "\(refQuoted(s)) is not one of \(all.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return e
    }

    mutating func list(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> [RefJSONNode]? {
        guard let node else { return nil }
        guard case .array(let items) = node.value else {
            problem(node, path(), "expected a list, found \(node.typeName)")
            return nil
        }
        return items
    }

    mutating func opList(_ root: RefJSONNode) -> OpList? {
        guard
            let f = fields(
                root, "top level", required: ["format", "version", "underlay", "tableRange", "links", "routerAttachments"],
                optional: ["ownedTables", "routes", "rules", "tableNames"])
        else { return nil }
        let format = string(f["format"], "format")
        let version = integer(f["version"], "version", Int.self)
        let underlay = interfaceName(f["underlay"], "underlay")
        var range: TableRange?
        if let t = f["tableRange"], let r = fields(t, "tableRange", required: ["first", "last"]),
            let first = integer(r["first"], "tableRange.first", UInt32.self), let last = integer(r["last"], "tableRange.last", UInt32.self)
        {
            range = TableRange(first: first, last: last)
        }
        var links: [LinkSpec] = []
        for (n, l) in (list(f["links"], "links") ?? []).enumerated() {
            if let spec = link(l, "links[\(n)]") { links.append(spec) }
        }
        var attachments: [InterfaceName] = []
        for (n, a) in (list(f["routerAttachments"], "routerAttachments") ?? []).enumerated() {
            if let name = interfaceName(a, "routerAttachments[\(n)]") { attachments.append(name) }
        }
        var owned: [UInt32] = []
        for (n, t) in (list(f["ownedTables"], "ownedTables") ?? []).enumerated() {
            if let id = integer(t, "ownedTables[\(n)]", UInt32.self) { owned.append(id) }
        }
        var routes: [RouteSpec] = []
        for (n, r) in (list(f["routes"], "routes") ?? []).enumerated() {
            if let spec = route(r, "routes[\(n)]") { routes.append(spec) }
        }
        var rules: [RuleSpec] = []
        for (n, r) in (list(f["rules"], "rules") ?? []).enumerated() {
            if let spec = rule(r, "rules[\(n)]") { rules.append(spec) }
        }
        var tableNames: [TableName] = []
        for (n, t) in (list(f["tableNames"], "tableNames") ?? []).enumerated() {
            let at = "tableNames[\(n)]"
            guard let x = fields(t, at, required: ["table", "name"]) else { continue }
            let table = integer(x["table"], at + ".table", UInt32.self)
            var name: RouteTableName?
            if let node = x["name"], let s = string(node, at + ".name") {
                do throws(NameError) {
                    name = try RouteTableName(validating: s)
                } catch {
                    problem(node, at + ".name", "\(refQuoted(s)) is not a table name: expected \(error.expected)")
                }
            }
            if let table, let name { tableNames.append(TableName(table: table, name: name)) }
        }
        guard problems.isEmpty, let format, let version, let underlay, let range else { return nil }
        var ops = OpList(
            underlay: underlay, tableRange: range, links: links, routerAttachments: attachments,
            ownedTables: owned, routes: routes, rules: rules, tableNames: tableNames)
        ops.format = format
        ops.version = version
        return ops
    }

    mutating func link(_ node: RefJSONNode, _ path: String) -> LinkSpec? {
        guard
            let f = fields(
                node, path, required: ["name", "kind", "vrf", "mtu", "addrGenMode", "macFromUnderlay"],
                optional: ["master", "vxlan", "bridgePort", "peer"])
        else { return nil }
        let name = interfaceName(f["name"], path + ".name")
        let kind: LinkKind? = enumeration(f["kind"], path + ".kind", [.vrf, .bridge, .vxlan, .veth])
        let vrf = vrfName(f["vrf"], path + ".vrf")
        let mtu = integer(f["mtu"], path + ".mtu", Int.self)
        let mode: AddrGenMode? = enumeration(f["addrGenMode"], path + ".addrGenMode", [.eui64, .none])
        let mac = bool(f["macFromUnderlay"], path + ".macFromUnderlay")
        let master = interfaceName(f["master"], path + ".master")
        let peer = interfaceName(f["peer"], path + ".peer")
        var vxlan: VXLANSettings?
        if let v = f["vxlan"], let x = fields(v, path + ".vxlan", required: ["vni", "dstPort", "learning", "device"]),
            let vni = integer(x["vni"], path + ".vxlan.vni", UInt32.self),
            let port = integer(x["dstPort"], path + ".vxlan.dstPort", UInt16.self),
            let learning = bool(x["learning"], path + ".vxlan.learning"),
            let device = interfaceName(x["device"], path + ".vxlan.device")
        {
            vxlan = VXLANSettings(vni: vni, dstPort: port, learning: learning, device: device)
        }
        var bridgePort: BridgePortSettings?
        if let b = f["bridgePort"], let x = fields(b, path + ".bridgePort", required: ["hairpin", "neighSuppress", "learning"]),
            let hairpin = bool(x["hairpin"], path + ".bridgePort.hairpin"),
            let ns = bool(x["neighSuppress"], path + ".bridgePort.neighSuppress"),
            let learning = bool(x["learning"], path + ".bridgePort.learning")
        {
            bridgePort = BridgePortSettings(hairpin: hairpin, neighSuppress: ns, learning: learning)
        }
        guard let name, let kind, let vrf, let mtu, let mode, let mac else { return nil }
        return LinkSpec(
            name: name, kind: kind, vrf: vrf, master: master, mtu: mtu, addrGenMode: mode,
            macFromUnderlay: mac, vxlan: vxlan, bridgePort: bridgePort, peer: peer)
    }

    /// A canonical prefix: the applier never guesses what a sloppy one meant.
    mutating func prefix(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> IPPrefix? {
        guard let node, let s = string(node, path()) else { return nil }
        switch IPPrefix.parse(s) {
        case .success(let p): return p
        case .failure(.notCanonical(let c)): problem(node, path(), "\(refQuoted(s)) is not canonical; the prefix is written '\(c)'")
        case .failure(.missingLength(let c)): problem(node, path(), "\(refQuoted(s)) has no prefix length; write '\(c)'")
        case .failure(.lengthOutOfRange(let max)): problem(node, path(), "\(refQuoted(s)): the prefix length is at most \(max)")
        case .failure(.malformed): problem(node, path(), "\(refQuoted(s)) is not an IPv4 or IPv6 prefix")
        }
        return nil
    }

    /// An address in its canonical spelling (RFC 5952 for IPv6).
    mutating func address(_ node: RefJSONNode?, _ path: @autoclosure () -> String) -> IPAddress? {
        guard let node, let s = string(node, path()) else { return nil }
        guard let a = IPAddress(parsing: s[...]) else {
            problem(node, path(), "\(refQuoted(s)) is not an IPv4 or IPv6 address")
            return nil
        }
        guard a.description == s else {
            problem(node, path(), "\(refQuoted(s)) is not canonical; the address is written '\(a)'")
            return nil
        }
        return a
    }

    mutating func route(_ node: RefJSONNode, _ path: @autoclosure () -> String) -> RouteSpec? {
        // `path` is made only for a message (a thousand routes, none wrong, is the usual case).
        guard let f = fields(node, path(), required: ["table", "destination", "nexthops", "protocol"]) else { return nil }
        let table = integer(f["table"], path() + ".table", UInt32.self)
        let destination = prefix(f["destination"], path() + ".destination")
        let proto = integer(f["protocol"], path() + ".protocol", UInt8.self)
        var nexthops: [Nexthop] = []
        var complete = true
        for (n, h) in (list(f["nexthops"], path() + ".nexthops") ?? []).enumerated() {
            // Built only for a message: a thousand routes are read without a string made per nexthop.
            func at() -> String { path() + ".nexthops[\(n)]" }
            guard let x = fields(h, at(), required: ["weight"], optional: ["gateway", "linkLocalOf", "device"]) else {
                complete = false
                continue
            }
            let gateway = x["gateway"].map { address($0, at() + ".gateway") }
            let linkLocalOf = x["linkLocalOf"].map { address($0, at() + ".linkLocalOf") }
            let device = x["device"].map { interfaceName($0, at() + ".device") }
            guard let weight = integer(x["weight"], at() + ".weight", Int.self),
                gateway.map({ $0 != nil }) ?? true, linkLocalOf.map({ $0 != nil }) ?? true, device.map({ $0 != nil }) ?? true
            else {
                complete = false
                continue
            }
            var hop = Nexthop(gateway: gateway ?? nil, device: device ?? nil, weight: weight)
            hop.linkLocalOf = linkLocalOf ?? nil
            nexthops.append(hop)
        }
        guard complete, let table, let destination, let proto else { return nil }
        return RouteSpec(table: table, destination: destination, nexthops: nexthops, protocol: proto)
    }

    mutating func rule(_ node: RefJSONNode, _ path: String) -> RuleSpec? {
        guard let f = fields(node, path, required: ["priority", "family", "table"], optional: ["from", "to", "fwmark", "fwmask"]) else {
            return nil
        }
        let priority = integer(f["priority"], path + ".priority", UInt32.self)
        let family: AddressFamily? = enumeration(f["family"], path + ".family", AddressFamily.allCases)
        let table = integer(f["table"], path + ".table", UInt32.self)
        let from = f["from"].map { prefix($0, path + ".from") }
        let to = f["to"].map { prefix($0, path + ".to") }
        let mark = f["fwmark"].map { integer($0, path + ".fwmark", UInt32.self) }
        let mask = f["fwmask"].map { integer($0, path + ".fwmask", UInt32.self) }
        guard let priority, let family, let table, from.map({ $0 != nil }) ?? true, to.map({ $0 != nil }) ?? true,
            mark.map({ $0 != nil }) ?? true, mask.map({ $0 != nil }) ?? true
        else { return nil }
        return RuleSpec(
            priority: priority, family: family, from: from ?? nil, to: to ?? nil,
            fwmark: mark ?? nil, fwmask: mask ?? nil, table: table)
    }
}
