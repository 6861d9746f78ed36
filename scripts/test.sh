#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian 12,
# as root), builds everything, and runs every test target: unit and golden
# tests, FRR as the oracle (zebra+bgpd in network namespaces), the applier
# against this kernel and against a Debian kernel under virtme-ng, and the
# tc router program on real packets; then the end-to-end lab
# (scripts/lab.sh). Tests that cannot set up their environment fail; none is
# skipped. Arguments go to `swift test`; the lab runs either way.
#
# `scripts/test.sh --quick [ARGS]`: only the test targets that need no
# privileges (any user, nothing installed beyond the build's own
# dependencies, no lab): the first group of Package.swift's test targets.
set -euo pipefail
cd "$(dirname "$0")/.."
# Style first: swift-format (part of the toolchain) with the repository's
# .swift-format; a file it would change is a failure that names the line.
lint() { /opt/swift/usr/bin/swift-format lint --strict -r -p Sources Tests Plugins Package.swift; }
# The no-privilege group; keep in step with Package.swift.
quick='^(VRFCModelTests|VRFCYAMLTests|VRFCFrontendTests|VRFCFRRTests|VRFCAnalysisTests|VRFCApplyUnitTests|VRFCHealthTests)\.'
if [ "${1:-}" = --quick ]; then
    shift
    export PATH=/opt/swift/usr/bin:$PATH
    lint
    swift build --build-tests
    exec swift test --skip-build --filter "$quick" "$@"
fi
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (network namespaces, FRR daemons, BPF); scripts/test.sh --quick runs the tests that need no privileges" >&2; exit 1; }
scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
lint
swift build --build-tests
status=0
swift test --skip-build "$@" || status=$?
scripts/lab.sh || status=$?
exit $status
