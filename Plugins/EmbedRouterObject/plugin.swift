import Foundation
import PackagePlugin

/// Compiles bpf/router.c with clang for the BPF target (through
/// bpf/build.sh, the one place that knows the flags) and embeds the object
/// into VRFCBPF, so vrfc-apply carries its program and needs no file at
/// runtime, and no object is ever committed.
@main
struct EmbedRouterObject: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpf = context.package.directoryURL.appending(path: "bpf")
        let script = bpf.appending(path: "build.sh")
        let object = context.pluginWorkDirectoryURL.appending(path: "router.o")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedRouterObject.swift")
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
                inputFiles: [script, bpf.appending(path: "router.c"), bpf.appending(path: "router.h")],
                outputFiles: [output]
            )
        ]
    }
}
