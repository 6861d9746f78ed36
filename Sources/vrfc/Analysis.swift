import ArgumentParser
import Foundation
import VRFCAnalysis
import VRFCCLI
import VRFCDriver
import VRFCModel

// vrfc diff, explain and graph: the routing intent of compiled inputs, read
// through one evaluator of FRR's route-map semantics (VRFCAnalysis).

extension Exit {
    /// `vrfc diff`: the routing intent changed (CI can ask for an approval).
    static let changes: Int32 = 4
}

/// Compiles inputs to IR, or reports their problems and exits 1.
func compileIR(config: String, inputs: [String]) throws -> NodeIR {
    do throws(Diagnostics) {
        return try Compiler.ir(.init(config: config, objects: inputs))
    } catch {
        report(error)
        throw ExitCode(Exit.invalidInput)
    }
}

func writeOutput(_ data: Data, to path: String?) throws {
    guard let path else {
        FileHandle.standardOutput.write(data)
        return
    }
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        FileHandle.standardError.write(Data("\(path): error: cannot write: \(error.localizedDescription)\n".utf8))
        throw ExitCode(Exit.invalidInput)
    }
}

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
    case dot, svg, png

    /// DOT as is, or rendered by Graphviz's `dot` (Debian package graphviz).
    func render(_ dotText: String) throws -> Data {
        if self == .dot { return Data(dotText.utf8) }
        let path = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            FileHandle.standardError.write(
                Data(
                    "vrfc: --format \(rawValue) needs Graphviz's 'dot' (apt-get install graphviz); --format dot prints the graph without it\n"
                        .utf8))
            throw ExitCode(Exit.invalidInput)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-T\(rawValue)"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        // Feed stdin from another thread so a large output cannot block the pipe.
        let text = Data(dotText.utf8)
        let writer = Thread {
            input.fileHandleForWriting.write(text)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("vrfc: dot -T\(rawValue) failed: ".utf8) + err)
            throw ExitCode(Exit.invalidInput)
        }
        return data
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a change of CRs or node config does to the routing intent.",
        discussion: """
            Compiles both sides and prints, per VRF, what changes in CR terms: VRFs added or \
            removed (with their links and BGP instance), VNI and route target changes, CR entries \
            added, removed, moved (spec.seq) or given another community, aggregates, and per \
            direction and address family the address space that becomes permitted (+) or denied \
            (-) or leaves with other communities (~), as prefixes with length ranges and the CR \
            item that decides. Decisions follow FRR's first-match semantics, so reordering items \
            without effect prints nothing and a new deny above a permit shows the space it takes.

            OLD_INPUT... come before '--', NEW_INPUT... after it (files, directories, '-' for stdin).

            Exit status: 0 no change, 4 changes, 1 invalid input on either side, 2 usage error.

            Examples:
              vrfc diff --config config.yaml main/crs -- branch/crs
              vrfc diff --config config.yaml --markdown old/ -- new/ > comment.md
              vrfc diff --config config.yaml --graph svg -o diff.svg old/ -- new/
            """
    )

    @Option(
        name: .long, help: ArgumentHelp("The node config of the new side (and of the old side unless --old-config).", valueName: "FILE"))
    var config: String = NodeConfigPath.default

    @Option(name: .customLong("old-config"), help: ArgumentHelp("The node config of the old side.", valueName: "FILE"))
    var oldConfig: String?

    @Flag(name: .long, help: "Print the diff as JSON.")
    var json = false

    @Flag(name: .long, help: "Print the diff as Markdown (a pull-request comment).")
    var markdown = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Print the leak topology with the changes coloured instead (dot, svg or png; svg/png need Graphviz).", valueName: "FORMAT"))
    var graph: GraphFormat?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of stdout.", valueName: "FILE"))
    var output: String?

    // One list split at '--': ArgumentParser takes a single positional
    // array, and options come before the inputs.
    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The old side's inputs, '--', the new side's inputs.", valueName: "OLD_INPUT... -- NEW_INPUT..."))
    var sides: [String] = []

    var oldInputs: [String] { Array(sides.prefix { $0 != "--" }) }
    var newInputs: [String] { Array(sides.drop { $0 != "--" }.dropFirst()) }

    func validate() throws {
        // The captured list swallows --help too: answer it here.
        if oldInputs.contains(where: { $0 == "--help" || $0 == "-h" }) { throw CleanExit.helpRequest(self) }
        if let option = sides.first(where: { $0.hasPrefix("-") && $0 != "--" && $0 != "-" }) {
            throw ValidationError("'\(option)': options go before the inputs (vrfc diff [OPTIONS] OLD... -- NEW...)")
        }
        if [json, markdown, graph != nil].filter({ $0 }).count > 1 {
            throw ValidationError("--json, --markdown and --graph are alternatives: pass one of them")
        }
        if oldInputs.isEmpty || newInputs.isEmpty {
            throw ValidationError("pass the old side's inputs, then '--', then the new side's: vrfc diff --config C OLD... -- NEW...")
        }
    }

    func run() throws {
        // The two sides are independent: compile them at the same time.
        let sides = parallelMap([(oldConfig ?? config, oldInputs), (config, newInputs)]) { side -> Result<NodeIR, Diagnostics> in
            do throws(Diagnostics) {
                return .success(try Compiler.ir(.init(config: side.0, objects: side.1)))
            } catch {
                return .failure(error)
            }
        }
        var failed = false
        for (side, result) in zip(["old", "new"], sides) {
            if case .failure(let diags) = result {
                FileHandle.standardError.write(Data("vrfc: the \(side) side does not compile:\n".utf8))
                report(diags)
                failed = true
            }
        }
        guard !failed, case .success(let old) = sides[0], case .success(let new) = sides[1] else { throw ExitCode(Exit.invalidInput) }
        let diff = Timings.measure("diff") { IntentDiff(old: old, new: new) }
        let data: Data
        if let graph {
            data = try graph.render(LeakGraph.dot(old: old, new: new, diff: diff))
        } else if json {
            data = Data(JSONOutput.encode(diff).utf8)
        } else if markdown {
            data = Data(diff.markdown().utf8)
        } else {
            data = Data(diff.text().utf8)
        }
        try writeOutput(data, to: output)
        if !diff.isEmpty { throw ExitCode(Exit.changes) }
    }
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain the decision FRR makes for a route in one VRF and direction.",
        discussion: """
            Prints which route-map entry (CR, spec.seq) and which prefix-list line (item, seq, \
            ge/le) decide the route, the action and the community set, or that nothing matched \
            (implicit deny). Exports pass the fabric-tag rule first (deny 1 / match tag 20000): \
            give the route's tag with --tag.

            The last positional argument is the PREFIX; with --batch FILE (or '-' for stdin) every \
            line of FILE is a prefix and each gets one tab-separated line: prefix, permit|deny, \
            CR (or implicit-deny, fabric-tag, undefined-map), item, line seq, communities.

            Exit status: 0 explained, 1 invalid input or unknown VRF, 2 usage error.

            Examples:
              vrfc explain --config config.yaml crs/ --vrf vrf1 --direction import 203.0.113.7/32
              vrfc explain --config config.yaml crs/ --vrf vrf1 --direction export --tag 20000 198.51.100.0/24
              vrfc explain --config config.yaml crs/ --vrf vrf1 --direction import --batch prefixes.txt
            """
    )

    @Option(name: .long, help: ArgumentHelp("The node config.", valueName: "FILE"))
    var config: String = NodeConfigPath.default

    @Option(name: .long, help: ArgumentHelp("The VRF whose policy decides.", valueName: "NAME"))
    var vrf: String

    @Option(
        name: .long, help: ArgumentHelp("import (from the VRF into the cluster VRF) or export (the reverse).", valueName: "import|export"))
    var direction: DirectionArgument

    @Option(name: .long, help: ArgumentHelp("The route's tag (the export maps deny tag 20000).", valueName: "N"))
    var tag: UInt32?

    @Option(name: .long, help: ArgumentHelp("Decide every prefix of FILE (one per line; '-' for stdin) instead of one.", valueName: "FILE"))
    var batch: String?

    @Argument(help: ArgumentHelp("VRFRouteConfiguration inputs, then the PREFIX (unless --batch).", valueName: "INPUT... PREFIX"))
    var arguments: [String] = []

    enum DirectionArgument: String, ExpressibleByArgument, CaseIterable {
        case `import`, export
        var direction: Direction { self == .import ? .import : .export }
    }

    var inputs: [String] { batch == nil ? Array(arguments.dropLast()) : arguments }

    func validate() throws {
        if inputs.isEmpty {
            throw ValidationError(
                batch == nil
                    ? "pass the CR inputs and then the PREFIX, e.g. crs/ 203.0.113.7/32"
                    : "no INPUT given: pass CR files, directories, or '-' for stdin")
        }
        if batch == nil, let p = arguments.last, case .failure(let e) = IPPrefix.parse(p) {
            throw ValidationError("PREFIX '\(p)' is not a prefix: \(Self.describe(e))")
        }
        if batch == "-" && inputs.contains("-") {
            throw ValidationError("stdin cannot be both the --batch prefixes and an INPUT")
        }
    }

    static func describe(_ e: IPPrefix.ParseError) -> String {
        switch e {
        case .malformed: "write e.g. 203.0.113.0/24 or 2001:db8::/48"
        case .missingLength(let s): "no length; for a host route write \(s)"
        case .lengthOutOfRange(let max): "the length must be 0..\(max)"
        case .notCanonical(let c): "write the canonical form \(c)"
        }
    }

    func run() throws {
        let ir = try compileIR(config: config, inputs: inputs)
        guard let name = try? VRFName(validating: vrf), ir.vrfs.contains(where: { $0.name == name }) else {
            let known = ir.vrfs.map(\.name.value).joined(separator: ", ")
            FileHandle.standardError.write(
                Data("vrfc: error: --vrf '\(vrf)': no CR names this VRF; the inputs name: \(known.isEmpty ? "none" : known)\n".utf8))
            throw ExitCode(Exit.invalidInput)
        }
        let policy = Policy(ir: ir)
        let dir = direction.direction
        let maps = AddressFamily.allCases.map { Policy.mapName(name, dir, $0) }
        guard let batch else {
            let prefix = try! IPPrefix.parse(arguments.last!).get()
            let map = maps[prefix.family == .ipv4 ? 0 : 1]
            let d = policy.decide(map, Route(prefix, tag: tag), trace: true)
            print(d.explanation(vrf: vrf, direction: dir, map: map, prefix: prefix, tag: tag), terminator: "")
            return
        }
        let data: Data
        if batch == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: batch) else {
                FileHandle.standardError.write(Data("\(batch): error: cannot read the prefix file\n".utf8))
                throw ExitCode(Exit.invalidInput)
            }
            data = d
        }
        let start = Timings.now()
        defer { Timings.report("explain batch (parse, decide, format)", since: start) }
        // Lines as byte ranges: splitting a String by Characters costs more
        // than deciding the prefixes.
        let bytes = [UInt8](data)
        var found: [Range<Int>] = []
        found.reserveCapacity(bytes.count / 16)
        var lineStart = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            found.append(lineStart..<i)
            lineStart = i + 1
        }
        if lineStart < bytes.count { found.append(lineStart..<bytes.count) }
        let lines = found
        let resolved = maps.map { policy.maps[$0] }
        let tag = self.tag
        // Lines are independent: decide them in chunks over the cores, and
        // join the chunks in input order.
        let chunk = 16384
        let starts = Array(stride(from: 0, to: lines.count, by: chunk))
        let pieces = parallelMap(starts) { first -> (bytes: [UInt8], bad: (line: Int, text: String, error: IPPrefix.ParseError)?) in
            var out: [UInt8] = []
            out.reserveCapacity(chunk * 48)
            for n in first..<min(first + chunk, lines.count) {
                var r = lines[n]
                if r.count > 0 && bytes[r.upperBound - 1] == 0x0D { r = r.lowerBound..<(r.upperBound - 1) }
                if r.isEmpty { continue }
                let text = String(decoding: bytes[r], as: UTF8.self)
                switch IPPrefix.parse(text) {
                case .success(let prefix):
                    let f = prefix.family == .ipv4 ? 0 : 1
                    policy.decide(map: resolved[f], name: maps[f], Route(prefix, tag: tag)).batchLine(prefix.text[...], into: &out)
                case .failure(let e):
                    return (out, (n + 1, String(text.prefix(80)), e))
                }
            }
            return (out, nil)
        }
        if let bad = pieces.lazy.compactMap(\.bad).first {
            let shown = bad.text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "?" }.joined()
            FileHandle.standardError.write(
                Data(
                    "\(batch == "-" ? "<stdin>" : batch):\(bad.line): error: '\(shown)' is not a prefix: \(Self.describe(bad.error))\n".utf8
                ))
            throw ExitCode(Exit.invalidInput)
        }
        var out: [UInt8] = []
        out.reserveCapacity(pieces.reduce(0) { $0 + $1.bytes.count })
        for p in pieces { out += p.bytes }
        FileHandle.standardOutput.write(Data(out))
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the node's leak topology (Graphviz DOT, SVG or PNG).",
        discussion: """
            The cluster VRF in the middle, each VRF around it (VNI, route target, communities; \
            skip VRFs dashed), one edge per direction labelled with the address space its \
            route-maps permit, as FRR decides it (summarised when long). SVG and PNG are \
            rendered by Graphviz's dot (Debian package graphviz).

            Examples:
              vrfc graph --config config.yaml crs/ | dot -Tsvg > leaks.svg
              vrfc graph --config config.yaml --format png -o leaks.png crs/
            """
    )

    @Option(name: .long, help: ArgumentHelp("The node config.", valueName: "FILE"))
    var config: String = NodeConfigPath.default

    @Option(name: .long, help: ArgumentHelp("dot (default), svg or png.", valueName: "FORMAT"))
    var format: GraphFormat = .dot

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of stdout.", valueName: "FILE"))
    var output: String?

    @Argument(help: ArgumentHelp("VRFRouteConfiguration files, directories, or '-' for stdin.", valueName: "INPUT"))
    var inputs: [String] = []

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("no INPUT given: pass CR files, directories, or '-' for stdin") }
    }

    func run() throws {
        let ir = try compileIR(config: config, inputs: inputs)
        try writeOutput(try format.render(LeakGraph.dot(ir)), to: output)
    }
}
