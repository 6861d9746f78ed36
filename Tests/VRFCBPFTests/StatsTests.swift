import Foundation
import Testing
import VRFCBPF
import VRFCBPFTestSupport
import VRFCTestSupport

@Suite("Router counters as `vrfc-apply bpf stats` prints them")
struct StatsTests {
    @Test("Table and JSON hold the pinned counters, summed over CPUs")
    func tableAndJSON() throws {
        try withNamespaces(["stats"]) { namespaces in
            try withPinDirectory { pin in
                let ns = namespaces[0]
                let program = try RouterProgram(pinDirectory: pin)
                // Sent as if received on lo: its MAC is all zeros, so these are "for us".
                let zero: [UInt8] = [0, 0, 0, 0, 0, 0]
                let arp = Frame.arpRequest(srcMAC: [2, 0, 0, 0, 0, 1], senderIP: "192.0.2.1", targetIP: "192.0.2.2")
                let expiring = Frame.ipv4(dstMAC: zero, src: "192.0.2.1", dst: "198.51.100.1", ttl: 1)
                // A fresh namespace does not forward: the lookup says so.
                let lookup = Frame.ipv4(dstMAC: zero, src: "192.0.2.1", dst: "198.51.100.1")
                let frames = [arp, arp, arp, expiring, lookup, lookup]
                try ns.run {
                    for f in frames { _ = try program.testRun(frame: f, ifindex: 1) }
                }
                let stats = try RouterStats.read(pinDirectory: pin)
                let table = stats.table()
                let rows = Dictionary(
                    table.split(separator: "\n").compactMap { line -> (String, [String])? in
                        let fields = line.split(separator: " ").map(String.init)
                        return fields.count == 3 ? (fields[0], Array(fields[1...])) : nil
                    }, uniquingKeysWith: { a, _ in a })
                let expected: [(String, Int, Int)] = [
                    ("pass_not_ip", 3, 3 * arp.count), ("pass_ttl", 1, expiring.count),
                    ("pass_fib", 2, 2 * lookup.count), ("fwd_disabled", 2, 2 * lookup.count),
                    ("routed", 0, 0), ("success", 0, 0),
                ]
                for (name, packets, bytes) in expected {
                    #expect(rows[name] == [String(packets), String(bytes)], "row \(name) in:\n\(table)")
                }
                #expect(stats.totalPackets == UInt64(frames.count))
                let decoded = try JSONDecoder().decode(RouterStats.self, from: Data(stats.json().utf8))
                #expect(decoded == stats)
                #expect(decoded.source == pin)
            }
        }
    }
}
