import Foundation
import VRFCDriver
import VRFCFRR
import VRFCFrontend
import VRFCModel

/// Paths of the package checkout the tests run in.
public enum Repo {
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// A built executable of this package (`swift build` runs before `swift
    /// test` in scripts/test.sh). Looks in the build folder that holds the
    /// running test bundle first, so other scratch paths work too.
    public static func executable(_ name: String) -> String {
        let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent()
        var candidates = [bundleDir.appendingPathComponent(name).path]
        for arg in CommandLine.arguments {
            let dir = URL(fileURLWithPath: arg).deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent(name).path)
            // xctest bundles live in .build/debug/X.xctest/...
            var d = dir
            for _ in 0..<4 {
                candidates.append(d.appendingPathComponent(name).path)
                d.deleteLastPathComponent()
            }
        }
        candidates.append(path(".build/debug/\(name)"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        return path(".build/debug/\(name)")
    }
}

/// One scenario under fixtures/: config.yaml, a base config, crs/.
public struct Fixture: Sendable, CustomStringConvertible {
    public let name: String
    public var dir: String { Repo.path("fixtures/\(name)") }
    public var config: String { dir + "/config.yaml" }
    public var crs: String { dir + "/crs" }
    public var base: String {
        let conf = dir + "/frr.conf"
        return FileManager.default.fileExists(atPath: conf) ? conf : dir + "/frr.conf.tpl"
    }

    public var description: String { name }

    /// Options every fixture is compiled with (scripts/regen-golden.sh too).
    public static let options = NodeOptions(routerID: IPv4Address(192, 0, 2, 129), hostname: try! Hostname(validating: "node-a"))

    public static var all: [Fixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Repo.path("fixtures"))) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { Fixture(name: $0) }
    }

    public init(name: String) { self.name = name }

    public func ir() throws -> NodeIR {
        try Compiler.ir(.init(config: config, objects: [crs], options: Fixture.options))
    }

    public func frr() throws -> String {
        try Compiler.frr(ir(), base: Compiler.baseConfig(base), templates: .shipped)
    }

    public func golden(_ ext: String) -> String { Repo.path("golden/\(name).\(ext)") }
}

public func readText(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}
