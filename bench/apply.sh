#!/usr/bin/env bash
# Benchmark (not a test): vrfc-apply against iproute2's `ip -batch` creating
# the same links with the same settings, plus vrfc-apply's no-op re-apply.
#
# For N in 10 100 500 VRF stacks (one CR per VRF, table range widened to
# 1000-1999): in a fresh namespace `vrfc-apply apply --ops` from empty; in
# another fresh namespace `ip -batch` of the same links (scripts/ops-to-ip-
# batch.py: add with every creation-time setting, one `set` per link for
# alias/addrgenmode/bridge-port flags, one `set up` per link — the same
# netlink requests vrfc-apply sends); then no-op re-applies, from the op
# list and from the config + CRs (that one includes compiling them). Both
# tools enter the namespace themselves (`ip -n`, `vrfc-apply --netns`).
#
#   bench/apply.sh            on this machine's kernel. It has no VRF device:
#                             the vr. links are left out on BOTH sides (every
#                             other link of each stack is created).
#   bench/apply.sh --vm       in a Debian-kernel guest (virtme-ng, emulated,
#                             no KVM): complete stacks with VRF devices; both
#                             sides run in the same guest, so the ratio is fair
#                             but absolute times are those of emulation.
#   SIZES="10 100" bench/apply.sh    other sizes; SCRATCH=.build-x another build dir;
#   ROUNDS / REPEAT: runs per side for creation / no-op re-apply (medians)
#   ROUTES=1000 RULES=50 (defaults): the routes case after the links, 1,000
#                             pod routes + 50 policy rules vs ip -batch of the
#                             same requests (ROUTES=0 leaves it out; SIZES=""
#                             runs only it); FOREIGN=100000: then a no-op with
#                             that many BGP routes in another table
#   NO_BUILD=1                use the release build in SCRATCH as it is
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
SIZES=${SIZES-"10 100 500"}
SCRATCH=${SCRATCH:-.build}
REPEAT=${REPEAT:-5}
ROUNDS=${ROUNDS:-3}
ROUTES=${ROUTES:-1000}   # the routes case: pod routes (0: leave it out)
RULES=${RULES:-50}
FOREIGN=${FOREIGN:-100000}  # routes of another protocol in another table for a last no-op (0: none)

if [ "${1:-}" = "--vm" ]; then
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc-apply >/dev/null
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc >/dev/null
    kernel=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)
    out=$(mktemp -d /tmp/vrfca-bench-XXXX)
    trap 'rm -rf "$out"' EXIT
    vng -r "$kernel" --disable-microvm --disable-kvm --memory 4G --rwdir "$out" -- \
        "SIZES='$SIZES' SCRATCH='$SCRATCH' REPEAT='$REPEAT' ROUNDS='$ROUNDS' BENCH_OUT='$out' $PWD/bench/apply.sh --inside-vm" >/dev/null 2>&1 || true
    cat "$out/result" 2>/dev/null || { echo "bench: the guest produced no result" >&2; exit 1; }
    exit 0
fi

mode=host
if [ "${1:-}" = "--inside-vm" ]; then
    mode=vm
else
    # Statically linked runtime: how vrfc-apply should be installed on nodes
    # (start-up 7 ms instead of 11). NO_BUILD=1: the release build there is.
    if [ -z "${NO_BUILD:-}" ]; then
        swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc-apply >/dev/null
        # The routes case alone (SIZES="") needs no compiler.
        [ -z "$SIZES" ] || swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product vrfc >/dev/null
    fi
fi
bin="$PWD/$SCRATCH/release"
pins="/sys/fs/bpf/vrfca-bench-$$"  # never the node's own /sys/fs/bpf/vrfc
work=$(mktemp -d /tmp/vrfca-bench-work-XXXX)
namespaces=()
cleanup() {
    for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
    rm -rf "$work"
    rm -f "$pins"/* 2>/dev/null; rmdir "$pins" 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
# timed FILE CMD...: runs CMD, appends "wall_ms cpu_ms" (cpu = user + sys of
# CMD, i.e. its own work including the kernel's work in its syscalls) to FILE.
timed() {
    local f=$1; shift
    local TIMEFORMAT='%3R %3U %3S'
    { time "$@" 2>&3; } 3>&2 2> "$f.one"
    awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' "$f.one" >> "$f"
}
col() { awk -v c="$1" '{print $c}' "$2" | median; }

# fresh_ns TAG: a new namespace with the underlay, in $ns (no subshell, so
# the EXIT trap knows it).
fresh_ns() {
    ns="vrfca-bench-$1-$$"
    ip netns add "$ns"
    namespaces+=("$ns")
    if [ $mode = vm ]; then
        ip -n "$ns" link add dum.underlay mtu 9100 type dummy
    else  # no dummy links on this kernel: a veth end stands in 
        ip -n "$ns" link add dum.underlay mtu 9100 type veth peer name ul.peer mtu 9100
    fi
    ip -n "$ns" address add 192.0.2.129/32 dev dum.underlay
    ip -n "$ns" link set dum.underlay up
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# `ip netns delete` returns at once; the kernel then unregisters the
# namespace's links in a workqueue that holds the RTNL lock, stalling every
# link change on the machine (the next timed run included) for up to
# seconds. Wait until a small RTNL-bound change (an alias on a probe
# namespace's lo: no RCU grace period involved) is fast again.
probe_ns="vrfca-bench-probe-$$"
ip netns add "$probe_ns"
namespaces+=("$probe_ns")
probe() {
    local t0 t1
    t0=$(now)
    ip -n "$probe_ns" link set dev lo alias settle
    t1=$(now)
    echo $(( (t1 - t0) / 1000000 ))
}
# "Fast" is relative to this machine's idle speed (an emulated guest is slow).
probe_base=$(for _ in 1 2 3 4 5; do probe; done | median)
settle() {
    local fast=0
    for _ in $(seq 300); do
        if [ "$(probe)" -le $((probe_base * 2 + 5)) ]; then fast=$((fast + 1)); else fast=0; fi
        [ $fast -ge 3 ] && return 0
        sleep 0.2
    done
}
drop_ns() { ip netns delete "$1"; settle; }

{
echo "vrfc-apply vs ip -batch ($mode kernel $(uname -r), $(nproc) CPUs; ms wall clock incl. process start;"
echo "create from empty: median of $ROUNDS alternating rounds; no-op re-apply: median of $REPEAT)"
[ $mode = host ] && echo "host kernel: no VRF device, so vr. links are left out on both sides"
echo "columns: wall ms (median) vrfc-apply / ip -batch / ratio | CPU ms user+sys (median) vrfc-apply / ip -batch / ratio |"
echo "         no-op re-apply wall (cpu) ms from --ops / from --config + CRs | apply incl. tc router attachments, wall ms"
printf "%5s %6s | %7s %7s %5s | %7s %7s %5s | %11s %13s | %7s\n" N links vrfc "ip" ratio vrfc "ip" ratio "no-op ops" "no-op inputs" "+router"
for n in $SIZES; do
    d="$work/n$n"
    mkdir -p "$d/crs"
    { echo "vnimap:"; for i in $(seq 1 "$n"); do printf "  b%04d: %d\n" "$i" $((1000 + i)); done; echo "serverASN: 64510"; } > "$d/config.yaml"
    for i in $(seq 1 "$n"); do
        v=$(printf "b%04d" "$i")
        cat > "$d/crs/$v.yaml" <<EOF
apiVersion: network.schiff.telekom.de/v1alpha1
kind: VRFRouteConfiguration
metadata: {name: bench-$v}
spec:
  vrf: $v
  seq: 10
  import: [{cidr: 203.0.113.0/24, action: permit, le: 32}]
  export: [{cidr: 198.51.100.0/24, action: permit}]
EOF
    done
    "$bin/vrfc" compile --config "$d/config.yaml" --emit ops --table-range 1000-1999 "$d/crs" > "$d/ops.json"
    if [ $mode = host ]; then
        python3 - "$d/ops.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
o["links"] = [l for l in o["links"] if l["kind"] != "vrf"]
for l in o["links"]:
    if l.get("master", "").startswith("vr."):
        del l["master"]
json.dump(o, open(sys.argv[1], "w"))
EOF
    fi
    # The comparison is about links: ip -batch attaches no tc program, so
    # the timed op list has no router attachments. Applying with them is
    # timed separately (the "+router" column).
    cp "$d/ops.json" "$d/ops-router.json"
    python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); o["routerAttachments"] = []; json.dump(o, open(sys.argv[1], "w"))' "$d/ops.json"
    links=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['links']))" "$d/ops.json")
    python3 scripts/ops-to-ip-batch.py "$d/ops.json" --local 192.0.2.129 --first-table 1000 > "$d/ip.batch"

    # Alternate the two sides, ROUNDS times each, each in a fresh namespace:
    # load from other work on the machine hits both alike; medians are reported.
    rm -f "$d/vrfc.t" "$d/ip.t" "$d/noop.t" "$d/noopin.t" "$d/router.t"
    fresh_ns "r$n"
    timed "$d/router.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops-router.json" > /dev/null
    drop_ns "$ns"
    for r in $(seq "$ROUNDS"); do
        fresh_ns "v$n"
        timed "$d/vrfc.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > "$d/apply.log"
        # in sync, or the run is void
        "$bin/vrfc-apply" plan --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
        if [ "$r" = "$ROUNDS" ]; then
            for k in $(seq "$REPEAT"); do
                timed "$d/noop.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
                if [ $mode = vm ]; then  # the inputs give the full op list only where VRFs exist
                    timed "$d/noopin.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --table-range 1000-1999 --config "$d/config.yaml" "$d/crs" > /dev/null
                fi
            done
        fi
        drop_ns "$ns"

        fresh_ns "i$n"
        timed "$d/ip.t" ip -n "$ns" -batch "$d/ip.batch"
        # Same result: vrfc-apply sees the iproute2-made links as its own and in sync.
        "$bin/vrfc-apply" plan --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null || echo "warning: ip -batch result differs from vrfc's (N=$n)" >&2
        drop_ns "$ns"
    done
    apply_ms=$(col 1 "$d/vrfc.t"); ip_ms=$(col 1 "$d/ip.t")
    apply_cpu=$(col 2 "$d/vrfc.t"); ip_cpu=$(col 2 "$d/ip.t")
    noop_ops="$(col 1 "$d/noop.t") ($(col 2 "$d/noop.t"))"
    noop_inputs="-"
    [ -f "$d/noopin.t" ] && noop_inputs="$(col 1 "$d/noopin.t") ($(col 2 "$d/noopin.t"))"
    all_runs="wall vrfc $(awk '{print $1}' "$d/vrfc.t" | tr '\n' ' ')/ ip $(awk '{print $1}' "$d/ip.t" | tr '\n' ' ')"
    ratio=$(awk -v a="$apply_ms" -v b="$ip_ms" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    cratio=$(awk -v a="$apply_cpu" -v b="$ip_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf "%5s %6s | %7s %7s %5s | %7s %7s %5s | %11s %13s | %7s   %s\n" "$n" "$links" "$apply_ms" "$ip_ms" "$ratio" \
        "$apply_cpu" "$ip_cpu" "$cratio" "$noop_ops" "$noop_inputs" "$(col 1 "$d/router.t")" "$all_runs"
done

# Routes and policy rules: ROUTES pod routes in main (half IPv4 /32s, half
# IPv6 /64s, each via one of 200 node addresses on up0) + RULES rules into
# an owned table holding an ECMP default route per family (half IPv6, half
# with a fwmark), from empty and as a no-op re-apply, against `ip -batch` of
# the same requests (route add ... proto 118, rule add ... proto 118).
if [ "$ROUTES" -gt 0 ]; then
    d="$work/routes"
    mkdir -p "$d"
    python3 - "$d" "$ROUTES" "$RULES" <<'EOF2'
import json, sys
d, nroutes, nrules = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
routes, rules, batch, batch6 = [], [], [], []
v4 = [f"198.51.100.{i}/32" for i in range(256)] + [f"203.0.113.{i}/32" for i in range(256)]
for i in range(nroutes):
    if i % 2 == 0:
        dst, gw = v4[i // 2], f"192.0.2.{2 + i % 200}"
    else:
        dst, gw = f"2001:db8:{0x1000 + i // 2:x}::/64", f"2001:db8:1::{2 + i % 200:x}"
    routes.append({"table": 254, "destination": dst, "protocol": 118, "nexthops": [{"gateway": gw, "device": "up0", "weight": 1}]})
    batch.append(f"route add {dst} via {gw} dev up0 proto 118")
for dst, gws in (("0.0.0.0/0", ["192.0.2.250", "192.0.2.251"]), ("::/0", ["2001:db8:1::fa", "2001:db8:1::fb"])):
    routes.append({"table": 100, "destination": dst, "protocol": 118,
                   "nexthops": [{"gateway": g, "device": "up0", "weight": 100} for g in gws]})
    batch.append(f"route add {dst} table 100 proto 118 " + " ".join(f"nexthop via {g} dev up0 weight 100" for g in gws))
for i in range(nrules):
    fam = "ipv4" if i % 2 == 0 else "ipv6"
    src = f"203.0.113.{i}/32" if fam == "ipv4" else f"2001:db8:ff:{i:x}::/64"
    r = {"priority": 20, "family": fam, "from": src, "table": 100}
    words = f"rule add priority 20 from {src} lookup 100 proto 118"
    if i % 4 < 2:
        r["fwmark"] = 20
        words += " fwmark 0x14"
    rules.append(r)
    (batch if fam == "ipv4" else batch6).append(words)  # ip rule takes IPv6 only under -6
ops = {"format": "vrfc-ops", "version": 1, "underlay": "dum.underlay", "tableRange": {"first": 1000, "last": 1999},
       "links": [], "routerAttachments": [], "ownedTables": [100], "routes": routes, "rules": rules}
json.dump(ops, open(f"{d}/ops.json", "w"))
open(f"{d}/ip.batch", "w").write("\n".join(batch) + "\n")
open(f"{d}/ip6.batch", "w").write("\n".join(batch6) + "\n")
EOF2
    uplink() {
        ip -n "$ns" link add up0 type veth peer name up0.peer
        ip -n "$ns" address add 192.0.2.1/24 dev up0
        ip -n "$ns" address add 2001:db8:1::1/64 dev up0 nodad
        ip -n "$ns" link set up0 up
        ip -n "$ns" link set up0.peer up
    }
    # The fixed cost of each side, for the text: vrfc-apply applying an
    # empty op list in a fresh namespace (process start-up, arguments,
    # reading the kernel) and ip -batch of empty batches.
    python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); o.update(ownedTables=[], routes=[], rules=[]); json.dump(o, open(sys.argv[2], "w"))' "$d/ops.json" "$d/empty.json"
    : > "$d/empty.batch"
    rm -f "$d/vrfc.t" "$d/ip.t" "$d/noop.t" "$d/noopf.t" "$d/floor.t" "$d/ipfloor.t"
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    for r in $(seq "$ROUNDS"); do
        fresh_ns "rv"; uplink
        timed "$d/vrfc.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
        "$bin/vrfc-apply" plan --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
        if [ "$r" = "$ROUNDS" ]; then
            for k in $(seq "$REPEAT"); do
                timed "$d/noop.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
            done
            # A node whose VRF holds a large BGP table: FOREIGN routes of
            # another protocol in another table, which the kernel-filtered
            # dumps leave out.
            if [ "$FOREIGN" -gt 0 ]; then
                python3 -c 'import sys; n = int(sys.argv[1]); print("\n".join(f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 via 192.0.2.9 table 1000 proto 186" for i in range(n)))' "$FOREIGN" > "$d/foreign.batch"
                ip -n "$ns" -batch "$d/foreign.batch"
                for k in $(seq "$REPEAT"); do
                    timed "$d/noopf.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null
                done
            fi
        fi
        drop_ns "$ns"
        fresh_ns "rf"; uplink
        timed "$d/floor.t" "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/empty.json" > /dev/null
        timed "$d/ipfloor.t" sh -c "ip -n $ns -batch $d/empty.batch && ip -n $ns -6 -batch $d/empty.batch"
        drop_ns "$ns"
        fresh_ns "ri"; uplink
        timed "$d/ip.t" sh -c "ip -n $ns -batch $d/ip.batch && ip -n $ns -6 -batch $d/ip6.batch"
        # Same result: vrfc-apply finds what ip made in sync.
        "$bin/vrfc-apply" plan --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json" > /dev/null || echo "warning: ip -batch result differs from vrfc's (routes)" >&2
        drop_ns "$ns"
    done
    # Netlink system calls of one more run each (untimed, under strace -c):
    # what sending the requests many to a datagram saves is counted, not timed.
    netlink_calls() {
        strace -f -c -e trace=sendmsg,sendto,recvmsg,recvfrom -o "$d/strace.out" "$@" > /dev/null 2>&1 || true
        awk '$NF ~ /^send/ { s += $4 } $NF ~ /^recv/ { r += $4 } END { printf "%d sends + %d receives", s, r }' "$d/strace.out"
    }
    fresh_ns "rs"; uplink
    vrfc_calls=$(netlink_calls "$bin/vrfc-apply" apply --netns "$ns" --bpf-pin-dir "$pins" --ops "$d/ops.json")
    drop_ns "$ns"
    fresh_ns "rt"; uplink
    ip_calls=$(netlink_calls sh -c "ip -n $ns -batch $d/ip.batch && ip -n $ns -6 -batch $d/ip6.batch")
    drop_ns "$ns"
    echo
    echo "routes + rules: $((ROUTES + 2)) routes ($ROUTES pod routes in main, 2 ECMP defaults in table 100) + $RULES rules"
    printf "%7s %7s %5s | %7s %7s %5s | %11s\n" vrfc "ip" ratio vrfc "ip" ratio "no-op"
    a=$(col 1 "$d/vrfc.t"); b=$(col 1 "$d/ip.t"); ac=$(col 2 "$d/vrfc.t"); bc=$(col 2 "$d/ip.t")
    printf "%7s %7s %5s | %7s %7s %5s | %11s   %s\n" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
        "$ac" "$bc" "$(awk -v a="$ac" -v b="$bc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$(col 1 "$d/noop.t") ($(col 2 "$d/noop.t"))" \
        "wall vrfc $(awk '{print $1}' "$d/vrfc.t" | tr '\n' ' ')/ ip $(awk '{print $1}' "$d/ip.t" | tr '\n' ' ')"
    [ -f "$d/noopf.t" ] && echo "no-op re-apply with $FOREIGN foreign routes in table 1000 (proto bgp): $(col 1 "$d/noopf.t") ($(col 2 "$d/noopf.t")) ms"
    echo "netlink system calls of one run (strace -c): vrfc-apply $vrfc_calls (its kernel reads included), ip -batch $ip_calls"
    echo "fixed cost (empty op list / empty batches), CPU ms: vrfc-apply $(col 2 "$d/floor.t"), ip -batch $(col 2 "$d/ipfloor.t");" \
        "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    # The README's row, as measured.
    python3 - "$ROUTES" "$RULES" "$a" "$ac" "$b" "$bc" "$(col 1 "$d/noop.t")" "$(col 2 "$d/noop.t")" <<'EOF3'
import sys
routes, rules, a, ac, b, bc, n, nc = map(int, sys.argv[1:])
print(f"README: | {routes + 2:,} routes + {rules} rules | {a:,} / {ac} ms | {b:,} / {bc} ms | {ac / bc:.2f} | {n:,} / {nc} ms |")
EOF3
fi
} | tee "${BENCH_OUT:-$work}/result"
