#!/usr/bin/env bash
# Benchmark (not a test): latency from a changed CR file to FRR running the
# change, per reload strategy, on a synthetic node (bench/gen-node.py; 100
# VRFs x 10 CRs x 20+20 items, about 55,000 frr.conf lines by default).
#
# One real zebra + bgpd in a namespace of their own (pathspace -N), the
# node's links in the same namespace. For each change, REPEAT times:
#   delta       vrfc compile --emit bundle (with the kept IR) + vrfc-apply
#               apply --reload delta (the delta in one vtysh -f, then the
#               verification against show running-config, links up)
#   frr-reload  the same with --reload frr-reload (FRR's frr-reload.py)
#   floor       the delta's lines by hand in one `vtysh -f`, nothing else
# Changes: one prefix added to a CR, one CR's community changed, one VRF
# removed (all its CRs), one VRF added (the reverse). Each forward change is
# followed by its reverse, so every measurement starts from the same node.
# The clock runs from copying the changed file into place until the command
# returns; compile and apply are timed separately and summed, leaving out
# the benchmark's own step between them (this kernel has no VRF device, so
# the vr. links are taken out of the bundle's op list, as in the tests).
#
#   bench/reload.sh                       defaults
#   VRFS=30 REPEAT=3 REPEAT_FULL=2 bench/reload.sh
#   SCRATCH=.build-x                      another build directory
#   NO_BUILD=1                            the release binaries as they are
#   CHANGES="prefix novrf"                some of the changes only
#   VRFC_TIMINGS=1 TIMING_LOG=FILE   vrfc-apply's phase times into FILE
#
# Every delta run's phases (the compile, vrfc-apply's own `timing:` phases,
# FRR's load among them) are kept and printed after the table, p50 per
# change beside the floor of the same run (PHASES=0 leaves them out).
#   FRR_DEBUG="zebra vxlan;zebra kernel"  FRR debug logs on (into the logs below)
#
# FRR's logs: each daemon logs to $W/frr/DAEMON.log and, where gdb is
# installed, runs under gdb, which on a crash writes the backtrace to
# $W/frr/DAEMON.gdb and a core to $W/frr/DAEMON.core. A run that fails keeps
# them (and the last apply's output) in a directory of its own and prints
# where; a run that succeeds removes them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
VRFS=${VRFS:-100}
CRS=${CRS:-10}
ITEMS=${ITEMS:-20}
REPEAT=${REPEAT:-5}
REPEAT_FULL=${REPEAT_FULL:-3}
SCRATCH=${SCRATCH:-.build}

[ "$(id -u)" = 0 ] || { echo "bench/reload.sh needs root (namespaces, FRR daemons)" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then   # NO_BUILD=1: use the release binaries as they are
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc-apply >/dev/null
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc >/dev/null
fi
BIN="$PWD/$SCRATCH/release"

NAME="vrfcb-$$"
W=$(mktemp -d /tmp/vrfc-reload-bench.XXXXXX)
chmod 755 "$W"
FRRPIDS=()
GDBPIDS=()
DAEMONS=(zebra bgpd)
# Which FRR daemon died, with the files that say why.
frr_deaths() {
    local i d
    for i in "${!DAEMONS[@]}"; do
        d=${DAEMONS[$i]}
        kill -0 "${FRRPIDS[$i]}" 2>/dev/null && continue
        echo "$d (pid ${FRRPIDS[$i]}) is gone; its log: $W/frr/$d.log"
        [ -s "$W/frr/$d.gdb" ] && echo "  gdb: $W/frr/$d.gdb" && grep -A12 "received signal" "$W/frr/$d.gdb" | sed 's/^/  /'
        [ -s "$W/frr/$d.core" ] && echo "  core: $W/frr/$d.core (with /usr/lib/frr/$d)"
    done
    return 0
}
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -d "$W/frr" ]; then
        # Keep what says why: FRR's logs, gdb's backtraces and cores, the
        # last apply's output and delta.
        local keep
        keep=$(mktemp -d /tmp/vrfc-reload-bench-failed.XXXXXX)
        frr_deaths > "$W/frr/deaths.txt"
        cp -a "$W/frr" "$keep/" 2>/dev/null || true
        cp -a "$W/apply.out" "$W/last.vtysh" "$W/fwd.vtysh" "$W/rev.vtysh" "$W/floor.out" "$keep/" 2>/dev/null || true
        echo "bench/reload.sh failed (exit $rc); FRR's logs and the last apply kept in $keep" >&2
    fi
    for p in "${FRRPIDS[@]}" "${GDBPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${GDBPIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NAME" 2>/dev/null || true
    rm -rf "/var/run/frr/$NAME" "/sys/fs/bpf/$NAME" "$W"
}
trap cleanup EXIT
trap "exit 1" TERM INT

ip netns add "$NAME"
ip -n "$NAME" link set lo up
ip -n "$NAME" link add dum.underlay mtu 9100 type veth peer name ul.peer mtu 9100
ip -n "$NAME" address add 192.0.2.129/32 dev dum.underlay
mkdir -p "$W/frr" && chown frr:frr "$W/frr"
for d in "${DAEMONS[@]}"; do
    extra=()
    [ "$d" = bgpd ] && extra=(-p 0)
    args=(/usr/lib/frr/$d -N "$NAME" -F traditional -i "$W/frr/$d.pid" --log "file:$W/frr/$d.log" --log-level debug "${extra[@]}")
    if command -v gdb > /dev/null; then
        # In the foreground under gdb: a fatal signal stops it, and gdb
        # writes the backtrace and a core (no core_pattern, no ulimit, and
        # FRR's own handler, which names only exported functions, is skipped).
        ip netns exec "$NAME" gdb -q -batch -nx -ex 'set pagination off' -ex 'set confirm off' \
            -ex 'handle all nostop noprint pass' \
            -ex 'handle SIGSEGV SIGBUS SIGABRT SIGFPE SIGILL stop print nopass' \
            -ex run -ex 'bt 40' -ex 'info registers' -ex 'x/24i $pc-64' -ex "generate-core-file $W/frr/$d.core" \
            -ex kill --args "${args[@]}" > "$W/frr/$d.gdb" 2>&1 < /dev/null &
        GDBPIDS+=("$!")
    else
        ip netns exec "$NAME" "${args[@]}" -d
    fi
    for _ in $(seq 600); do [ -S "/var/run/frr/$NAME/$d.vty" ] && [ -s "$W/frr/$d.pid" ] && break; sleep 0.05; done
    [ -S "/var/run/frr/$NAME/$d.vty" ] || { echo "$d did not start; see $W/frr/$d.log $W/frr/$d.gdb" >&2; exit 1; }
    FRRPIDS+=("$(cat "$W/frr/$d.pid")")
done
# FRR_DEBUG: after every full reload too (frr-reload.py turns off what
# the file does not say).
frr_debug() {
    [ -n "${FRR_DEBUG:-}" ] || return 0
    local dbg c
    IFS=';' read -ra dbg <<< "$FRR_DEBUG"
    for c in "${dbg[@]}"; do vtysh -N "$NAME" -c "debug $c" > /dev/null 2>&1; done
}

python3 bench/gen-node.py "$W/node" "$VRFS" "$CRS" "$ITEMS" >/dev/null
# The variants of the CR file: one prefix more in one CR, another community
# on one CR, and the last VRF's CRs gone.
python3 - "$W/node" "$VRFS" "$CRS" <<'EOF'
import re, sys
d, vrfs, crs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
docs = open(f"{d}/crs.yaml").read().split("---\n")
mid, last, cr = f"v{vrfs // 2:05d}", f"v{vrfs - 1:05d}", min(3, crs - 1)
def variant(name, docs):
    open(f"{d}/crs-{name}.yaml", "w").write("---\n".join(docs))
variant("base", docs)
# Appended with a seq of its own, so no other item's (default) seq moves.
prefix = [x.replace("  export:\n", "  - {cidr: 192.0.2.240/28, action: permit, seq: 100000}\n  export:\n", 1)
          if f"name: {mid}-cr{cr}\n" in x else x for x in docs]
variant("prefix", prefix)
community = [x.replace(f'community: "64510:{cr}"', 'community: "64510:999"') if f"name: {mid}-cr{cr}\n" in x else x for x in docs]
variant("community", community)
variant("novrf", [x for x in docs if f"vrf: {last}\n" not in x])
EOF
# An EVPN node: the default instance advertises all VNIs (zebra's EVPN on).
# Without it zebra 8.4 keeps a removed VRF's VNI as an L2 VNI on a VXLAN
# device that then goes, and crashes at the VRF's next `vni` (README,
# Removing a VRF); vrfc-apply then refuses to remove a VRF. EVPN=0 leaves
# it out.
if [ "${EVPN:-1}" = 1 ]; then
    python3 - "$W/node/frr.conf" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
i = next(i for i, l in enumerate(lines) if l.startswith("router bgp "))
j = next(j for j in range(i, len(lines)) if lines[j] == "exit")
lines[j:j] = [" !", " address-family l2vpn evpn", "  advertise-all-vni", " exit-address-family"]
open(p, "w").write("\n".join(lines))
EOF
fi
sed -e 's/{{.Hostname}}/node-bench/' -e 's/{{.UnderlayRouterID}}/192.0.2.129/' "$W/node/frr.conf" > "$W/frr.conf"
mkdir "$W/crs"

now() { date +%s%N; }
set_crs() { cp "$W/node/crs-$1.yaml" "$W/crs/.new" && mv "$W/crs/.new" "$W/crs/crs.yaml"; }

# reconcile RELOAD EXPECT [KEY]: compile + apply; prints the milliseconds and
# keeps the bundle's delta script in $W/last.vtysh; with KEY, the run's
# phases go into $W/phases.
reconcile() {
    local reload=$1 expect=$2 key=${3:-} t0 t1 t2 t3 running=() timings=()
    [ "${PHASES:-1}" = 1 ] && [ -n "$key" ] && timings=(VRFC_TIMINGS=1)
    [ -f "$W/state/frr.conf.good.ir.json" ] && running=(--running-ir "$W/state/frr.conf.good.ir.json")
    t0=$(now)
    "$BIN/vrfc" compile --emit bundle --config "$W/node/config.yaml" --template "$W/node/frr.conf" \
        --hostname node-bench --router-id 192.0.2.129 --table-range 1000-1999 "${running[@]}" "$W/crs" > "$W/bundle.json"
    t1=$(now)
    python3 - "$W/bundle.json" "$W/bundle-novrf.json" "$W/last.vtysh" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
for l in b["ops"]["links"]:
    if l.get("master", "").startswith("vr."): del l["master"]
b["ops"]["links"] = [l for l in b["ops"]["links"] if l["kind"] != "vrf"]
json.dump(b, open(sys.argv[2], "w"))
open(sys.argv[3], "w").write((b.get("delta") or {}).get("script", ""))
EOF
    t2=$(now)
    env "${timings[@]}" "$BIN/vrfc-apply" apply --bundle "$W/bundle-novrf.json" --frr-config "$W/frr.conf" --state-dir "$W/state" \
        --frr-pathspace "$NAME" --netns "$NAME" --bpf-pin-dir "/sys/fs/bpf/$NAME" --reload "$reload" > "$W/apply.out" 2>&1 \
        || { cat "$W/apply.out" >&2; frr_deaths >&2; kill $$; exit 1; }
    t3=$(now)
    if [ ${#timings[@]} -gt 0 ]; then
        {
            printf '%s\tall (compile + vrfc-apply)\t%s\n' "$key" $(( (t1 - t0 + t3 - t2) / 1000000 ))
            printf '%s\tvrfc compile --emit bundle\t%s\n' "$key" $(( (t1 - t0) / 1000000 ))
            printf '%s\tvrfc-apply\t%s\n' "$key" $(( (t3 - t2) / 1000000 ))
            sed -n 's/^timing: \([^ ].*\): \([0-9.]*\) ms$/\1\t\2/p' "$W/apply.out" | sed "s/^/· /; s/^/$key\t/"
        } >> "$W/phases"
    fi
    [ "$reload" = delta ] || frr_debug
    if [ -n "${TIMING_LOG:-}" ]; then { echo "== $reload compile $(( (t1 - t0) / 1000000 )) ms"; grep "timing:" "$W/apply.out" || true; } >> "$TIMING_LOG"; fi
    if ! grep -q "reload: $expect (" "$W/apply.out" || grep -q "falling back" "$W/apply.out"; then
        echo "expected reload $expect, without falling back:" >&2; cat "$W/apply.out" >&2; kill $$; exit 1
    fi
    echo $(( (t1 - t0 + t3 - t2) / 1000000 ))
}

floor() {
    local t0 t1
    t0=$(now)
    vtysh -N "$NAME" -f "$1" > "$W/floor.out" 2>&1 || { cat "$W/floor.out" >&2; frr_deaths >&2; kill $$; exit 1; }
    t1=$(now)
    echo $(( (t1 - t0) / 1000000 ))
}

echo "node: $VRFS VRFs x $CRS CRs x $ITEMS+$ITEMS items; machine: $(nproc) cores (shared), $(uname -r), FRR $(dpkg-query -W -f='${Version}' frr 2>/dev/null || echo '?')"
# Other work on the machine inflates every figure; the ratios within one run compare.
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
set_crs base
# First load: frr.conf written (no reload), loaded with one vtysh -f (without
# `exit` after route-map entries it loads in linear time), then one reconcile
# so vrfc records what FRR runs.
"$BIN/vrfc" compile --emit bundle --config "$W/node/config.yaml" --template "$W/node/frr.conf" \
    --hostname node-bench --router-id 192.0.2.129 --table-range 1000-1999 "$W/crs" > "$W/bundle.json"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
for l in b["ops"]["links"]:
    if l.get("master", "").startswith("vr."): del l["master"]
b["ops"]["links"] = [l for l in b["ops"]["links"] if l["kind"] != "vrf"]
json.dump(b, open(sys.argv[2], "w"))' "$W/bundle.json" "$W/bundle-novrf.json"
"$BIN/vrfc-apply" apply --bundle "$W/bundle-novrf.json" --frr-config "$W/frr.conf" --state-dir "$W/state" \
    --frr-pathspace "$NAME" --netns "$NAME" --bpf-pin-dir "/sys/fs/bpf/$NAME" --reload none > /dev/null
echo "frr.conf: $(wc -l < "$W/frr.conf") lines"
t=$(floor "$W/frr.conf"); echo "first load (vtysh -f frr.conf): $t ms"
t=$(reconcile frr-reload frr-reload); echo "first reconcile (frr-reload.py, no change): $t ms"

declare -A R
record() { R[$1]="${R[$1]:-} $2"; }

for change in ${CHANGES:-prefix community novrf}; do
    fwd=$change; rev="$change-back"
    for i in $(seq "$REPEAT"); do
        set_crs "$change"; record "delta:$fwd" "$(reconcile delta delta "$fwd")"; cp "$W/last.vtysh" "$W/fwd.vtysh"
        set_crs base; record "delta:$rev" "$(reconcile delta delta "$rev")"; cp "$W/last.vtysh" "$W/rev.vtysh"
        t=$(floor "$W/fwd.vtysh"); record "floor:$fwd" "$t"; printf '%s\tfloor: one vtysh -f\t%s\n' "$fwd" "$t" >> "$W/phases"
        t=$(floor "$W/rev.vtysh"); record "floor:$rev" "$t"; printf '%s\tfloor: one vtysh -f\t%s\n' "$rev" "$t" >> "$W/phases"
        [ "$REPEAT" -le 5 ] || echo "$change: $i of $REPEAT (delta and floor, there and back)" >&2
    done
    for i in $(seq "$REPEAT_FULL"); do
        set_crs "$change"; record "frr-reload:$fwd" "$(reconcile frr-reload frr-reload)"
        set_crs base; record "frr-reload:$rev" "$(reconcile frr-reload frr-reload)"
    done
    echo "done: $change ($(wc -l < "$W/fwd.vtysh") forward delta lines, $(wc -l < "$W/rev.vtysh") back)" >&2
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in "${!R[@]}"; do echo "$k ${R[$k]}"; done | python3 -c '
import sys
rows = {}
for line in sys.stdin:
    key, *vals = line.split()
    rows[key] = sorted(int(v) for v in vals)
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
def cell(k):
    v = rows.get(k)
    return "-" if not v else f"{pct(v, 50) / 1000:.2f} / {pct(v, 95) / 1000:.2f}"
print("| change | delta p50 / p95 (s) | frr-reload.py p50 / p95 (s) | floor: one vtysh -f p50 / p95 (s) | frr-reload / delta | delta / floor |")
print("|---|---|---|---|---|---|")
names = [("prefix", "one prefix added to a CR"), ("prefix-back", "that prefix removed"),
         ("community", "one CR community changed"), ("community-back", "changed back"),
         ("novrf", "one VRF removed"), ("novrf-back", "one VRF added")]
for key, label in names:
    d, f, fl = rows.get("delta:" + key), rows.get("frr-reload:" + key), rows.get("floor:" + key)
    r1 = f"{pct(f, 50) / pct(d, 50):.1f}x" if d and f else "-"
    r2 = f"{pct(d, 50) / pct(fl, 50):.2f}x" if d and fl else "-"
    cells = [cell(s + ":" + key) for s in ("delta", "frr-reload", "floor")]
    print("| " + " | ".join([label] + cells + [r1, r2]) + " |")
'
# Where a delta's time goes, p50 per change (ms), beside the floor of the
# same run. Rows with a dot are vrfc-apply's own phases (VRFC_TIMINGS),
# FRR's load among them; they add up to about vrfc-apply's total (the
# delta's dry run overlaps the link read).
if [ "${PHASES:-1}" = 1 ] && [ -s "$W/phases" ]; then
    python3 - "$W/phases" <<'EOF'
import sys
rows, keys, order = {}, [], []
for line in open(sys.argv[1]):
    key, phase, ms = line.rstrip("\n").split("\t")
    if key not in keys: keys.append(key)
    if phase not in order: order.append(phase)
    rows.setdefault((phase, key), []).append(float(ms))
top = ["floor: one vtysh -f", "all (compile + vrfc-apply)", "vrfc compile --emit bundle", "vrfc-apply"]
order = [p for p in top if p in order] + [p for p in order if p not in top]
def p50(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
print()
print("where the delta's time goes, p50 (ms); rows with a dot: vrfc-apply's phases")
print("| phase | " + " | ".join(keys) + " |")
print("|---|" + "---:|" * len(keys))
for p in order:
    cells = [f"{p50(rows[(p, k)]):.0f}" if (p, k) in rows else "-" for k in keys]
    print(f"| {p.replace('|', '/')} | " + " | ".join(cells) + " |")
EOF
fi
