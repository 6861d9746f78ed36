import Foundation
import Testing
import VRFCApplyTestSupport
import VRFCTestSupport

/// `--reload systemd` against a real systemd: inside the virtme-ng guest,
/// systemd runs as PID 1 of a PID, mount and cgroup namespace of its own
/// (a container on the guest's root; never on the host), with dbus and
/// Debian's own frr.service (frrinit.sh starting zebra, bgpd and staticd
/// under watchfrr; ExecReload `frrinit.sh reload`, i.e. frr-reload.py).
/// A drop-in adds only what a test needs: no default dependencies (no
/// sysinit.target in a container), and before the unit's own ExecReload a
/// command that counts reloads and fails once when asked to. vrfc-apply
/// runs in the container's namespaces (`nsenter -m -p`), so it reaches
/// systemd's bus at /run/dbus/system_bus_socket and FRR at /var/run/frr.
@Suite struct SystemdGuestTests {
    @Test(.timeLimit(.minutes(30)))
    func reloadsFRRThroughARealSystemd() throws {
        let applier = try applierPath()
        let fixture = Fixture(name: "route-targets")
        let crFiles = try FileManager.default.contentsOfDirectory(atPath: fixture.crs).sorted()
        try #require(crFiles.count >= 3)
        for tool in ["unshare", "nsenter", "dbus-daemon", "systemctl"] { _ = try Shell.which(tool) }
        guard FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd") else {
            throw SetupError("/lib/systemd/systemd is missing (Debian package systemd)")
        }

        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("vrfcs-vm-\(UUID().uuidString.prefix(8))").path
        defer { try? fm.removeItem(atPath: dir) }
        for (sub, files) in [("crs-all", crFiles), ("crs-fewer", Array(crFiles.dropFirst()))] {
            try fm.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            for f in files { try fm.copyItem(atPath: fixture.crs + "/" + f, toPath: "\(dir)/\(sub)/\(f)") }
        }
        // What systemd's FRR reads: /etc/frr in the container is this
        // directory. frr.conf starts as the node's hinted base config.
        let etc = dir + "/etc-frr"
        try fm.createDirectory(atPath: etc, withIntermediateDirectories: true)
        let base = try String(contentsOfFile: fixture.base, encoding: .utf8)
        try base.replacingOccurrences(of: "{{.Hostname}}", with: "node-a").write(
            toFile: etc + "/frr.conf", atomically: true, encoding: .utf8)
        try "bgpd=yes\nvtysh_enable=yes\n".write(toFile: etc + "/daemons", atomically: true, encoding: .utf8)
        try "service integrated-vtysh-config\n".write(toFile: etc + "/vtysh.conf", atomically: true, encoding: .utf8)
        let units = dir + "/units"
        for d in ["frr.service.d", "dbus.service.d", "dbus.socket.d"] {
            try fm.createDirectory(atPath: "\(units)/\(d)", withIntermediateDirectories: true)
        }
        try "[Unit]\nDescription=vrfc's systemd test\nWants=dbus.socket dbus.service frr.service\n".write(
            toFile: units + "/vrfc-test.target", atomically: true, encoding: .utf8)
        for d in ["dbus.service.d", "dbus.socket.d"] {
            try "[Unit]\nDefaultDependencies=no\n".write(toFile: "\(units)/\(d)/test.conf", atomically: true, encoding: .utf8)
        }
        try """
        [Unit]
        DefaultDependencies=no
        OnFailure=
        [Service]
        ExecReload=
        ExecReload=/bin/sh -c 'echo reload >>/run/vrfc-reloads; if [ -e /run/vrfc-fail-next-reload ]; then rm /run/vrfc-fail-next-reload; exit 1; fi'
        ExecReload=/usr/lib/frr/frrinit.sh reload

        """.write(toFile: units + "/frr.service.d/test.conf", atomically: true, encoding: .utf8)
        try """
        #!/bin/bash
        # PID 1 of new PID, mount and cgroup namespaces: becomes systemd.
        mount --make-rprivate / && mount -t proc proc /proc &&
          umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
          mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/systemd/system &&
          cp -r \(units)/. /run/systemd/system/ && mount --bind \(etc) /etc/frr || exit 1
        exec env container=vrfc-test /lib/systemd/systemd --unit=vrfc-test.target --log-target=console
        """.write(toFile: dir + "/pid1.sh", atomically: true, encoding: .utf8)

        let d = dir
        let script = """
            #!/bin/bash
            # Runs inside the guest, as root. Each step: NAME.out, NAME.err, NAME.rc.
            D=\(d); A=\(applier); C=\(fixture.config)
            run() { local n=$1; shift; "$@" >"$D/$n.out" 2>"$D/$n.err"; echo $? >"$D/$n.rc"; }
            ip link add dum.underlay mtu 9100 type dummy && ip address add 192.0.2.129/32 dev dum.underlay &&
              ip link set dum.underlay up || exit 1
            mkdir /sys/fs/cgroup/vrfc-test && echo $$ >/sys/fs/cgroup/vrfc-test/cgroup.procs || exit 1
            unshare --pid --fork --mount --cgroup bash $D/pid1.sh >$D/systemd.log 2>&1 &
            U=$!
            for i in $(seq 100); do SD=$(pgrep -P $U); [ -n "$SD" ] && break; sleep 0.3; done
            [ -n "$SD" ] || { echo "no systemd" >$D/boot.err; exit 1; }
            # The PID namespace too: /proc there is the container's, and a
            # Swift program reads its arguments from /proc/self/cmdline.
            IN="nsenter -t $SD -m -p"
            for i in $(seq 300); do
              $IN test -S /run/dbus/system_bus_socket && $IN test -S /var/run/frr/bgpd.vty &&
                [ "$($IN systemctl is-active frr.service)" = active ] && break; sleep 1
            done
            $IN systemctl show -p ActiveState -p FragmentPath -p DropInPaths frr.service >$D/unit.txt 2>&1
            $IN readlink /proc/1/exe >$D/pid1 2>&1
            ap="$IN $A apply --frr-config /etc/frr/frr.conf --state-dir /run/vrfc-state --hostname node-a --router-id 192.0.2.129 --config $C"
            conf() { $IN vtysh -c 'show running-config' >"$D/$1.conf" 2>&1; $IN vtysh -c 'show vrf vni' >"$D/$1.vni" 2>&1; $IN cat /run/vrfc-reloads >"$D/$1.reloads" 2>/dev/null; $IN cat /etc/frr/frr.conf >"$D/$1.disk"; }
            run first $ap $D/crs-fewer; conf first
            run added $ap --reload systemd $D/crs-all; conf added
            $IN touch /run/vrfc-fail-next-reload
            run failing $ap --reload systemd $D/crs-fewer; conf failing
            run removed $ap --reload systemd $D/crs-fewer; conf removed
            $IN systemctl poweroff --no-block
            echo ok >"$D/finished"
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: dir + "/guest.sh"))
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/guest.sh")
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)

        let boot = try Guest.boot(dir + "/guest.sh", rwdir: dir, timeout: 1500)
        try #require(
            fm.fileExists(atPath: dir + "/finished"),
            "the guest did not finish its script:\n\(boot)\n\(readText(dir + "/boot.err") ?? "")\nsystemd: \(readText(dir + "/systemd.log") ?? "")"
        )

        func text(_ name: String) -> String { readText("\(dir)/\(name)") ?? "" }
        func step(_ n: String) -> (rc: String, out: String, err: String) {
            (text("\(n).rc").trimmingCharacters(in: .whitespacesAndNewlines), text("\(n).out"), text("\(n).err"))
        }
        func reloads(_ n: String) -> Int { text("\(n).reloads").split(separator: "\n").count }
        let systemd = "systemd: \(text("systemd.log").suffix(3000))"

        // systemd itself is PID 1 there, running Debian's unit with the test's drop-in.
        #expect(text("pid1").hasSuffix("systemd\n"), "\(text("pid1"))")
        let unit = text("unit.txt")
        #expect(
            unit.contains("ActiveState=active")
                && (unit.contains("FragmentPath=/lib/systemd/system/frr.service")
                    || unit.contains("FragmentPath=/usr/lib/systemd/system/frr.service")),
            "\(unit)\n\(systemd)")

        // The VRF the first CR file adds: its name is in every one of its FRR lines.
        let fewerVRFs = Set(vrfs(in: text("first.conf")))
        let allVRFs = Set(vrfs(in: text("added.conf")))
        let added = allVRFs.subtracting(fewerVRFs)

        // 1. No kept config on a systemd host: the default is systemd's reload.
        let first = step("first")
        #expect(first.rc == "0" && first.out.contains("reload: systemd (default; no delta:"), "\(first)\n\(systemd)")
        #expect(first.out.contains("verified: FRR runs the new config"), "\(first)")
        #expect(reloads("first") == 1, "one reload job ran the unit's ExecReload")
        #expect(!fewerVRFs.isEmpty, "FRR runs the VRFs: \(text("first.conf"))")

        // 2. A VRF added: the job ended "done", FRR runs it with its VNI.
        let a = step("added")
        #expect(a.rc == "0" && a.out.contains("reload: systemd (requested)") && a.out.contains("verified"), "\(a)\n\(systemd)")
        #expect(reloads("added") == 2)
        #expect(added.count == 1, "one VRF more: \(fewerVRFs) -> \(allVRFs)")
        for v in added { #expect(text("added.vni").contains(v), "zebra lists \(v) with its VNI: \(text("added.vni"))") }

        // 3. The unit's reload fails: the job ends "failed", vrfc-apply
        //    rolls back (the restored file reloaded by systemd again).
        let f = step("failing")
        #expect(f.rc == "1" && f.err.contains("ended 'failed'") && f.err.contains("rolled back"), "\(f)\n\(systemd)")
        #expect(reloads("failing") == 4, "the failed job and the rollback's reload")
        #expect(text("failing.disk") == text("added.disk"), "frr.conf is the last good one again")
        #expect(Set(vrfs(in: text("failing.conf"))) == allVRFs, "FRR still runs every VRF: \(text("failing.conf"))")

        // 4. The same removal with a working unit: the VRF goes (links first, then its block).
        let r = step("removed")
        #expect(r.rc == "0" && r.out.contains("reload: systemd (requested)") && !r.out.contains("rolling back"), "\(r)\n\(systemd)")
        #expect(reloads("removed") == 5)
        #expect(Set(vrfs(in: text("removed.conf"))) == fewerVRFs, "\(text("removed.conf"))")
        for v in added { #expect(!text("removed.vni").contains(v), "zebra no longer lists \(v): \(text("removed.vni"))") }
    }

    /// The `vrf NAME` blocks of a running config.
    func vrfs(in config: String) -> [String] {
        config.split(separator: "\n").filter { $0.hasPrefix("vrf ") }.map { String($0.dropFirst(4)) }
    }
}
