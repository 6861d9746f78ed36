// Build tool for the EmbedRouterObject plugin: writes the Swift side of the
// router program's contract from the C headers the program is compiled
// with, so the two can never disagree (as bpf2go does for Go):
//   RouterOutcome  from `enum vrfc_outcome` in bpf/router.h
//   FIBResult      from the BPF_FIB_LKUP_RET_* values in <linux/bpf.h>, plus
//                  VRFC_FIB_ERROR from bpf/router.h
// Case names are the C names without their prefix in lowerCamelCase (IP,
// TTL, FIB and LWT stay upper case); counter names are the same in lower case.
import Foundation

struct Enumerator {
    var suffix: String  // "PASS_NOT_IP"
    var value: Int
    var doc: [String]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RouterContractTool: \(message)\n".utf8))
    exit(1)
}

/// The enumerators named PREFIX* inside the C enum that holds `marker`,
/// with their values (explicit or counted on) and their comments.
func enumerators(in text: String, file: String, marker: String, prefix: String) -> [Enumerator] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let at = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(marker) }),
        let start = lines[...at].lastIndex(where: { $0.hasPrefix("enum") })
    else { fail("\(file): no enum holds \(marker)") }
    var result: [Enumerator] = []
    var next = 0
    var comment: [String] = []
    var inComment = false
    for line in lines[(start + 1)...] {
        var code = line.trimmingCharacters(in: .whitespaces)
        if code.hasPrefix("}") { break }
        if inComment || code.hasPrefix("/*") {
            let body = code.replacingOccurrences(of: "/*", with: "").replacingOccurrences(of: "*/", with: "")
            let text = body.trimmingCharacters(in: .whitespaces).drop { $0 == "*" }.trimmingCharacters(in: .whitespaces)
            if !text.isEmpty { comment.append(text) }
            inComment = !code.contains("*/")
            continue
        }
        var trailing: String? = nil
        if let c = code.range(of: "/*") {
            trailing = code[c.upperBound...].replacingOccurrences(of: "*/", with: "").trimmingCharacters(in: .whitespaces)
            code = String(code[..<c.lowerBound]).trimmingCharacters(in: .whitespaces)
        }
        guard code.hasPrefix(prefix) else {
            comment = []
            continue
        }
        let parts = code.replacingOccurrences(of: ",", with: "").split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
        let name = parts[0]
        if parts.count == 2 {
            guard let v = Int(parts[1]) else { fail("\(file): \(name) = \(parts[1]) is not a number") }
            next = v
        }
        result.append(
            Enumerator(
                suffix: String(name.dropFirst(prefix.count)), value: next,
                doc: comment + (trailing.map { [$0] } ?? [])))
        next += 1
        comment = []
    }
    guard !result.isEmpty else { fail("\(file): no \(prefix)* enumerators") }
    return result
}

func caseName(_ suffix: String) -> String {
    let acronyms: Set<String> = ["IP", "TTL", "FIB", "LWT"]
    return suffix.split(separator: "_").enumerated().map { i, word in
        if acronyms.contains(String(word)) && i > 0 { return String(word) }
        let lower = word.lowercased()
        return i == 0 ? lower : lower.prefix(1).uppercased() + lower.dropFirst()
    }.joined()
}

func swiftEnum(_ name: String, doc: [String], _ cases: [Enumerator]) -> String {
    var s = doc.map { "/// \($0)\n" }.joined()
    s += "public enum \(name): UInt32, CaseIterable, Sendable, Codable {\n"
    for c in cases {
        s += c.doc.map { "    /// \($0)\n" }.joined()
        s += "    case \(caseName(c.suffix)) = \(c.value)\n"
    }
    s += "\n    /// The counter's name: the C name without its prefix, in lower case.\n"
    s += "    public var name: String {\n        switch self {\n"
    for c in cases { s += "        case .\(caseName(c.suffix)): \"\(c.suffix.lowercased())\"\n" }
    s += "        }\n    }\n}\n"
    return s
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.count == 3 else { fail("usage: RouterContractTool ROUTER.H LINUX-BPF.H OUTPUT.swift") }
func read(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self)
}
let router = read(args[0])
let bpf = read(args[1])

let outcomes = enumerators(in: router, file: args[0], marker: "VRFC_OUT_ROUTED", prefix: "VRFC_OUT_")
    .filter { $0.suffix != "COUNT" && $0.suffix != "SLOTS" }
let slots = enumerators(in: router, file: args[0], marker: "VRFC_FIB_SLOTS", prefix: "VRFC_FIB_")
guard let errorSlot = slots.first(where: { $0.suffix == "ERROR" }) else { fail("\(args[0]): no VRFC_FIB_ERROR") }
var fib = enumerators(in: bpf, file: args[1], marker: "BPF_FIB_LKUP_RET_SUCCESS", prefix: "BPF_FIB_LKUP_RET_")
guard fib.allSatisfy({ $0.value < errorSlot.value }) else { fail("<linux/bpf.h> has FIB results at or above VRFC_FIB_ERROR") }
fib.append(
    Enumerator(
        suffix: "ERROR", value: errorSlot.value,
        doc: ["A negative return (invalid arguments, no such ifindex) or a value beyond the known ones."]))

var swift = "// Generated at build time by RouterContractTool from bpf/router.h and <linux/bpf.h>. Do not edit.\n\n"
swift += swiftEnum(
    "RouterOutcome",
    doc: [
        "What the router program did with one packet (`enum vrfc_outcome`, bpf/router.h):",
        "the slot of its counter in the outcome map.",
    ], outcomes)
swift += "\n"
swift += swiftEnum(
    "FIBResult",
    doc: [
        "A bpf_fib_lookup() result (BPF_FIB_LKUP_RET_*, <linux/bpf.h>): the slot of its",
        "counter in the FIB map; VRFC_FIB_ERROR (bpf/router.h) counts the errors.",
    ], fib)
try Data(swift.utf8).write(to: URL(fileURLWithPath: args[2]), options: .atomic)
