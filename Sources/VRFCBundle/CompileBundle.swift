import Foundation
import VRFCKernel
import VRFCModel

/// What the unprivileged `vrfc compile --emit bundle` hands the privileged
/// `vrfc-apply` over a pipe: one JSON object with everything one reconcile
/// needs, so the privileged side never reads a CR or renders a template.
/// The receiver trusts none of it: the op list is validated, the frr.conf
/// goes through `vtysh --dryrun`, and every delta line is checked against
/// the new file and the file FRR runs (`DeltaCheck`).
public struct CompileBundle: Codable, Sendable {
    public static let currentFormat = "vrfc-bundle/1"

    public var format: String
    /// The IR as `vrfc compile --emit ir` prints it, on one line. The privileged side
    /// only keeps it (the next compile's `--running-ir`) and never decodes
    /// it: that would cost a second validation of every item, and parsing.
    public var irJSON: String
    public var ops: OpList
    /// The node's frr.conf; nil when no base config was given (links only).
    public var frrConf: String?
    /// The base config rendered for this node without any VRF: the part of
    /// `frrConf` vrfc does not generate. Verification after a reload looks
    /// for every other command in FRR's running config.
    public var frame: String?
    /// Set when the compile was given the IR FRR runs (`--running-ir`):
    /// the `vtysh -f` batch that turns that config into `frrConf`.
    public var delta: FRRDelta?

    public init(ir: NodeIR, ops: OpList, frrConf: String?, frame: String?, delta: FRRDelta?) {
        format = Self.currentFormat
        self.irJSON = BundleJSON.ir(ir)
        self.ops = ops
        self.frrConf = frrConf
        self.frame = frame
        self.delta = delta
    }

    /// A bundle as read back (`BundleReader`): the IR stays text.
    init(irJSON: String, ops: OpList, frrConf: String?, frame: String?, delta: FRRDelta?) {
        format = Self.currentFormat
        self.irJSON = irJSON
        self.ops = ops
        self.frrConf = frrConf
        self.frame = frame
        self.delta = delta
    }
}

extension CompileBundle {
    /// The bundle as one line of JSON, keys sorted (the same inputs give the
    /// same bytes). Not pretty-printed, and neither is the IR inside it: a
    /// bundle is read by a program, and on a large node the indentation was
    /// megabytes more to write, pipe, escape and decode on both sides.
    /// Written by `BundleJSON` (the bytes `JSONEncoder` gives, faster).
    public func encoded() -> String { BundleJSON.bundle(self) + "\n" }
}

/// The difference between two renders of the node's frr.conf, as FRR
/// commands.
public struct FRRDelta: Codable, Sendable, Hashable {
    /// Digest (`Digest.fnv1a64`) of the full frr.conf the old IR renders to
    /// with this compile's base config and templates. The delta is valid
    /// only where FRR runs exactly that file: the receiver compares it with
    /// the digest of the file it kept as last known good, which catches a
    /// changed base config or changed templates.
    public var basisDigest: String
    /// The `vtysh -f` batch: removals first (deepest and latest first, so
    /// no route-map is left pointing at a removed prefix-list and no VRF's
    /// BGP instance outlives the VRF), then additions in file order.
    public var script: String
    /// How many commands (not context lines) it holds, for reports.
    public var removals: Int
    public var additions: Int

    public init(basisDigest: String, script: String, removals: Int, additions: Int) {
        self.basisDigest = basisDigest
        self.script = script
        self.removals = removals
        self.additions = additions
    }

    public var isEmpty: Bool { removals == 0 && additions == 0 }
}

public enum Digest {
    /// FNV-1a, 64 bits, as 16 hex digits: a change detector for files both
    /// sides hold (not a security check; the delta's lines are checked one
    /// by one).
    public static func fnv1a64(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
