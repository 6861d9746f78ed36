#!/usr/bin/env bash
# Regenerates golden/ from fixtures/ on purpose. Run it after a deliberate
# output change, then review `git diff golden/` before committing: the diff
# is exactly what changed for users.
#
# Each fixture is a folder fixtures/NAME/ with config.yaml, a base config
# (frr.conf or frr.conf.tpl) and crs/; every fixture is compiled with
# --hostname node-a --router-id 192.0.2.129 (see Tests/Support/Fixtures.swift).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build --product vrfc >/dev/null
vrfc=.build/debug/vrfc
mkdir -p golden
for dir in fixtures/*/; do
    name=$(basename "$dir")
    base="$dir/frr.conf"; [ -f "$base" ] || base="$dir/frr.conf.tpl"
    common=(--config "$dir/config.yaml" --hostname node-a --router-id 192.0.2.129)
    "$vrfc" compile "${common[@]}" --template "$base" -o "golden/$name.conf" "$dir/crs"
    "$vrfc" compile "${common[@]}" --emit ir -o "golden/$name.ir.json" "$dir/crs"
    "$vrfc" compile "${common[@]}" --emit ops -o "golden/$name.ops.json" "$dir/crs"
    echo "regenerated golden/$name.{conf,ir.json,ops.json}"
done
git --no-pager diff --stat -- golden/ || true
