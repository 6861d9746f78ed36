import CBPF
import Foundation
import Testing
import VRFCBPFTestSupport
import VRFCTestSupport

@testable import VRFCBPF

/// bpf/router.h is a contract with pinned maps and `bpf stats`: the Swift
/// view is generated from it at build time (RouterContractTool); these
/// check the generator against the header as the C importer reads it, and
/// that the embedded object is what the header says.
@Suite("Router program contract")
struct ContractTests {
    @Test("The generated outcome and FIB slots match bpf/router.h and linux/bpf.h")
    func enumsMatchHeader() {
        let header: [(RouterOutcome, UInt32)] = [
            (.routed, VRFC_OUT_ROUTED.rawValue), (.routedNeigh, VRFC_OUT_ROUTED_NEIGH.rawValue),
            (.passNotIP, VRFC_OUT_PASS_NOT_IP.rawValue), (.passNotForUs, VRFC_OUT_PASS_NOT_FOR_US.rawValue),
            (.passMalformed, VRFC_OUT_PASS_MALFORMED.rawValue), (.passIPOptions, VRFC_OUT_PASS_IP_OPTIONS.rawValue),
            (.passScope, VRFC_OUT_PASS_SCOPE.rawValue), (.passTTL, VRFC_OUT_PASS_TTL.rawValue),
            (.passFIB, VRFC_OUT_PASS_FIB.rawValue),
        ]
        #expect(header.count == Int(VRFC_OUT_COUNT.rawValue))
        #expect(RouterOutcome.allCases.count == Int(VRFC_OUT_COUNT.rawValue))
        for (swift, c) in header { #expect(swift.rawValue == c, "\(swift.name)") }

        let fib: [(FIBResult, UInt32)] = [
            (.success, UInt32(BPF_FIB_LKUP_RET_SUCCESS)), (.blackhole, UInt32(BPF_FIB_LKUP_RET_BLACKHOLE)),
            (.unreachable, UInt32(BPF_FIB_LKUP_RET_UNREACHABLE)), (.prohibit, UInt32(BPF_FIB_LKUP_RET_PROHIBIT)),
            (.notFwded, UInt32(BPF_FIB_LKUP_RET_NOT_FWDED)),
            (.fwdDisabled, UInt32(BPF_FIB_LKUP_RET_FWD_DISABLED)),
            (.unsuppLWT, UInt32(BPF_FIB_LKUP_RET_UNSUPP_LWT)), (.noNeigh, UInt32(BPF_FIB_LKUP_RET_NO_NEIGH)),
            (.fragNeeded, UInt32(BPF_FIB_LKUP_RET_FRAG_NEEDED)),
            (.noSrcAddr, UInt32(BPF_FIB_LKUP_RET_NO_SRC_ADDR)),
            (.error, UInt32(VRFC_FIB_ERROR.rawValue)),
        ]
        for (swift, c) in fib { #expect(swift.rawValue == c, "\(swift.name)") }
        #expect(MemoryLayout<vrfc_counter>.size == 16)
    }

    @Test("The embedded object is built from bpf/router.c, passes the verifier and has the documented maps")
    func embeddedObjectLoads() throws {
        let program = try RouterProgram(pinDirectory: nil)
        #expect(program.programName == VRFC_PROG_NAME_STR)
        #expect(program.identity.tag.count == 8)
        #expect(program.identity.mapIDs.count == RouterProgram.mapNames.count)

        // Independent view: bpftool reads the loaded program from the kernel.
        let id = try ProgramInfo.read(fd: program.programFD).id
        let json = try Shell.check(["bpftool", "-j", "prog", "show", "id", String(id)]).stdout
        let info = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(info["type"] as? String == "sched_cls")
        #expect(info["name"] as? String == "vrfc_router")
        #expect(info["tag"] as? String == program.identity.tagHex)
        #expect(info["gpl_compatible"] as? Bool == true)
        for mapID in program.identity.mapIDs {
            let m = try Shell.check(["bpftool", "-j", "map", "show", "id", String(mapID)]).stdout
            let map = try #require(try JSONSerialization.jsonObject(with: Data(m.utf8)) as? [String: Any])
            let name = try #require(map["name"] as? String)
            #expect(RouterProgram.mapNames.contains(name))
            #expect(map["type"] as? String == "percpu_array")
            #expect(map["bytes_value"] as? Int == 16)
            #expect(map["max_entries"] as? Int == 16)
        }
    }

    @Test("Two loads of one build have the same tag; an older build's differs")
    func identityIsPerBuild() throws {
        let a = try RouterProgram(pinDirectory: nil)
        let b = try RouterProgram(pinDirectory: nil)
        let older = try RouterProgram(object: RouterVariant.olderBuild(), pinDirectory: nil)
        #expect(a.identity.tag == b.identity.tag)
        #expect(a.identity.mapIDs != b.identity.mapIDs)
        #expect(older.identity.name == a.identity.name)
        #expect(older.identity.tag != a.identity.tag)
    }

    @Test("Counters read from a pin directory that has none fail with the path in the message")
    func statsWithoutPins() throws {
        let dir = "/sys/fs/bpf/vrfc-test-missing-\(UUID().uuidString.lowercased())"
        #expect {
            _ = try RouterStats.read(pinDirectory: dir)
        } throws: { error in
            guard let e = error as? BPFError, case .statsUnavailable(let path, _) = e else { return false }
            return path.hasPrefix(dir) && e.description.contains("vrfc-apply")
        }
    }

    @Test("Garbage is refused as an object with a message, not a crash")
    func garbageObject() throws {
        #expect(throws: BPFError.self) {
            _ = try RouterProgram(object: RouterObject(bytes: Array("not an ELF file".utf8)), pinDirectory: nil)
        }
    }
}
