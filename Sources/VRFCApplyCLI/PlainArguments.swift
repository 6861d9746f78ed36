import VRFCApply

/// `plan` and `apply` as most runs call them: every argument a `--name VALUE`
/// option, a flag or an INPUT that this reader knows, none given twice. Such
/// a command line is read here without swift-argument-parser, whose
/// reflection and first-use generic instantiations (each a scan of the
/// binary's protocol-conformance records) cost about as much CPU as the
/// whole of `ip -batch`'s start-up. Anything else — help, `--name=VALUE`,
/// `--`, a value starting with '-', an unknown or repeated name, a command
/// line its checks refuse — is not read here (nil), and the caller hands it
/// to swift-argument-parser, so usage, help and errors come from one parser.
/// A test compares both readers on the same command lines.
public struct PlainArguments: Equatable {
    public var node: NodeSettings
    /// nil for `plan`, which takes no FRR options.
    public var frr: FRRSettings?
    public var json: Bool

    /// The words after the subcommand's name; `frr`: the command takes
    /// FRROptions (`apply`). NodeSettings/FRRSettings() hold the options'
    /// defaults, and no swift-argument-parser type is made: making one costs
    /// its first-use instantiations too.
    public init?(_ words: ArraySlice<String>, frr takesFRR: Bool) {
        var inputs = NodeSettings()
        var frr = FRRSettings()
        var json = false

        var seen: [String] = []  // (a Set's first use costs a conformance scan)
        var i = words.startIndex
        while i < words.endIndex {
            let word = words[i]
            i += 1
            guard word.hasPrefix("-") else {
                // `help` is swift-argument-parser's word.
                if word == "help" { return nil }
                inputs.inputs.append(word)
                continue
            }
            // A name given twice: swift-argument-parser's rules decide.
            guard !seen.contains(word) else { return nil }
            seen.append(word)
            switch word {
            case "--force": inputs.force = true
            case "--adopt": inputs.adopt = true
            case "--json": json = true
            default:
                guard i < words.endIndex, !words[i].hasPrefix("-") else { return nil }
                let value = words[i]
                i += 1
                switch word {
                case "--config": inputs.config = value
                case "--ops": inputs.ops = value
                case "--bundle": inputs.bundle = value
                case "--bpf-interface":
                    inputs.bpfInterfaces.append(value)
                    seen.removeLast()  // repeatable
                case "--run-dir": inputs.runDirectory = value
                case "--table-names-file": inputs.tableNamesPath = value
                case "--underlay": inputs.underlay = value
                case "--table-range": inputs.tableRange = value
                case "--netns": inputs.netns = value
                case "--bpf-pin-dir": inputs.bpfPinDirectory = value
                case "--compile-user": inputs.compileUser = value
                case "--router-id": inputs.routerID = value
                case "--hostname": inputs.hostname = value
                case "--templates": inputs.templates = value
                case "--frr-config" where takesFRR: frr.frrConfig = value
                case "--template" where takesFRR: frr.template = value
                case "--reload" where takesFRR:
                    guard let strategy = ReloadStrategy(rawValue: value) else { return nil }  // as its ExpressibleByArgument reads it
                    frr.reload = strategy
                case "--state-dir" where takesFRR: frr.stateDir = value
                case "--frr-pathspace" where takesFRR: frr.frrPathspace = value
                default: return nil
                }
            }
        }
        guard (try? inputs.validate()) != nil else { return nil }
        self.node = inputs
        self.frr = takesFRR ? frr : nil
        self.json = json
    }
}
