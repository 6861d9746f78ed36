#!/usr/bin/env bash
# Regenerates golden/ from fixtures/ on purpose. Run it after a deliberate
# output change, then review `git diff golden/` before committing: the diff
# is exactly what changed for users.
#
# Each fixture is a folder fixtures/NAME/ with config.yaml, a base config
# (frr.conf or frr.conf.tpl) and crs/; every fixture is compiled with
# --hostname node-a --router-id 192.0.2.129 (as `Fixture` in Tests/Support/Repo.swift does).
# vrfc graph of each fixture and vrfc diff of each fixtures-diff/ pair too.
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
    "$vrfc" graph --config "$dir/config.yaml" -o "golden/$name.graph.dot" "$dir/crs"
    # The node's CNI conflist, for fixtures with pod routes.
    if grep -q '^podRoutes:' "$dir/config.yaml"; then
        "$vrfc" compile "${common[@]}" --emit cni -o "golden/$name.cni.json" "$dir/crs"
    fi
    echo "regenerated golden/$name.{conf,ir.json,ops.json,graph.dot}"
done
# vrfc diff on fixtures-diff/NAME (old/ -> new/; old-config.yaml when the node
# config changes too). Exit 4 means "changes", not failure.
mkdir -p golden/diff
for dir in fixtures-diff/*/; do
    name=$(basename "$dir")
    old_config="$dir/config.yaml"; [ -f "$dir/old-config.yaml" ] && old_config="$dir/old-config.yaml"
    for fmt in txt json md dot; do
        case $fmt in txt) flags=();; json) flags=(--json);; md) flags=(--markdown);; dot) flags=(--graph dot);; esac
        rc=0
        "$vrfc" diff --config "$dir/config.yaml" --old-config "$old_config" "${flags[@]}" -o "golden/diff/$name.$fmt" "$dir/old" -- "$dir/new" || rc=$?
        [ "$rc" = 0 ] || [ "$rc" = 4 ] || { echo "regen-golden: vrfc diff failed for $name" >&2; exit 1; }
    done
    echo "regenerated golden/diff/$name.{txt,json,md,dot}"
done
git --no-pager diff --stat -- golden/ || true
