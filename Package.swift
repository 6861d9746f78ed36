// swift-tools-version:6.0
// vrfc: compiles VRF route-leaking intent into FRR config and kernel ops.
//
// Layout mirrors the compiler pipeline:
//   VRFCModel    — IR value types, addresses, names, diagnostics (pure Swift)
//   VRFCYAML     — YAML/JSON reading behind one door (fast reader, libyaml fallback, parallel pieces)
//   VRFCFrontend — inputs → validation → IR
//   VRFCFRR      — IR → hinted frr.conf (Mustache-syntax templates from templates/)
//   VRFCKernel   — IR → kernel op list (pure Swift)
//   VRFCAnalysis — FRR's prefix-list/route-map semantics on the IR: one
//                  evaluator for vrfc diff, explain and graph (pure Swift)
//   VRFCBundle   — the compile bundle and FRR config structure both sides share
//   VRFCDriver   — the pipeline as one call, shared by both executables
//   vrfc         — the CLI; links no system C library
//
// The kernel shim, the only code linking system C libraries, is separate:
//   CNetlink / VRFCNetlink — all rtnetlink (libnl-route-3): links, clsact qdiscs, tc filters
//   CBPF / VRFCBPF         — libbpf: the tc router program (bpf/router.c); tc through VRFCNetlink
//   CSpawn                 — the unprivileged compile child (privilege separation)
//   CSystemd               — libsystemd (dlopen on first use): FRR reload through systemd, sd_notify
//   VRFCApply              — plan/apply: op list vs live kernel; frr.conf, reload, verify
//   VRFCApplyCLI           — the options plan, apply and agent share (declared once)
//   VRFCAgent              — the node agent: inotify, debounce, timer, hooks
//   VRFCHealth             — `vrfc-apply health`: the node's network healthcheck
//   VRFCMetrics            — `vrfc-apply metrics`: collectors; the endpoint's privileged side
//   vrfc-apply             — the small privileged applier; links no YAML reader, no templates, no HTTP server
//   vrfc-metrics           — the unprivileged HTTP exporter vrfc-apply starts (FlyingFox)
import PackageDescription

// The privileged applier's chain, release builds: concrete generic types
// (Set<UInt32>, [String: Link], ...) reached through metadata accessor
// functions instead of their mangled names. By mangled name, the first use
// of each type demangles it and looks its conformances up by scanning all
// ~6,500 conformance records of the static binary, which vrfc-apply pays at
// every run; the accessors name the witness tables directly.
let typeMetadataAccessors: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release))
]

let package = Package(
    name: "vrfc",
    products: [
        .executable(name: "vrfc", targets: ["vrfc"]),
        .executable(name: "vrfc-apply", targets: ["vrfc-apply"]),
        .executable(name: "vrfc-metrics", targets: ["vrfc-metrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .target(name: "VRFCModel", swiftSettings: typeMetadataAccessors),
        // YAML behind one door: the fast reader, libyaml (Yams) as fallback and reference, the parallel pieces.
        .target(name: "VRFCYAML", dependencies: ["VRFCModel", "Yams"]),
        .target(name: "VRFCFrontend", dependencies: ["VRFCModel", "VRFCYAML"]),
        .target(
            name: "VRFCFRR",
            dependencies: ["VRFCModel", "VRFCBundle"],
            plugins: ["EmbedTemplates"]
        ),
        .target(name: "VRFCKernel", dependencies: ["VRFCModel"], swiftSettings: typeMetadataAccessors),
        .target(name: "VRFCAnalysis", dependencies: ["VRFCModel"]),
        // What crosses the privilege boundary: the compile bundle and the FRR
        // config structure both sides read (no YAML, no templates).
        .target(name: "VRFCBundle", dependencies: ["VRFCModel", "VRFCKernel"], swiftSettings: typeMetadataAccessors),
        .target(name: "VRFCDriver", dependencies: ["VRFCModel", "VRFCFrontend", "VRFCFRR", "VRFCKernel", "VRFCBundle"]),
        // The command-line conventions both executables share.
        .target(name: "VRFCCLI", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "vrfc",
            dependencies: [
                "VRFCDriver", "VRFCAnalysis", "VRFCBundle", "VRFCCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Kernel shim.
        // libnl-route-3 linked statically (its module map, include/module.modulemap,
        // names the archives): a C target, not a pkgConfig system library, whose
        // -L/-l flags would bring the shared libraries back.
        .target(name: "CNetlink"),
        // Linked statically (its module map names the archives): no pkgConfig, whose
        // -L/-l flags would bring the shared library back. Headers in /usr/include.
        .systemLibrary(name: "CBPF"),
        .target(name: "VRFCNetlink", dependencies: ["CNetlink", "VRFCModel"], swiftSettings: typeMetadataAccessors),
        .target(
            name: "VRFCBPF", dependencies: ["CBPF", "VRFCNetlink"], swiftSettings: typeMetadataAccessors, plugins: ["EmbedRouterObject"]),
        // The privileged side links no YAML reader and no template engine: it runs
        // `vrfc compile` as an unprivileged child (CSpawn) and reads its bundle.
        .target(name: "CSpawn"),
        // libsystemd's sd-bus (the reload through systemd's D-Bus API) and sd_notify, loaded
        // with dlopen on first use: linked, it and its six libraries load at every start.
        .target(name: "CSystemd"),
        .target(
            name: "VRFCApply", dependencies: ["VRFCBundle", "VRFCKernel", "VRFCNetlink", "VRFCBPF", "CSpawn", "CSystemd"],
            swiftSettings: typeMetadataAccessors),
        // The options of the node that plan, apply and agent share, declared once.
        .target(
            name: "VRFCApplyCLI",
            dependencies: [
                "VRFCApply", "VRFCCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], swiftSettings: typeMetadataAccessors),
        // The node agent: watches the inputs and reconciles through the Reconciler seam.
        .target(
            name: "VRFCAgent",
            dependencies: [
                "VRFCApply", "VRFCApplyCLI", "VRFCHealth", "VRFCMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The network healthcheck: its config has a tiny strict reader of its own (no YAML library).
        .target(
            name: "VRFCHealth",
            dependencies: [
                "VRFCApply", "VRFCNetlink", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The Prometheus endpoint's collectors (FRR through read-only vtysh, the router's maps, the links),
        // and its privileged side: starts the unprivileged exporter and answers it over a socket pair.
        .target(
            name: "VRFCMetrics",
            dependencies: [
                "VRFCHealth", "VRFCApply", "VRFCNetlink", "VRFCBPF", "CSpawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // The unprivileged exporter: the HTTP server (FlyingFox, which brings FoundationNetworking and
        // libcurl) lives only here, never in vrfc-apply.
        .executableTarget(
            name: "vrfc-metrics",
            dependencies: [
                "VRFCMetrics", "VRFCHealth", "VRFCCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        .executableTarget(
            name: "vrfc-apply",
            dependencies: [
                "VRFCApply", "VRFCApplyCLI", "VRFCAgent", "VRFCHealth", "VRFCMetrics", "VRFCCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["static-libraries", "readonly-data.ld"],
            swiftSettings: typeMetadataAccessors,
            // Packed relative relocations (DT_RELR, glibc 2.36): the statically
            // linked runtime makes ~80,000 of them, which the loader applies
            // at every start (about 1 ms of each run). gold lacks the option.
            // The runtime's libstdc++ linked statically: the static runtime
            // links it as a shared library, whose loading, relocation and
            // initialisation cost about 0.5-1 ms of each run. The linker
            // script in static-libraries/, found first for -lstdc++, names the
            // archive gcc ships. (libnl and libbpf, whose system directory
            // SwiftPM puts ahead of this one, are named by their archives in
            // their module maps.) readonly-data.ld and -z relro: constants
            // read-only, and the relocated pointers (.data.rel.ro, .got)
            // read-only once the loader has relocated them.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=bfd", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                        "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/Sources/vrfc-apply/readonly-data.ld",
                        "-Xlinker", "-z", "-Xlinker", "relro",
                        "-L\(Context.packageDirectory)/Sources/vrfc-apply/static-libraries",
                    ], .when(configuration: .release))
            ]
        ),

        // Build-time embedding of templates/*.mustache so the binary carries its defaults.
        .executableTarget(name: "EmbedTemplatesTool", path: "Sources/EmbedTemplatesTool"),
        .plugin(name: "EmbedTemplates", capability: .buildTool(), dependencies: ["EmbedTemplatesTool"]),
        // Build-time compile of bpf/router.c (clang -target bpf), embedded into VRFCBPF, and
        // the Swift side of its contract generated from bpf/router.h (RouterContractTool).
        .executableTarget(name: "RouterContractTool", path: "Sources/RouterContractTool"),
        .plugin(name: "EmbedRouterObject", capability: .buildTool(), dependencies: ["RouterContractTool"]),
        // Namespaces, frames and traffic for the router's kernel tests and its benchmark.
        .target(
            name: "VRFCBPFTestSupport", dependencies: ["VRFCBPF", "VRFCNetlink", "CBPF", "CNetlink", "VRFCTestSupport"],
            path: "Tests/VRFCBPFTestSupport"),
        .executableTarget(
            name: "vrfc-bpf-bench", dependencies: ["VRFCBPF", "VRFCBPFTestSupport", "VRFCTestSupport"], path: "bench/bpf-bench"),

        // Shared by the test targets: repo paths, fixtures, subprocesses, FRR in a netns.
        .target(name: "VRFCTestSupport", dependencies: ["VRFCDriver", "VRFCAnalysis", "VRFCYAML"], path: "Tests/Support"),
        // vrfc-apply's apply and agent with injected faults (a crash after the
        // N-th kernel change, a pause after each): tests only, never installed.
        .executableTarget(
            name: "vrfc-apply-faults",
            dependencies: [
                "VRFCApply", "VRFCApplyCLI", "VRFCAgent", "VRFCCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Tests/ApplyFaults"),
        // Structure-aware fuzzing of `vrfc compile` (scripts/fuzz.sh; a bounded run is a test).
        .executableTarget(
            name: "vrfc-fuzz", dependencies: ["VRFCFrontend", "VRFCYAML", "VRFCModel", "VRFCTestSupport"], path: "Tests/Fuzz",
            swiftSettings: [.swiftLanguageMode(.v5), .enableUpcomingFeature("BareSlashRegexLiterals")]),
        // Helpers of the applier's and the agent's tests: a namespace with the
        // applier's state, compiled op lists and their checks, the agent as a process.
        .target(
            name: "VRFCApplyTestSupport", dependencies: ["VRFCApply", "VRFCBPF", "VRFCNetlink", "VRFCDriver", "VRFCTestSupport"],
            path: "Tests/ApplyTestSupport"),

        // Tests, grouped by what they need; scripts/test.sh runs all three groups.
        // 1. No privileges: any user, plain `swift test` (scripts/test.sh --quick).
        .testTarget(name: "VRFCModelTests", dependencies: ["VRFCModel"]),
        .testTarget(name: "VRFCYAMLTests", dependencies: ["VRFCYAML", "VRFCTestSupport"]),
        .testTarget(name: "VRFCFrontendTests", dependencies: ["VRFCFrontend", "VRFCYAML", "VRFCDriver", "VRFCKernel", "VRFCTestSupport"]),
        .testTarget(name: "VRFCFRRTests", dependencies: ["VRFCDriver", "VRFCFRR", "VRFCTestSupport"]),
        .testTarget(name: "VRFCAnalysisTests", dependencies: ["VRFCAnalysis", "VRFCDriver", "VRFCTestSupport"]),
        .testTarget(
            name: "VRFCApplyUnitTests",
            dependencies: [
                "VRFCApply", "VRFCAgent", "VRFCKernel", "VRFCApplyTestSupport", "VRFCTestSupport",
                // vrfc-apply's plain reader of plan/apply against swift-argument-parser.
                "vrfc-apply", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "VRFCHealthTests", dependencies: ["VRFCHealth", "VRFCTestSupport"]),
        // 2. Root and this machine's kernel: network namespaces, FRR daemons, BPF.
        .testTarget(name: "FRROracleTests", dependencies: ["VRFCDriver", "VRFCAnalysis", "VRFCTestSupport"]),
        .testTarget(
            name: "VRFCApplyTests",
            dependencies: ["VRFCApply", "VRFCAgent", "VRFCBPF", "VRFCBundle", "VRFCFRR", "VRFCApplyTestSupport", "VRFCTestSupport"]),
        .testTarget(name: "VRFCBPFTests", dependencies: ["VRFCBPF", "VRFCBPFTestSupport", "VRFCTestSupport"]),
        .testTarget(name: "VRFCMetricsTests", dependencies: ["VRFCMetrics", "VRFCBPF", "VRFCBPFTestSupport", "VRFCTestSupport"]),
        // 3. Root and a Debian kernel booted under virtme-ng (VRF devices).
        .testTarget(
            name: "VRFCGuestTests", dependencies: ["VRFCApply", "VRFCBPF", "VRFCBPFTestSupport", "VRFCApplyTestSupport", "VRFCTestSupport"]),
    ]
)
