import Foundation
import VRFCKernel
import VRFCModel

/// The bundle's and the IR's JSON, written by hand for the parts that are
/// large on a large node (the VRFs' prefix items, the frr.conf texts): the
/// same bytes as `JSONEncoder` with sorted keys and no indentation gives for
/// the `Codable` types (tested on every fixture), in a fraction of its time.
/// The `Codable` conformances stay the one definition of the format; the
/// small, rarely large parts (the op list, routing) still go through them.
public enum BundleJSON {
    /// `JSONEncoder`, sorted keys, compact: the reference this writer matches.
    public static func reference<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own value types cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// The IR, compact: as `reference(ir)`.
    public static func ir(_ ir: NodeIR) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(ir, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ ir: NodeIR, into out: inout [UInt8]) {
        // Everything but the VRFs through the Codable path; "vrfs" sorts
        // last, so its empty list ends that text: the VRFs go in its place.
        var rest = ir
        rest.vrfs = []
        let head = reference(rest)
        precondition(head.hasSuffix(#""vrfs":[]}"#), "the IR's last key is vrfs")
        out += head.utf8.dropLast(2)
        for (i, vrf) in ir.vrfs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            self.vrf(vrf, into: &out)
        }
        out += "]}".utf8
    }

    /// One VRF, as it appears in the IR's `vrfs` list.
    public static func vrf(_ vrf: VRF) -> String {
        var out: [UInt8] = []
        self.vrf(vrf, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func vrf(_ v: VRF, into out: inout [UInt8]) {
        out += #"{"aggregates":["#.utf8
        for (i, p) in v.aggregates.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(p.description, into: &out)
        }
        out += #"],"exports":"#.utf8
        entries(v.exports, into: &out)
        out += #","imports":"#.utf8
        entries(v.imports, into: &out)
        out += #","kind":"#.utf8
        string(v.kind.rawValue, into: &out)
        out += #","name":"#.utf8
        string(v.name.value, into: &out)
        if let rt = v.routeTarget {
            out += #","routeTarget":"#.utf8
            string(rt.value, into: &out)
        }
        if let vni = v.vni {
            out += #","vni":"#.utf8
            out += String(vni).utf8
        }
        out.append(UInt8(ascii: "}"))
    }

    static func entries(_ list: [PolicyEntry], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, e) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            if let c = e.community {
                out += #""community":"#.utf8
                string(c.value, into: &out)
                out.append(UInt8(ascii: ","))
            }
            out += #""ipv4":"#.utf8
            items(e.ipv4, into: &out)
            out += #","ipv6":"#.utf8
            items(e.ipv6, into: &out)
            out += #","seq":"#.utf8
            out += String(e.seq).utf8
            out += #","source":"#.utf8
            string(e.source.value, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    static func items(_ list: [PrefixItem], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, item) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"action":"#.utf8
            string(item.action.rawValue, into: &out)
            if let ge = item.ge {
                out += #","ge":"#.utf8
                out += String(ge).utf8
            }
            if let le = item.le {
                out += #","le":"#.utf8
                out += String(le).utf8
            }
            out += #","prefix":"#.utf8
            string(item.prefix.description, into: &out)
            out += #","seq":"#.utf8
            out += String(item.seq).utf8
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// A bundle, compact, as `reference(bundle)`; the frr.conf texts and
    /// the IR (a string in it) are the bulk.
    public static func bundle(_ b: CompileBundle) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(b.irJSON.utf8.count + 2 * (b.frrConf?.utf8.count ?? 0) + (1 << 16))
        out.append(UInt8(ascii: "{"))
        if let d = b.delta {
            out += #""delta":{"additions":"#.utf8
            out += String(d.additions).utf8
            out += #","basisDigest":"#.utf8
            string(d.basisDigest, into: &out)
            out += #","removals":"#.utf8
            out += String(d.removals).utf8
            out += #","script":"#.utf8
            string(d.script, into: &out)
            out += "},".utf8
        }
        out += #""format":"#.utf8
        string(b.format, into: &out)
        if let frame = b.frame {
            out += #","frame":"#.utf8
            string(frame, into: &out)
        }
        if let conf = b.frrConf {
            out += #","frrConf":"#.utf8
            string(conf, into: &out)
        }
        out += #","irJSON":"#.utf8
        string(b.irJSON, into: &out)
        out += #","ops":"#.utf8
        out += reference(b.ops).utf8
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string as Foundation's encoder writes it (slashes unescaped).
    static func string(_ s: String, into out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for (i, b) in bytes.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out += bytes[start..<i]
                start = i + 1
                switch b {
                case UInt8(ascii: "\""): out += #"\""#.utf8
                case UInt8(ascii: "\\"): out += #"\\"#.utf8
                case 0x0A: out += #"\n"#.utf8
                case 0x0D: out += #"\r"#.utf8
                case 0x09: out += #"\t"#.utf8
                case 0x08: out += #"\b"#.utf8
                case 0x0C: out += #"\f"#.utf8
                default: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
                }
            }
            out += bytes[start...]
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The elements of an IR's `vrfs` list as the texts they are in `json`
    /// (the IR compact, as `ir(_:)` and the `--emit ir` reference write
    /// it), and the IR's text with that list empty; nil when the text is
    /// not of that shape. A reader of a kept IR can then compare each VRF's
    /// text with a new IR's and decode only the VRFs that differ.
    public static func splitVRFs(_ json: String) -> (rest: String, vrfs: [Substring])? {
        // The key's first occurrence, by bytes. Inside a JSON string a quote
        // is escaped, so these bytes are a key wherever they stand; the top
        // level's comes before any the VRFs could hold, and any other shape
        // fails to decode below (the caller then decodes the whole file).
        let key = Array(#","vrfs":["#.utf8)
        guard json.hasSuffix("]}") else { return nil }
        let u = json.utf8
        let offset: Int? =
            u.withContiguousStorageIfAvailable { b -> Int? in
                guard b.count >= key.count else { return nil }
                for i in 0...(b.count - key.count) where b[i] == key[0] && b[i + 1] == key[1] {
                    if (0..<key.count).allSatisfy({ b[i + $0] == key[$0] }) { return i }
                }
                return nil
            } ?? nil
        guard let offset else { return nil }
        let listStart = offset + key.count
        let listEnd = u.count - 2
        // The elements: objects or lists, a comma between each two; any
        // other shape is not this writer's. The list ends the object only
        // if the key was the top level's: what precedes it must be a
        // complete object but for the list (the caller decodes `rest`).
        guard
            let ranges = u.withContiguousStorageIfAvailable({ b in
                try? JSONSplitter.values(in: UnsafeBufferPointer(rebasing: b[listStart..<listEnd]), commas: true)
            }) ?? nil
        else { return nil }
        let base = u.index(u.startIndex, offsetBy: listStart)
        let vrfs = ranges.map { slice(json, base, $0.lowerBound, $0.upperBound) }
        let rest = String(json[..<base]) + "]}"
        return (rest, vrfs)
    }

    static func slice(_ s: String, _ base: String.Index, _ from: Int, _ to: Int) -> Substring {
        let u = s.utf8
        return s[u.index(base, offsetBy: from)..<u.index(base, offsetBy: to)]
    }
}
