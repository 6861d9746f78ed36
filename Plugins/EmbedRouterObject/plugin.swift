import Foundation
import PackagePlugin

/// Compiles bpf/router.c with clang for the BPF target (through
/// bpf/build.sh, the one place that knows the flags) and embeds the object
/// into VRFCBPF, so vrfc-apply carries its program and needs no file at
/// runtime, and no object is ever committed. It also generates the Swift
/// side of the program's contract (outcome and FIB-result slots) from the
/// headers the program is compiled with (RouterContractTool).
@main
struct EmbedRouterObject: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpf = context.package.directoryURL.appending(path: "bpf")
        let script = bpf.appending(path: "build.sh")
        let header = bpf.appending(path: "router.h")
        let linuxBPF = URL(fileURLWithPath: "/usr/include/linux/bpf.h")
        let object = context.pluginWorkDirectoryURL.appending(path: "router.o")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedRouterObject.swift")
        let contract = context.pluginWorkDirectoryURL.appending(path: "RouterContract.swift")
        var environment = ProcessInfo.processInfo.environment
        // The toolchain's own clang targets BPF; prefer it over PATH.
        if environment["VRFC_BPF_CLANG"] == nil, let clang = try? context.tool(named: "clang") {
            environment["VRFC_BPF_CLANG"] = clang.url.path
        }
        return [
            .buildCommand(
                displayName: "Compiling bpf/router.c for the BPF target",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, "--swift", output.path, object.path],
                environment: environment,
                inputFiles: [script, bpf.appending(path: "router.c"), header],
                outputFiles: [output]
            ),
            .buildCommand(
                displayName: "Generating the router contract from bpf/router.h",
                executable: try context.tool(named: "RouterContractTool").url,
                arguments: [header.path, linuxBPF.path, contract.path],
                inputFiles: [header, linuxBPF],
                outputFiles: [contract]
            ),
        ]
    }
}
