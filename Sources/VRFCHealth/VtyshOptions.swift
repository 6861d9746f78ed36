import ArgumentParser

/// How `health` and `metrics` reach FRR, declared once: the vtysh to run
/// and FRR's pathspace.
public struct VtyshOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: ArgumentHelp("The vtysh to run.", valueName: "PATH"))
    public var vtysh = "vtysh"

    @Option(
        name: .customLong("frr-pathspace"),
        help: ArgumentHelp("FRR's pathspace (vtysh -N), for daemons started with -N NAME.", valueName: "NAME"))
    public var pathspace: String?
}
