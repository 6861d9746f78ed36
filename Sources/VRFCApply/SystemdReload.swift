import CSystemd
import Foundation

/// `systemctl reload frr` without systemctl: `ReloadUnit(unit, "replace")`
/// on systemd's manager over the system bus (sd-bus), then waiting for that
/// job's `JobRemoved` signal. The job's result is the reload's outcome:
/// anything but "done" is a failure (systemd runs the unit's ExecReload,
/// for FRR frr-reload.py, and reports how it ended). "done" is not enough:
/// the unit must still be active afterwards. Debian's frr.service reload
/// (`frrinit.sh reload`) first replaces watchfrr, the unit's main process;
/// systemd adopts the new one only from the PID file after a reload that
/// succeeded. A reload that then fails or outlasts the unit's TimeoutSec=
/// (2 min) leaves systemd without a main process, so it stops the whole
/// unit, cleanly (no Restart=), and systemd 252 ends that reload job
/// "done" (seen in SystemdGuestTests; FRR issue 12735). The bus is the one
/// `DBUS_SYSTEM_BUS_ADDRESS` names, else systemd's own.
public enum SystemdReload {
    static let service = "org.freedesktop.systemd1"
    static let path = "/org/freedesktop/systemd1"
    static let manager = "org.freedesktop.systemd1.Manager"

    /// Results of finished jobs by job object path, filled by the signal handler.
    final class Jobs {
        var results: [String: String] = [:]
    }

    /// nil when the reload job ended "done" and the unit is active;
    /// otherwise why not. `orStart`: `ReloadOrRestartUnit`, which starts a
    /// unit that is not running (a rollback after systemd stopped FRR).
    public static func reload(unit: String, timeout: Double = 600, orStart: Bool = false) -> String? {
        // libsystemd is loaded here, on first use (see CSystemd).
        if let why = vrfc_systemd_load() { return String(cString: why) }
        var bus: OpaquePointer? = nil
        var r = vrfc_sd_bus_open_system(&bus)
        guard r >= 0, let bus else { return "cannot connect to the system bus: \(String(cString: strerror(-r)))" }
        defer { vrfc_sd_bus_flush_close_unref(bus) }

        let jobs = Jobs()
        let box = Unmanaged.passRetained(jobs)
        defer { box.release() }
        // Listen before asking, so the signal cannot come before the match.
        r = vrfc_sd_bus_match_signal(
            bus, nil, service, path, manager, "JobRemoved",
            { message, userdata, _ in
                guard let message, let userdata else { return 0 }
                var id: UInt32 = 0
                var job: UnsafePointer<CChar>? = nil
                var unitName: UnsafePointer<CChar>? = nil
                var result: UnsafePointer<CChar>? = nil
                guard vrfc_sd_bus_message_read_basic(message, CChar(UInt8(ascii: "u")), &id) >= 0,
                    vrfc_sd_bus_message_read_basic(message, CChar(UInt8(ascii: "o")), &job) >= 0,
                    vrfc_sd_bus_message_read_basic(message, CChar(UInt8(ascii: "s")), &unitName) >= 0,
                    vrfc_sd_bus_message_read_basic(message, CChar(UInt8(ascii: "s")), &result) >= 0,
                    let job, let result
                else { return 0 }
                Unmanaged<Jobs>.fromOpaque(userdata).takeUnretainedValue().results[String(cString: job)] = String(cString: result)
                return 0
            }, box.toOpaque())
        guard r >= 0 else { return "cannot listen for systemd's JobRemoved: \(String(cString: strerror(-r)))" }
        // Without a subscriber systemd may not send job signals at all.
        if let why = call(bus, "Subscribe", args: [], reply: nil) { return why }

        var job: String? = nil
        let method = orStart ? "ReloadOrRestartUnit" : "ReloadUnit"
        if let why = call(bus, method, args: [unit, "replace"], reply: &job) { return why }
        guard let job else { return "\(method)(\(unit)) returned no job" }
        let deadline = Date().addingTimeInterval(timeout)
        while jobs.results[job] == nil {
            let p = vrfc_sd_bus_process(bus, nil)
            if p < 0 { return "reading the system bus: \(String(cString: strerror(-p)))" }
            if p > 0 { continue }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return "systemd's reload job \(job) for \(unit) did not finish within \(Int(timeout)) s" }
            let w = vrfc_sd_bus_wait(bus, UInt64(min(left, 1) * 1e6))
            if w < 0 && w != -EINTR { return "waiting on the system bus: \(String(cString: strerror(-w)))" }
        }
        let result = jobs.results[job]!
        let what = orStart ? "reload-or-start" : "reload"
        guard result == "done" else { return "systemd's \(what) job for \(unit) ended '\(result)' (see journalctl -u \(unit))" }
        var unitPath: String? = nil
        if let why = call(bus, "GetUnit", args: [unit], reply: &unitPath) { return "after the \(what) job: \(why)" }
        guard let unitPath else { return "GetUnit(\(unit)) returned no unit" }
        let state = property(bus, unitPath, "ActiveState")
        guard state.value != "active" else { return nil }
        guard let active = state.value else { return "after the \(what) job, cannot read \(unit)'s state: \(state.error)" }
        let sub = property(bus, unitPath, "SubState").value.map { " (\($0))" } ?? ""
        return "systemd's \(what) job for \(unit) ended 'done', but \(unit) is \(active)\(sub) now: "
            + (active == "inactive" || active == "failed"
                ? "systemd stopped FRR (a reload that fails or outlasts the unit's TimeoutSec= after frrinit.sh replaced watchfrr, "
                    + "the unit's main process, makes systemd stop the unit; see journalctl -u \(unit))"
                : "see journalctl -u \(unit)")
    }

    /// A string property of a unit (org.freedesktop.systemd1.Unit).
    static func property(_ bus: OpaquePointer, _ unitPath: String, _ name: String) -> (value: String?, error: String) {
        var error = sd_bus_error()
        defer { vrfc_sd_bus_error_free(&error) }
        var value: UnsafeMutablePointer<CChar>? = nil
        let r = vrfc_sd_bus_get_property_string(bus, service, unitPath, "org.freedesktop.systemd1.Unit", name, &error, &value)
        guard r >= 0, let value else {
            return (nil, error.message.map { String(cString: $0) } ?? String(cString: strerror(-r)))
        }
        defer { free(value) }
        return (String(cString: value), "")
    }

    /// A manager method with string arguments; `reply` receives the object
    /// path it returns, when asked for.
    static func call(_ bus: OpaquePointer, _ method: String, args: [String], reply: UnsafeMutablePointer<String?>?) -> String? {
        var m: OpaquePointer? = nil
        var r = vrfc_sd_bus_message_new_method_call(bus, &m, service, path, manager, method)
        guard r >= 0, let m else { return "\(method): \(String(cString: strerror(-r)))" }
        defer { vrfc_sd_bus_message_unref(m) }
        for a in args {
            r = a.withCString { vrfc_sd_bus_message_append_basic(m, CChar(UInt8(ascii: "s")), $0) }
            guard r >= 0 else { return "\(method): \(String(cString: strerror(-r)))" }
        }
        var error = sd_bus_error()
        var answer: OpaquePointer? = nil
        r = vrfc_sd_bus_call(bus, m, 60_000_000, &error, &answer)
        defer {
            vrfc_sd_bus_error_free(&error)
            if let answer { vrfc_sd_bus_message_unref(answer) }
        }
        guard r >= 0 else {
            let name = error.name.map { String(cString: $0) } ?? ""
            let text = error.message.map { String(cString: $0) } ?? String(cString: strerror(-r))
            return "systemd \(method)(\(args.joined(separator: ", "))): \(text)\(name.isEmpty ? "" : " (\(name))")"
        }
        if let reply, let answer {
            var p: UnsafePointer<CChar>? = nil
            if vrfc_sd_bus_message_read_basic(answer, CChar(UInt8(ascii: "o")), &p) >= 0, let p { reply.pointee = String(cString: p) }
        }
        return nil
    }
}
