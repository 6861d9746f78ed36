#!/usr/bin/env bash
# Compiles the shipped example node (fixtures/mgmt-vrf: the Go operator's documented
# management VRF plus two tenant VRFs) and prints its frr.conf. Needs only
# the Swift toolchain; vrfc links no system C library.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
command -v swift >/dev/null || { echo "run-example: swift not found (expected /opt/swift)" >&2; exit 1; }
swift build --product vrfc >&2
exec .build/debug/vrfc compile \
    --config fixtures/mgmt-vrf/config.yaml \
    --template fixtures/mgmt-vrf/frr.conf \
    --hostname node-a --router-id 192.0.2.129 \
    fixtures/mgmt-vrf/crs
