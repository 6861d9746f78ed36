// vrfc-fuzz: structure-aware fuzzing of `vrfc compile`.
//
// Each case takes a fixture (node config and CRs), mutates its trees
// (types, keys, depth, boundary numbers, control characters, hostile
// strings), writes them in a random form (block or flow YAML, JSON, quoting,
// escapes, CR LF, anchors and aliases, tags, document markers, a few
// damaged bytes) and then
//   1. compares the fast YAML reader with libyaml on every file (in this
//      process: a crash here ends the run, and the case is on disk), and
//   2. runs `vrfc compile` as a subprocess, bounded in time and memory.
// Any crash, hang (timeout), usage error, unlocated or unescaped message,
// or reader disagreement fails the run; the case is kept in --out.
//
// usage: vrfc-fuzz [--seconds N] [--seed S] [--out DIR] [--timeout S]
//        vrfc-fuzz --check FILE   (replay one kept file through both readers)
import Foundation
import VRFCFrontend
import VRFCModel
import VRFCTestSupport
import VRFCYAML

// MARK: options

var seconds = 60.0
var seed = UInt64(Date().timeIntervalSince1970 * 1000)
var outDir = NSTemporaryDirectory() + "vrfc-fuzz"
var timeout = 30.0
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--seconds": seconds = Double(args.popFirst() ?? "") ?? seconds
    case "--seed": seed = UInt64(args.popFirst() ?? "") ?? seed
    case "--out": outDir = args.popFirst() ?? outDir
    case "--timeout": timeout = Double(args.popFirst() ?? "") ?? timeout
    case "--check":
        // Replays one kept file through both readers and prints what each read.
        let path = args.popFirst() ?? ""
        guard let text = readText(path) else {
            print("cannot read \(path)")
            exit(2)
        }
        print("fast:    \(YAMLReaders.fast(text))")
        print("libyaml: \(YAMLReaders.libyaml(text))")
        print("verdict: \(YAMLDifferential.check(text))")
        exit(0)
    default:
        FileHandle.standardError.write(Data("usage: vrfc-fuzz [--seconds N] [--seed S] [--out DIR] [--timeout S]\n".utf8))
        exit(2)
    }
}

// MARK: trees

/// A YAML value as the fuzzer shapes it.
indirect enum Tree {
    case scalar(String, plain: Bool)
    case map([(String, Tree)])
    case list([Tree])

    init(_ node: YNode) {
        switch node {
        case .scalar(let s): self = .scalar(s.text, plain: s.style == .plain)
        case .mapping(let m): self = .map(m.pairs.map { ($0.key.text, Tree($0.value)) })
        case .sequence(let q): self = .list(q.items.map(Tree.init))
        }
    }

    /// Paths to every node, for picking one at random.
    func paths(_ prefix: [Int] = [], into out: inout [[Int]]) {
        out.append(prefix)
        switch self {
        case .scalar: break
        case .map(let pairs): for (i, p) in pairs.enumerated() { p.1.paths(prefix + [i], into: &out) }
        case .list(let items): for (i, t) in items.enumerated() { t.paths(prefix + [i], into: &out) }
        }
    }

    mutating func update(_ path: ArraySlice<Int>, _ f: (inout Tree) -> Void) {
        guard let first = path.first else { return f(&self) }
        switch self {
        case .scalar: return
        case .map(var pairs):
            guard first < pairs.count else { return }
            pairs[first].1.update(path.dropFirst(), f)
            self = .map(pairs)
        case .list(var items):
            guard first < items.count else { return }
            items[first].update(path.dropFirst(), f)
            self = .list(items)
        }
    }
}

var rng = SplitMix64(seed: seed)
func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

let boundaryNumbers = [
    "0", "1", "-1", "+1", "00", "010", "0x10", "1e3", "1_000", "1.0", "65534", "65535", "65536", "4294967295",
    "4294967296", "16777215", "16777216", "18446744073709551615", "18446744073709551616", "99999999999999999999999", ".inf", "~", "",
]
let hostileStrings = [
    "vrf1\nrouter bgp 1", "a b", "x!", "{{.BGP}}", "#++{{.VRFs}}", "$(reboot)", "\u{1B}[2J\u{1B}[31mred", "\u{202E}evil", "a\u{0}b",
    "a\u{7F}b", "a\u{85}b", "a\u{2028}b", "a\rb", "a\r\nb", "\u{FEFF}x", "x\u{FFFE}", "🚀", "ä", "'", "\"", "\\", "*a", "&a", "!!str",
    "---", "...", "- x", "? x", "x: y", "[x", "{x", "# c", "%YAML", "@", "`", String(repeating: "a", count: 5000),
    "10.0.0.1/8", "2001:DB8::/32", "203.0.113.0/24", "65000:100", "no-export", "permit", "deny", "vrf1", "mgmt_vrf",
]
let keyNames = [
    "apiVersion", "kind", "metadata", "name", "spec", "vrf", "seq", "import", "export", "aggregate", "community", "cidr", "action",
    "ge", "le", "items", "status", "vnimap", "vrfConfig", "skipVRFConfig", "bpfInterfaces", "serverASN", "vni", "rt",
]

func randomScalar() -> Tree {
    switch int(0...3) {
    case 0: return .scalar(pick(boundaryNumbers), plain: chance(0.8))
    case 1: return .scalar(pick(hostileStrings), plain: chance(0.3))
    case 2: return .scalar(pick(keyNames), plain: true)
    default:
        // A control character or other odd scalar inside an ordinary value.
        let c = pick([
            "\u{0}", "\u{1}", "\u{8}", "\u{B}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{A0}", "\u{2028}", "\u{FEFF}", "\t", "\r", "\n",
        ])
        return .scalar("x" + c + "y", plain: chance(0.5))
    }
}

func deepen(_ t: Tree, _ levels: Int) -> Tree {
    var t = t
    for _ in 0..<levels { t = chance(0.5) ? .list([t]) : .map([(pick(keyNames), t)]) }
    return t
}

/// One structure-aware change somewhere in the tree.
func mutate(_ tree: inout Tree) {
    var paths: [[Int]] = []
    tree.paths(into: &paths)
    let path = pick(paths)
    tree.update(path[...]) { node in
        switch int(0...9) {
        case 0, 1: node = randomScalar()
        case 2:  // change type
            switch node {
            case .scalar(let s, _):
                node = chance(0.5) ? .list([.scalar(s, plain: true)]) : .map([(s.isEmpty ? "k" : s, .scalar("v", plain: true))])
            case .map(let pairs): node = chance(0.5) ? .list(pairs.map(\.1)) : .scalar("x", plain: true)
            case .list(let items):
                node = chance(0.5) ? .map(items.enumerated().map { ("k\($0.offset)", $0.element) }) : .scalar("", plain: true)
            }
        case 3:  // rename, duplicate or add a key
            if case .map(var pairs) = node, !pairs.isEmpty {
                let i = int(0...(pairs.count - 1))
                switch int(0...3) {
                case 0: pairs[i].0 = pick(keyNames)  // often a duplicate
                case 1: pairs[i].0 = pick(hostileStrings)
                case 2: pairs.append((pick(keyNames) + pick(["", "s", "x", "_"]), randomScalar()))
                default:
                    var k = Array(pairs[i].0)
                    if !k.isEmpty { k.remove(at: int(0...(k.count - 1))) }  // a typo
                    pairs[i].0 = String(k)
                }
                node = .map(pairs)
            } else {
                node = .map([(pick(keyNames), node)])
            }
        case 4:  // deepen
            node = deepen(node, pick([1, 2, 5, 50, 98, 99, 100, 101, 150, 1000]))
        case 5:  // delete or duplicate an element
            switch node {
            case .map(var pairs) where !pairs.isEmpty:
                let i = int(0...(pairs.count - 1))
                if chance(0.5) { pairs.remove(at: i) } else { pairs.append(pairs[i]) }
                node = .map(pairs)
            case .list(var items) where !items.isEmpty:
                let i = int(0...(items.count - 1))
                if chance(0.5) { items.remove(at: i) } else { items.insert(items[i], at: i) }
                node = .list(items)
            default: node = .list([])
            }
        case 6:  // many elements
            node = .list(Array(repeating: node, count: pick([2, 10, 1000])))
        default:  // small change of a scalar
            if case .scalar(let s, let plain) = node {
                node = .scalar(pick([s + "0", "0" + s, s.uppercased(), String(s.dropLast()), s + " ", " " + s, s + s]), plain: plain)
            } else {
                node = randomScalar()
            }
        }
    }
}

// MARK: writing trees as text

struct Style {
    var form: Int  // 0 block YAML, 1 flow YAML, 2 JSON
    var indent: Int
    var anchors: Bool
    var tags: Bool
    var comments: Bool
}

var anchorCount = 0

func plainSafe(_ s: String, flow: Bool) -> Bool {
    guard let f = s.unicodeScalars.first, let l = s.unicodeScalars.last else { return false }
    if "-?:,[]{}#&*!|>'\"%@` ".unicodeScalars.contains(f) || l == " " { return false }
    if s.contains(": ") || s.contains(" #") || s.hasSuffix(":") { return false }
    if flow && s.unicodeScalars.contains(where: { ",[]{}".unicodeScalars.contains($0) }) { return false }
    return s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
}

func doubleQuoted(_ s: String, json: Bool) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += chance(0.5) ? "\\t" : "\t"
        default:
            if u.value < 0x20 || u.value == 0x7F || (chance(0.1) && u.value > 0x7E) {
                if u.value > 0xFFFF {
                    if json || chance(0.5) {
                        let v = u.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    } else {
                        out += String(format: "\\U%08x", u.value)
                    }
                } else {
                    out += String(format: json || chance(0.5) ? "\\u%04x" : (u.value < 0x100 ? "\\x%02x" : "\\u%04X"), u.value)
                }
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

func scalarText(_ s: String, plain: Bool, style: Style, flow: Bool) -> String {
    if style.form == 2 {
        return plain && !s.isEmpty && s.allSatisfy(\.isNumber) ? s : doubleQuoted(s, json: true)
    }
    var prefix = ""
    if style.tags && chance(0.02) { prefix = pick(["!!str ", "!!int ", "! ", "!x "]) }
    if plain && plainSafe(s, flow: flow) { return prefix + s }
    if plain && s.isEmpty { return prefix }
    if chance(0.3) && !s.contains("\n") && !s.contains("\r") { return prefix + "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
    return prefix + doubleQuoted(s, json: false)
}

func keyText(_ k: String, style: Style, flow: Bool) -> String {
    if style.form == 2 { return doubleQuoted(k, json: true) }
    return plainSafe(k, flow: flow) && k.count <= 1024 ? k : doubleQuoted(k, json: false)
}

func anchor(_ style: Style) -> String {
    guard style.anchors, style.form != 2, chance(0.05) else { return "" }
    anchorCount += 1
    return "&a\(anchorCount) "
}

func alias(_ style: Style) -> String? {
    guard style.anchors, style.form != 2, anchorCount > 0, chance(0.03) else { return nil }
    return "*a\(int(1...anchorCount))"
}

func flow(_ t: Tree, _ style: Style) -> String {
    if let a = alias(style) { return a }
    switch t {
    case .scalar(let s, let plain): return scalarText(s, plain: plain, style: style, flow: true)
    case .map(let pairs):
        return anchor(style) + "{"
            + pairs.map { keyText($0.0, style: style, flow: true) + ": " + flow($0.1, style) }.joined(
                separator: pick([", ", ",", ",\n  "])) + "}"
    case .list(let items):
        return anchor(style) + "[" + items.map { flow($0, style) }.joined(separator: pick([", ", ",", ",\n  "])) + "]"
    }
}

func block(_ t: Tree, _ indent: Int, _ style: Style, _ out: inout String) {
    let pad = String(repeating: " ", count: indent)
    switch t {
    case .scalar(let s, let plain):
        out += pad + scalarText(s, plain: plain, style: style, flow: false) + "\n"
    case .map(let pairs) where pairs.isEmpty:
        out += pad + "{}\n"
    case .list(let items) where items.isEmpty:
        out += pad + "[]\n"
    case .map(let pairs):
        for (k, v) in pairs {
            if style.comments && chance(0.02) { out += pad + "# note\n" }
            out += pad + keyText(k, style: style, flow: false) + ":"
            if let a = alias(style) {
                out += " " + a + "\n"
                continue
            }
            switch v {
            case .scalar(let s, let plain): out += " " + scalarText(s, plain: plain, style: style, flow: false) + "\n"
            case .map(let p) where p.isEmpty: out += " {}\n"
            case .list(let i) where i.isEmpty: out += " []\n"
            default:
                if chance(0.1) {
                    out += " " + flow(v, style) + "\n"
                } else {
                    let a = anchor(style)
                    out += (a.isEmpty ? "" : " " + a.dropLast()) + "\n"
                    block(v, indent + style.indent, style, &out)
                }
            }
        }
    case .list(let items):
        for item in items {
            out += pad + "-"
            if let a = alias(style) {
                out += " " + a + "\n"
                continue
            }
            switch item {
            case .scalar(let s, let plain): out += " " + scalarText(s, plain: plain, style: style, flow: false) + "\n"
            default:
                if chance(0.2) {
                    out += " " + flow(item, style) + "\n"
                } else {
                    out += "\n"
                    block(item, indent + style.indent, style, &out)
                }
            }
        }
    }
}

func write(_ docs: [Tree]) -> String {
    let style = Style(
        form: pick([0, 0, 0, 1, 2]), indent: pick([1, 2, 2, 4]), anchors: chance(0.1), tags: chance(0.1), comments: chance(0.3))
    anchorCount = 0
    var text = chance(0.02) ? "\u{FEFF}" : ""
    if style.form == 2 {
        // JSON: one document; several become a List.
        let tree =
            docs.count == 1
            ? docs[0]
            : .map([("apiVersion", .scalar("v1", plain: false)), ("kind", .scalar("List", plain: false)), ("items", .list(docs))])
        text += flow(tree, style) + "\n"
    } else {
        for (i, doc) in docs.enumerated() {
            if i > 0 || chance(0.3) { text += "---\n" }
            if style.form == 1 { text += flow(doc, style) + "\n" } else { block(doc, 0, style, &text) }
            if chance(0.05) { text += "...\n" }
        }
    }
    if chance(0.1) { text = text.replacingOccurrences(of: "\n", with: "\r\n") }
    // A few damaged bytes now and then.
    if chance(0.15) {
        var bytes = Array(text.utf8)
        for _ in 0..<int(1...3) where !bytes.isEmpty {
            let at = int(0...(bytes.count - 1))
            switch int(0...2) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(pick(Array(" \n\r\t-:#'\"{}[],|>&*!?%\u{0}\u{1B}".utf8)), at: at)
            default: bytes[at] = pick(Array(" \n-:#'\"{}[],a1".utf8))
            }
        }
        text = String(decoding: bytes, as: UTF8.self)
    }
    return text
}

// MARK: the corpus: every fixture's config and CR files as trees

struct Seed {
    var config: [Tree]
    var crFiles: [[Tree]]
    var base: String
}

func trees(_ path: String) -> [Tree]? {
    guard let text = readText(path), case .success(let docs) = YAMLReaders.libyaml(text) else { return nil }
    return docs.map(Tree.init)
}

var seeds: [Seed] = []
for fixture in Fixture.all {
    guard let config = trees(fixture.config),
        let names = try? FileManager.default.contentsOfDirectory(atPath: fixture.crs)
    else { continue }
    let crFiles = names.sorted().compactMap { trees(fixture.crs + "/" + $0) }
    seeds.append(Seed(config: config, crFiles: crFiles, base: fixture.base))
}
guard !seeds.isEmpty else {
    FileHandle.standardError.write(Data("vrfc-fuzz: no fixtures found under \(Repo.path("fixtures"))\n".utf8))
    exit(1)
}

// MARK: the run

let vrfc = Repo.executable("vrfc")
guard FileManager.default.isExecutableFile(atPath: vrfc) else {
    FileHandle.standardError.write(Data("vrfc-fuzz: \(vrfc) is not built (swift build)\n".utf8))
    exit(1)
}
try? FileManager.default.removeItem(atPath: outDir)
try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
let work = outDir + "/current"

var stats: [String: Int] = [:]
var failures: [String] = []
let start = Date()
print("vrfc-fuzz: seed \(seed), \(Int(seconds)) s, \(seeds.count) fixtures, cases kept in \(outDir)")

func fail(_ what: String, _ caseNo: Int) {
    let keep = outDir + "/failure-\(failures.count + 1)"
    try? FileManager.default.copyItem(atPath: work, toPath: keep)
    failures.append("case \(caseNo): \(what) (files in \(keep))")
    FileHandle.standardError.write(Data("vrfc-fuzz: case \(caseNo): \(what) (files in \(keep))\n".utf8))
}

var caseNo = 0
while Date().timeIntervalSince(start) < seconds && failures.count < 5 {
    caseNo += 1
    let s = pick(seeds)
    var config = s.config
    var crFiles = s.crFiles
    // Mutate up to four trees: mostly the CRs, sometimes the node config;
    // none in one case of five, so valid nodes in every written form reach
    // the backends too.
    for _ in 0..<(chance(0.2) ? 0 : int(1...4)) {
        if chance(0.25), !config.isEmpty {
            let i = int(0...(config.count - 1))
            mutate(&config[i])
        } else if !crFiles.isEmpty {
            let f = int(0...(crFiles.count - 1))
            if !crFiles[f].isEmpty {
                let d = int(0...(crFiles[f].count - 1))
                mutate(&crFiles[f][d])
            }
        }
    }
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work + "/crs", withIntermediateDirectories: true)
    var files: [(String, String)] = [(work + "/config.yaml", write(config))]
    for (i, docs) in crFiles.enumerated() {
        let json = chance(0.2)
        files.append((work + "/crs/cr\(i).\(json ? "json" : "yaml")", write(docs)))
    }
    for (path, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    // 1. The readers agree (in this process: a crash leaves the case in `current`).
    for (path, text) in files {
        switch YAMLDifferential.check(text) {
        case .agree(let how): stats["fast reader " + how, default: 0] += 1
        case .disagree(let why):
            stats["reader disagreements", default: 0] += 1
            fail("\(why): \((path as NSString).lastPathComponent)", caseNo)
        }
    }

    // 2. The compiler, as a subprocess with a time and memory bound.
    let emit =
        chance(0.5)
        ? ["--emit", "frr", "--template", s.base, "--hostname", "node-a", "--router-id", "192.0.2.129"] : ["--emit", pick(["ir", "ops"])]
    let r = try Shell.run(
        ["/usr/bin/prlimit", "--as=4294967296", "--", vrfc, "compile", "--config", work + "/config.yaml"] + emit + [work + "/crs"],
        timeout: timeout)
    stats["compiles", default: 0] += 1
    if r.timedOut {
        stats["hangs", default: 0] += 1
        fail("vrfc did not finish within \(Int(timeout)) s", caseNo)
        continue
    }
    if r.signalled {
        stats["crashes", default: 0] += 1
        fail("vrfc crashed (exit \(r.status)): \(r.stderr.suffix(2000))", caseNo)
        continue
    }
    switch r.status {
    case 0:
        stats["exit 0", default: 0] += 1
        if r.stdout.isEmpty { fail("exit 0 without output", caseNo) }
    case 1:
        stats["exit 1", default: 0] += 1
        var lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let summary = lines.popLast(), summary.wholeMatch(of: /vrfc: \d+ errors?; nothing was written/) != nil else {
            fail("no summary line: \(r.stderr.suffix(500))", caseNo)
            continue
        }
        for line in lines {
            // Every message names a file of this case and a line in it.
            guard line.hasPrefix(work) || line.hasPrefix(s.base), line.wholeMatch(of: /[^:]+:\d+: error: .+/) != nil else {
                stats["unlocated messages", default: 0] += 1
                fail("unlocated message: \(line.prefix(300))", caseNo)
                break
            }
        }
        if r.stderr.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n") || UserText.isUnsafe($0.value) && $0 != "\n" }) {
            fail("an unescaped control character in the messages", caseNo)
        }
        stats["messages", default: 0] += lines.count
    default:
        fail("exit \(r.status): \(r.stderr.suffix(500))", caseNo)
    }
}

let elapsed = Date().timeIntervalSince(start)
print("vrfc-fuzz: \(caseNo) cases in \(Int(elapsed)) s (seed \(seed))")
for (k, v) in stats.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
if failures.isEmpty {
    try? FileManager.default.removeItem(atPath: work)
    print("vrfc-fuzz: no crash, hang, unlocated message or reader disagreement")
} else {
    print("vrfc-fuzz: \(failures.count) failure(s):")
    for f in failures { print("  " + f) }
    exit(1)
}
