import Foundation

/// The one virtme-ng boot of every guest-kernel test: this machine's kernel
/// has no VRF device, so those tests boot a Debian kernel that has one. The
/// guest sees the host's files (read-only except `rwdir`) and runs `command`
/// as root; tests hand results back through files in `rwdir`.
public enum Guest {
    /// A Debian kernel whose modules include vrf.ko (package
    /// linux-image-amd64); `VRFC_TEST_KERNEL` overrides.
    public static func kernel() throws -> String {
        if let k = ProcessInfo.processInfo.environment["VRFC_TEST_KERNEL"] { return k }
        let boot = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        for image in boot.filter({ $0.hasPrefix("vmlinuz-") }).sorted().reversed() {
            let version = String(image.dropFirst("vmlinuz-".count))
            let net = (try? FileManager.default.contentsOfDirectory(atPath: "/lib/modules/\(version)/kernel/drivers/net")) ?? []
            if net.contains(where: { $0.hasPrefix("vrf.ko") }) { return "/boot/" + image }
        }
        throw SetupError("no Debian kernel with vrf.ko under /boot (package linux-image-amd64); run scripts/install-deps.sh")
    }

    /// Boots the guest (no KVM here: emulated, ~20 s or more under load),
    /// runs `command` (a shell command line) and returns what the boot
    /// printed. A boot still running after `timeout` seconds is killed and
    /// is an error, as is a `vng` that cannot be started.
    public static func boot(_ command: String, rwdir: String, memory: String = "2G", timeout: Double = 900) throws -> CommandResult {
        let kernel = try kernel()
        let vng = try Shell.which("vng")
        let r = try Shell.run(
            [vng, "-r", kernel, "--disable-microvm", "--disable-kvm", "--memory", memory, "--rwdir", rwdir, "--", command],
            timeout: timeout)
        if r.timedOut { throw SetupError("the guest (\(kernel)) did not finish within \(Int(timeout)) s:\n\(r)") }
        return r
    }

    /// Runs a bash `script` in the guest as root: writes it to
    /// `rwdir/guest.sh` with a last line that leaves `rwdir/finished`, boots
    /// (`boot`), and fails unless the script got to that line. Returns what
    /// the boot printed; the script hands its results back in `rwdir`.
    @discardableResult
    public static func run(script: String, rwdir: String, memory: String = "2G", timeout: Double = 900) throws -> CommandResult {
        let path = rwdir + "/guest.sh"
        let finished = rwdir + "/finished"
        let body = (script.hasPrefix("#!") ? "" : "#!/bin/bash\n") + script + "\necho ok >'\(finished)'\n"
        try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        let r = try boot(path, rwdir: rwdir, memory: memory, timeout: timeout)
        guard FileManager.default.fileExists(atPath: finished) else {
            throw SetupError("the guest did not finish its script (\(path)):\n\(r)")
        }
        return r
    }
}
