import CSystemd

/// The service manager's notification socket (`sd_notify`), so a
/// `Type=notify` unit is "active" only once the agent says so. Outside
/// systemd (no `$NOTIFY_SOCKET`) every call does nothing.
public enum SystemdNotify {
    /// Sends `KEY=VALUE` lines (READY=1, STATUS=..., STOPPING=1); false when
    /// there is no manager to tell or it could not be told.
    @discardableResult
    public static func send(_ lines: [String]) -> Bool {
        // A value with a newline would start a line of its own: one line each.
        let text = lines.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        return vrfc_sd_notify(0, text) > 0
    }
}
