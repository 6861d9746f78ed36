import VRFCModel
import VRFCYAML

// MetalLB's configuration, in both shapes clusters have: the CRDs
// (metallb.io BGPPeer, IPAddressPool, BGPAdvertisement) and the legacy
// ConfigMap whose `config` key holds `peers:` and `address-pools:`. vrfc
// reads what decides the return path: each peer's address and which nodes
// peer with it, each pool's addresses, and which pools are announced over
// BGP on which nodes. MetalLB's other fields are accepted as they are
// (MetalLB checks them); unknown fields are errors.

/// A BGP peer of MetalLB's speakers.
public struct MetalLBPeer: Sendable, Equatable {
    /// `BGPPeer "x"`, or `ConfigMap "config": peers[0]`.
    public var label: String
    public var location: SourceLocation
    /// nil for a peer given by `interface` (BGP unnumbered).
    public var address: IPAddress?
    var nodeSelectors: [LabelSelector]
    /// The VRF the session runs in (CRD `spec.vrf`); nil for the default VRF.
    public var vrf: String?
}

/// An address pool.
public struct MetalLBPool: Sendable, Equatable {
    public var name: String
    public var label: String
    public var location: SourceLocation
    /// The pool's addresses as prefixes (a range `A-B` becomes the fewest
    /// prefixes that cover exactly it), sorted.
    public var prefixes: [IPPrefix]
    public var addressesLocation: SourceLocation
    var labels: [String: String]
    /// The legacy ConfigMap says it per pool (`protocol: bgp`); nil for an
    /// IPAddressPool, whose BGPAdvertisements decide.
    public var legacyBGP: Bool?
}

/// Which pools are announced over BGP, from which nodes.
public struct MetalLBAdvertisement: Sendable, Equatable {
    public var label: String
    public var location: SourceLocation
    var poolNames: [String]
    var poolSelectors: [LabelSelector]
    var nodeSelectors: [LabelSelector]

    /// MetalLB's rule: no pool names and no pool selectors means every pool.
    func selects(_ pool: MetalLBPool) -> Bool {
        if poolNames.isEmpty && poolSelectors.isEmpty { return true }
        return poolNames.contains(pool.name) || poolSelectors.contains { $0.matches(pool.labels) }
    }
}

/// A legacy MetalLB ConfigMap.
public struct MetalLBConfigMap: Sendable, Equatable {
    public var label: String
    public var location: SourceLocation
    public var peers: [MetalLBPeer]
    public var pools: [MetalLBPool]
}

enum MetalLB {
    static let group = "metallb.io"
    static let peerVersions = ["metallb.io/v1beta2", "metallb.io/v1beta1"]
    static let poolVersions = ["metallb.io/v1beta1"]
    static let advertisementVersions = ["metallb.io/v1beta1"]
    static let kinds = ["BGPPeer", "IPAddressPool", "BGPAdvertisement"]

    static let peerSpecKeys = [
        "myASN", "peerASN", "dynamicASN", "peerAddress", "sourceAddress", "peerPort", "holdTime", "keepaliveTime",
        "connectTime", "routerID", "nodeSelectors", "password", "passwordSecret", "bfdProfile",
        "enableGracefulRestart", "ebgpMultiHop", "vrf", "disableMP", "dualStackAddressFamily", "interface",
    ]
    static let poolSpecKeys = ["addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation"]
    static let advertisementSpecKeys = [
        "aggregationLength", "aggregationLengthV6", "localPref", "communities",
        "ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors", "peers",
    ]
    static let legacyKeys = ["peers", "address-pools", "bgp-communities", "bfd-profiles"]
    static let legacyPeerKeys = [
        "peer-address", "peer-asn", "my-asn", "peer-port", "hold-time", "keepalive-time", "router-id",
        "source-address", "password", "bfd-profile", "ebgp-multihop", "node-selectors",
    ]
    static let legacyPoolKeys = ["name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips", "bgp-advertisements"]

    /// A MetalLB custom resource: apiVersion, kind, metadata and spec, its
    /// status ignored.
    static func crd(_ raw: Field, kind: String, apiVersions: [String], label: String) -> KubernetesObject? {
        KubernetesObject.read(
            raw, kind: kind, apiVersions: apiVersions, label: label,
            allowed: ["apiVersion", "kind", "metadata", "spec"], ignored: ["status"])
    }

    /// A MetalLB custom resource that must have a spec, and its spec.
    static func crdSpec(
        _ raw: Field, kind: String, apiVersions: [String], label: String, keys: [String]
    ) -> (KubernetesObject, Fields)? {
        guard let o = crd(raw, kind: kind, apiVersions: apiVersions, label: label), let spec = spec(o, keys: keys) else { return nil }
        return (o, spec)
    }

    static func spec(_ o: KubernetesObject, keys: [String]) -> Fields? {
        guard let specField = o.top["spec"] else {
            o.field.error("missing spec")
            return nil
        }
        return specField.mapping(allowed: keys)
    }

    static func readPeer(_ raw: Field, label: String) -> MetalLBPeer? {
        let errorsBefore = raw.sink.items.count
        guard case (let o, let spec)? = crdSpec(raw, kind: "BGPPeer", apiVersions: peerVersions, label: label, keys: peerSpecKeys) else {
            return nil
        }
        let peer = peerFields(
            address: spec["peerAddress"], interface: spec["interface"], vrf: spec["vrf"],
            selectors: spec["nodeSelectors"], label: o.label, at: o.field, labelsKey: "matchLabels", expressionsKey: "matchExpressions")
        guard raw.sink.items.count == errorsBefore else { return nil }
        return peer
    }

    /// What a peer of either shape gives the return path.
    static func peerFields(
        address: Field?, interface: Field?, vrf: Field?, selectors: Field?, label: String, at object: Field,
        labelsKey: String, expressionsKey: String, addressKey: String = "peerAddress"
    ) -> MetalLBPeer? {
        var parsed: IPAddress? = nil
        if let f = address, !f.isNull, let text = f.string() {
            if let a = IPAddress(parsing: text[...]) {
                if a.description == text { parsed = a } else { f.error("\(quoted(text)) is not in canonical form", fix: "write '\(a)'") }
            } else {
                f.error("\(quoted(text)) is not an IPv4 or IPv6 address")
            }
        } else if interface.map({ $0.isNull }) ?? true {
            object.error(
                "missing \(addressKey)",
                fix: interface == nil ? "give the peer's address" : "give the peer's address (or interface for BGP unnumbered)")
        }
        if let i = interface, !i.isNull { _ = i.validated(InterfaceName.init(validating:)) }
        let vrfName = vrf.flatMap { $0.isNull ? nil : $0.string() }.flatMap { $0.isEmpty ? nil : $0 }
        var selectorList: [LabelSelector] = []
        for s in selectors?.sequence() ?? [] {
            if let sel = LabelSelector.read(s, labelsKey: labelsKey, expressionsKey: expressionsKey) { selectorList.append(sel) }
        }
        return MetalLBPeer(label: label, location: (address ?? object).location, address: parsed, nodeSelectors: selectorList, vrf: vrfName)
    }

    static func readPool(_ raw: Field, label: String) -> MetalLBPool? {
        let errorsBefore = raw.sink.items.count
        guard case (let o, let spec)? = crdSpec(raw, kind: "IPAddressPool", apiVersions: poolVersions, label: label, keys: poolSpecKeys)
        else { return nil }
        guard let addresses = spec["addresses"] else {
            o.field.error(
                "missing spec.addresses", fix: "list the pool's prefixes or ranges, e.g. 203.0.113.0/24 or 203.0.113.10-203.0.113.20")
            return nil
        }
        let prefixes = readAddresses(addresses)
        guard raw.sink.items.count == errorsBefore else { return nil }
        return MetalLBPool(
            name: o.name.value, label: o.label, location: o.field.location, prefixes: prefixes,
            addressesLocation: addresses.location, labels: o.labels, legacyBGP: nil)
    }

    static func readAdvertisement(_ raw: Field, label: String) -> MetalLBAdvertisement? {
        let errorsBefore = raw.sink.items.count
        guard
            let o = crd(raw, kind: "BGPAdvertisement", apiVersions: advertisementVersions, label: label)
        else { return nil }
        // An advertisement without spec announces every pool from every node.
        var names: [String] = []
        var pools: [LabelSelector] = []
        var nodes: [LabelSelector] = []
        if let specField = o.top["spec"], !specField.isNull, let spec = specField.mapping(allowed: advertisementSpecKeys) {
            for n in spec["ipAddressPools"]?.sequence() ?? [] {
                if let s = n.validated(ObjectName.init(validating:)) { names.append(s.value) }
            }
            for s in spec["ipAddressPoolSelectors"]?.sequence() ?? [] { if let sel = LabelSelector.read(s) { pools.append(sel) } }
            for s in spec["nodeSelectors"]?.sequence() ?? [] { if let sel = LabelSelector.read(s) { nodes.append(sel) } }
        }
        guard raw.sink.items.count == errorsBefore else { return nil }
        return MetalLBAdvertisement(
            label: o.label, location: o.field.location, poolNames: names, poolSelectors: pools, nodeSelectors: nodes)
    }

    /// A pool's `addresses`: canonical prefixes, or ranges `A-B` of one family.
    static func readAddresses(_ list: Field) -> [IPPrefix] {
        var out: [IPPrefix] = []
        guard let elements = list.sequence() else { return [] }
        if elements.isEmpty { list.error("a pool needs at least one address range") }
        for element in elements {
            guard let text = element.string() else { continue }
            if text.contains("-") {
                let ends = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
                guard ends.count == 2, let a = IPAddress(parsing: ends[0][...]), let b = IPAddress(parsing: ends[1][...]) else {
                    element.error("\(quoted(text)) is not a range FIRST-LAST of two addresses", fix: "write e.g. 203.0.113.10-203.0.113.20")
                    continue
                }
                guard a.family == b.family else {
                    element.error("the range \(quoted(text)) mixes IPv4 and IPv6")
                    continue
                }
                guard a <= b else {
                    element.error("the range \(quoted(text)) ends before it starts", fix: "write \(b)-\(a)")
                    continue
                }
                out += AddressRange.prefixes(from: a, to: b)
            } else if let p = element.prefix() {
                out.append(p)
            }
        }
        return out.sorted()
    }

    /// The legacy ConfigMap (`data.config` holds MetalLB's YAML). The text is
    /// read through the same YAML door; in a literal block (`config: |`) its
    /// lines are the file's, otherwise messages give the line of the key.
    static func readConfigMap(_ raw: Field, label: String) -> MetalLBConfigMap? {
        let errorsBefore = raw.sink.items.count
        guard
            let o = KubernetesObject.read(
                raw, kind: "ConfigMap", apiVersions: ["v1"], label: label,
                allowed: ["apiVersion", "kind", "metadata", "data", "immutable"])
        else { return nil }
        guard let dataField = o.top["data"], let data = dataField.mapping(allowed: ["config"]) else {
            if o.top["data"] == nil {
                o.field.error(
                    "holds no MetalLB configuration (data.config)",
                    fix: "vrfc reads a ConfigMap only as MetalLB's legacy configuration; remove other ConfigMaps from its inputs")
            }
            return nil
        }
        guard let configField = data["config"], case .scalar(let text) = configField.node, !text.isNull else {
            (data["config"] ?? dataField).error(
                "expected MetalLB's configuration as a string under data.config", fix: "write config: | and the YAML below it")
            return nil
        }
        let (docs, failure) = YAMLReader.read(text.text) { $0 }
        let keepsLines = text.style == .literal
        if let e = failure {
            let line = keepsLines ? e.line.map { $0 + text.line } ?? text.line : text.line
            raw.sink.add(
                Diagnostic(
                    SourceLocation(file: raw.context.file, line: line, object: o.label, field: configField.path.description),
                    e.message, fix: e.fix))
            return nil
        }
        let nonEmpty = docs.filter {
            if case .scalar(let s) = $0 { return !s.isNull }
            return true
        }
        guard nonEmpty.count <= 1 else {
            configField.error("holds \(nonEmpty.count) YAML documents", fix: "keep one")
            return nil
        }
        var peers: [MetalLBPeer] = []
        var pools: [MetalLBPool] = []
        if let doc = nonEmpty.first {
            let node = keepsLines ? doc.shifted(by: text.line) : doc.flattened(to: text.line)
            let root = Field(node: node, path: configField.path, context: configField.context)
            if let top = root.mapping(allowed: legacyKeys) {
                for (i, p) in (top["peers"]?.sequence() ?? []).enumerated() {
                    guard let f = p.mapping(allowed: legacyPeerKeys) else { continue }
                    if let peer = peerFields(
                        address: f["peer-address"], interface: nil, vrf: nil, selectors: f["node-selectors"],
                        label: "\(o.label): peers[\(i)]", at: p, labelsKey: "match-labels", expressionsKey: "match-expressions",
                        addressKey: "peer-address")
                    {
                        peers.append(peer)
                    }
                }
                for p in top["address-pools"]?.sequence() ?? [] {
                    guard let f = p.mapping(allowed: legacyPoolKeys) else { continue }
                    guard let name = f["name"]?.validated(ObjectName.init(validating:)) else {
                        if f["name"] == nil { p.error("missing required field 'name'") }
                        continue
                    }
                    var bgp: Bool? = nil
                    if let proto = f["protocol"]?.string() {
                        switch proto {
                        case "bgp": bgp = true
                        case "layer2": bgp = false
                        default: f["protocol"]!.error("\(quoted(proto)) is not a protocol", fix: "use bgp or layer2")
                        }
                    } else if f["protocol"] == nil {
                        p.error("missing required field 'protocol'", fix: "use bgp or layer2")
                    }
                    guard let addresses = f["addresses"] else {
                        p.error("missing required field 'addresses'")
                        continue
                    }
                    let prefixes = readAddresses(addresses)
                    if let bgp {
                        pools.append(
                            MetalLBPool(
                                name: name.value, label: "\(o.label): address-pools \"\(name)\"", location: p.location,
                                prefixes: prefixes, addressesLocation: addresses.location, labels: [:], legacyBGP: bgp))
                    }
                }
            }
        }
        guard raw.sink.items.count == errorsBefore else { return nil }
        return MetalLBConfigMap(label: o.label, location: o.field.location, peers: peers, pools: pools)
    }
}

/// Address ranges as prefixes.
enum AddressRange {
    static func value(_ a: IPAddress) -> UInt128 {
        switch a {
        case .v4(let x): UInt128(x.value)
        case .v6(let x): UInt128(x.high) << 64 | UInt128(x.low)
        }
    }

    static func address(_ v: UInt128, _ family: AddressFamily) -> IPAddress {
        family == .ipv4
            ? .v4(IPv4Address(UInt32(truncatingIfNeeded: v)))
            : .v6(IPv6Address(high: UInt64(truncatingIfNeeded: v >> 64), low: UInt64(truncatingIfNeeded: v)))
    }

    /// The fewest prefixes that cover exactly `first...last`, in order.
    static func prefixes(from first: IPAddress, to last: IPAddress) -> [IPPrefix] {
        let family = first.family
        let bits = family.maxLength
        let end = value(last)
        let top: UInt128 = bits == 128 ? .max : (UInt128(1) << bits) - 1
        var cur = value(first)
        var out: [IPPrefix] = []
        while true {
            // The largest aligned block starting at cur that ends by `end`.
            var size = cur == 0 ? bits : min(cur.trailingZeroBitCount, bits)
            while size > 0 && (size == 128 || cur + ((UInt128(1) << size) - 1) > end) { size -= 1 }
            if size == 127 && cur == 0 && end == .max {
                // Only the whole IPv6 space is larger than 2^127 addresses.
                return [IPPrefix(canonical: address(0, family), length: 0)]
            }
            out.append(IPPrefix(canonical: address(cur, family), length: bits - size))
            let blockEnd = cur + ((UInt128(1) << size) - 1)
            if blockEnd >= end || blockEnd == top { return out }
            cur = blockEnd + 1
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension YNode {
    /// The same tree with every line moved down by `offset`: a document read
    /// from a string that starts on the line after `offset`.
    func shifted(by offset: Int) -> YNode {
        switch self {
        case .scalar(var s):
            s.line += offset
            return .scalar(s)
        case .mapping(var m):
            m.line += offset
            m.pairs = m.pairs.map { p in
                var k = p.key
                k.line += offset
                return YMapping.Pair(key: k, value: p.value.shifted(by: offset))
            }
            return .mapping(m)
        case .sequence(var q):
            q.line += offset
            q.items = q.items.map { $0.shifted(by: offset) }
            return .sequence(q)
        }
    }

    /// The same tree with every node on `line`.
    func flattened(to line: Int) -> YNode {
        switch self {
        case .scalar(var s):
            s.line = line
            return .scalar(s)
        case .mapping(var m):
            m.line = line
            m.pairs = m.pairs.map { p in
                var k = p.key
                k.line = line
                return YMapping.Pair(key: k, value: p.value.flattened(to: line))
            }
            return .mapping(m)
        case .sequence(var q):
            q.line = line
            q.items = q.items.map { $0.flattened(to: line) }
            return .sequence(q)
        }
    }
}
