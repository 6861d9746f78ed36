import Foundation
import Glibc
import Testing
import VRFCTestSupport

@testable import VRFCMetrics

/// The metrics endpoint is split at the privilege boundary: the HTTP server
/// (FlyingFox, with FoundationNetworking and libcurl) lives only in
/// `vrfc-metrics`, which `vrfc-apply metrics` starts as an unprivileged
/// user with no capabilities; vrfc-apply keeps the router's maps and the
/// links and answers over a socket pair.
@Suite(.serialized) struct PrivilegeSeparationTests {
    /// vrfc-apply links no HTTP server and no libcurl; vrfc-metrics does
    /// (the same checks find them there, so they can see them).
    @Test func theApplierLinksNoHTTPServer() throws {
        let forbidden = ["9FlyingFox", "11FlyingSocks", "curl_easy_", "20FoundationNetworking"]
        func symbolHits(_ binary: String) throws -> [String] {
            let symbols = try Shell.check(["nm", binary]).stdout
            return forbidden.filter { symbols.contains($0) }
        }
        func needed(_ binary: String) throws -> [String] {
            try Shell.check(["readelf", "-d", binary]).stdout.split(separator: "\n")
                .filter { $0.contains("(NEEDED)") }.map(String.init)
        }
        let applier = Repo.executable("vrfc-apply")
        let exporter = Repo.executable("vrfc-metrics")
        #expect(try symbolHits(applier) == [], "vrfc-apply must not link these")
        let applierNeeds = try needed(applier)
        let exporterNeeds = try needed(exporter)
        #expect(
            applierNeeds.filter { $0.contains("curl") || $0.contains("FoundationNetworking") } == [],
            "vrfc-apply must not load libcurl or FoundationNetworking: \(applierNeeds)")
        // FlyingFox and FlyingSocks are there; libcurl's own symbols are only
        // referenced through the dynamically loaded FoundationNetworking.
        #expect(
            try symbolHits(exporter).filter { $0.contains("Flying") }.count == 2,
            "vrfc-metrics holds the HTTP server (the check must see it)")
        #expect(exporterNeeds.contains { $0.contains("FoundationNetworking") }, "\(exporterNeeds)")
    }

    /// `vrfc-apply metrics` as root against a real FRR: the exporter it
    /// starts runs as nobody with FRR's vty group only, no capabilities and
    /// no_new_privs, carries libcurl (vrfc-apply does not), reaches FRR
    /// through vtysh all the same, gets the router and links sections from
    /// vrfc-apply, and goes away when vrfc-apply does.
    @Test func theExporterRunsUnprivileged() throws {
        guard getuid() == 0 else { throw SetupError("this test starts vrfc-apply as root") }
        let frr = try FRRInstance(tag: "metpriv")
        defer { frr.stop() }
        let port = Int.random(in: 20_000..<60_000)
        let server = try MetricsServer(
            netns: frr.name, listen: "127.0.0.1:\(port)", frrPathspace: frr.name, pinDirectory: "/sys/fs/bpf/vrfc-none-\(port)")
        defer { server.stop() }
        let applier = server.process.processIdentifier  // `ip netns exec` execs vrfc-apply in place

        let scraped = try MetricsScrape.get("http://127.0.0.1:\(port)/metrics", netns: frr.name)
        #expect(scraped.status == 200)
        // FRR answered vtysh run by the unprivileged exporter (through the vty group).
        #expect(
            scraped.success("frr_bgp") == 1 && scraped.success("frr_route") == 1 && scraped.success("frr_evpn") == 1,
            "\(scraped.samples("vrfc_scrape_collector_success").map { ($0.labels, $0.value) })")
        // The privileged side's sections: the links (none of vrfc's here) and the
        // router, which fails for want of pins — with its reason, from vrfc-apply.
        #expect(scraped.success("links") == 1 && scraped.value("vrfc_links_owned", ["kind": "vxlan"]) == 0)
        #expect(scraped.success("router") == 0)

        let children = ProcessStatus.children(of: applier)
        try #require(children.count == 1, "vrfc-apply has one child, the exporter: \(children)")
        let exporter = children[0]
        let status = try #require(ProcessStatus(pid: exporter))
        let nobody = try #require(getpwnam("nobody")).pointee
        let vty = try #require(getgrnam("frrvty")).pointee.gr_gid
        #expect(status.uids == Array(repeating: nobody.pw_uid, count: 4), "\(status.fields["Uid"] ?? "")")
        #expect(status.gids == Array(repeating: nobody.pw_gid, count: 4), "\(status.fields["Gid"] ?? "")")
        #expect(status.groups == [vty], "only FRR's vty group: \(status.fields["Groups"] ?? "")")
        for set in ["Eff", "Prm", "Inh", "Amb"] {
            #expect(status.capabilities(set) == 0, "Cap\(set) \(status.fields["Cap" + set] ?? "?")")
        }
        #expect(status.noNewPrivs)
        let exporterPath = URL(fileURLWithPath: Repo.executable("vrfc-metrics")).resolvingSymlinksInPath().path
        #expect((readText("/proc/\(exporter)/cmdline") ?? "").hasPrefix(exporterPath), "\(readText("/proc/\(exporter)/cmdline") ?? "")")
        // Where the HTTP server's libraries are loaded: in the exporter only.
        #expect(ProcessStatus.maps(exporter, contain: "libFoundationNetworking"))
        #expect(!ProcessStatus.maps(applier, contain: "libFoundationNetworking") && !ProcessStatus.maps(applier, contain: "libcurl"))
        #expect(ProcessStatus(pid: applier)?.uids.first == 0, "vrfc-apply itself stays root")

        // The exporter never outlives vrfc-apply.
        kill(applier, SIGKILL)
        server.process.waitUntilExit()
        var gone = false
        for _ in 0..<100 {
            if kill(exporter, 0) != 0 || (ProcessStatus(pid: exporter)?.fields["State"] ?? "").hasPrefix("Z") {
                gone = true
                break
            }
            usleep(100_000)
        }
        #expect(gone, "the exporter \(exporter) is still running 10 s after vrfc-apply was killed")
    }

    /// vrfc-metrics refuses to run privileged; vrfc-apply refuses a root
    /// metrics user and a missing vty group before starting anything.
    @Test func privilegedStartsAreRefused() throws {
        guard getuid() == 0 else { throw SetupError("this test runs as root") }
        let direct = try Shell.run([Repo.executable("vrfc-metrics"), "--listen", "127.0.0.1:1"], timeout: 30)
        #expect(direct.status == 1 && direct.stderr.contains("refusing to run as root"), "\(direct)")
        let asRoot = try Shell.run([Repo.executable("vrfc-apply"), "metrics", "--listen", "127.0.0.1:1", "--user", "root"], timeout: 30)
        #expect(asRoot.status == 1 && asRoot.stderr.contains("metrics user 'root' is root"), "\(asRoot)")
        let noGroup = try Shell.run(
            [Repo.executable("vrfc-apply"), "metrics", "--listen", "127.0.0.1:1", "--vty-group", "vrfc-no-such-group"], timeout: 30)
        #expect(noGroup.status == 1 && noGroup.stderr.contains("group 'vrfc-no-such-group'"), "\(noGroup)")
        let badListen = try Shell.run([Repo.executable("vrfc-apply"), "metrics", "--listen", "nowhere"], timeout: 30)
        #expect(badListen.status == 2, "\(badListen)")
    }

    /// The channel itself: the privileged side answers an 8-byte sequence
    /// number with its sections and ignores anything else; the client
    /// matches replies to requests.
    @Test func theChannelAnswersOnlyRequests() throws {
        let (privileged, exporterEnd) = try PrivilegedChannel.pair()
        defer { close(exporterEnd) }
        let responder = PrivilegedResponder(
            fd: privileged, collectors: MetricsEndpoint.privilegedCollectors(pinDirectory: "/nonexistent-vrfc-pins"),
            persistent: { "vrfc_test_family 1\n" })
        let done = DispatchSemaphore(value: 0)
        Thread {
            responder.serve()
            close(privileged)
            done.signal()
        }.start()

        // Garbage (not 8 bytes) gets no answer.
        for junk in [[UInt8](repeating: 7, count: 3), [UInt8](repeating: 9, count: 100)] {
            _ = junk.withUnsafeBytes { send(exporterEnd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var p = pollfd(fd: exporterEnd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 500) == 0, "no reply to messages that are not requests")

        let client = PrivilegedClient(fd: exporterEnd, timeout: 60)
        let first = client.fetch()
        let second = client.fetch()
        #expect(first.sequence == 1 && second.sequence == 2)
        #expect(first.sections.map(\.collector) == PrivilegedChannel.collectorNames)
        #expect(first.persistent == "vrfc_test_family 1\n")
        let router = try #require(first.sections.first { $0.collector == "router" })
        #expect(!router.ok && (router.error ?? "").contains("/nonexistent-vrfc-pins"), "\(router)")
        let links = try #require(first.sections.first { $0.collector == "links" })
        #expect(links.ok && links.exposition.contains("vrfc_links_owned{kind=\"vrf\"}"), "\(links)")

        // The exporter's end closing ends the responder.
        shutdown(exporterEnd, Int32(SHUT_RDWR))
        #expect(done.wait(timeout: .now() + 10) == .success)
    }
}
