#!/usr/bin/env bash
# The long fuzz run: structure-aware mutations of the fixtures through the
# YAML readers and `vrfc compile` (see Tests/Fuzz/main.swift), for SECONDS
# (default one hour). The test suite runs the same harness for a minute.
#   scripts/fuzz.sh [SECONDS] [SEED]
# Failing cases are kept in ${VRFC_FUZZ_OUT:-/tmp/vrfc-fuzz}/failure-N/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build --product vrfc >/dev/null
swift build --product vrfc-fuzz >/dev/null
bin=$(swift build --show-bin-path)
seed=${2:-$(date +%s)}
exec "$bin/vrfc-fuzz" --seconds "${1:-3600}" --seed "$seed" --out "${VRFC_FUZZ_OUT:-/tmp/vrfc-fuzz}"
