import Foundation

/// Where the node config is when `--config` is not given: `$OPERATOR_CONFIG`
/// (as the Go network-operator reads it), else the operator's own path.
public enum NodeConfigPath {
    public static let fallback = "/opt/network-operator/config.yaml"

    public static var `default`: String {
        // getenv, not ProcessInfo's environment: that builds a dictionary of every variable first.
        getenv("OPERATOR_CONFIG").map { String(cString: $0) } ?? fallback
    }
}
