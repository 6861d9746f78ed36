#!/usr/bin/env bash
# The end-to-end lab: boots a Debian kernel (VRF support) under virtme-ng and
# runs lab/guest.sh in it: a node (FRR + vrfc + vrfc-apply + the tc router),
# an EVPN fabric leaf (a second FRR) and tenant hosts, in network namespaces;
# then applies the intents in lab/intents/ and checks each from FRR's JSON.
#
#   scripts/lab.sh           run the lab, exit 0 when every phase passed
#   scripts/lab.sh --keep    the same, then a shell inside the guest (needs a
#                            terminal); leave it with `exit`
#
# Needs root, the Debian kernel, qemu, virtme-ng and FRR (scripts/install-deps.sh)
# and the built binaries (swift build; LAB_BIN overrides .build/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
KEEP=0
for a in "$@"; do
    case $a in
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "lab.sh: unknown argument '$a' (--keep, --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "lab.sh: run as root (network namespaces, FRR, BPF)" >&2; exit 1; }

BIN=${LAB_BIN:-$REPO/.build/debug}
for b in vrfc vrfc-apply vrfc-apply-faults; do
    [ -x "$BIN/$b" ] || { echo "lab.sh: $BIN/$b is missing; build first (swift build)" >&2; exit 1; }
done
for t in vng vtysh /usr/lib/frr/zebra /usr/lib/frr/bgpd /usr/lib/frr/staticd /usr/lib/frr/frr-reload.py iperf3; do
    command -v "$t" >/dev/null || { echo "lab.sh: $t is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || { echo "lab.sh: python3-yaml is missing; run scripts/install-deps.sh" >&2; exit 1; }
KERNEL=${VRFC_TEST_KERNEL:-}
if [ -z "$KERNEL" ]; then
    for k in $(ls -r /boot/vmlinuz-* 2>/dev/null); do
        v=${k#/boot/vmlinuz-}
        if ls /lib/modules/$v/kernel/drivers/net/vrf.ko* >/dev/null 2>&1; then KERNEL=$k; break; fi
    done
fi
[ -n "$KERNEL" ] || { echo "lab.sh: no kernel with vrf.ko under /boot (linux-image-amd64); run scripts/install-deps.sh" >&2; exit 1; }

OUT=$(mktemp -d /tmp/vrfc-lab.XXXXXX)
echo "lab.sh: kernel $KERNEL, output in $OUT"
start=$SECONDS
# The guest runs a copy: bash reads a script as it goes, so editing
# lab/guest.sh during a run must not change the running lab.
cp lab/guest.sh "$OUT/guest.sh"
ENVS="LAB_REPO=$REPO LAB_OUT=$OUT LAB_BIN=$BIN LAB_KEEP=$KEEP"
if [ $KEEP = 1 ]; then
    vng -r "$KERNEL" --disable-microvm --disable-kvm --memory 2G --cpus 2 --rwdir "$OUT" \
        -- "env $ENVS $OUT/guest.sh" || true
else
    # No terminal needed: the guest's console is copied to console.log; a hung guest is
    # killed (by its PID) after 60 minutes (a loaded 2-core machine has needed 35).
    timeout --signal=KILL 3600 vng -r "$KERNEL" --disable-microvm --disable-kvm --memory 2G --cpus 2 \
        --rwdir "$OUT" -- "env $ENVS $OUT/guest.sh" </dev/null 2>&1 | tee "$OUT/console.log" || true
    [ -f "$OUT/lab.log" ] || { echo "lab.sh: the guest did not start the lab; console:"; tail -n 40 "$OUT/console.log"; }
fi
echo "lab.sh: phases:"
sed 's/^/  /' "$OUT/phases" 2>/dev/null || true
if [ -s "$OUT/leaf-repairs" ]; then
    # Loud on purpose: the lab repaired its own fabric leaf (FRR 8.4 lost an
    # L3 VNI's router MAC there), then required every check and the traffic.
    echo "lab.sh: !!! the lab repaired its LEAF's FRR $(wc -l <"$OUT/leaf-repairs") time(s) (FRR 8.4 router-MAC loss on the lab's fabric, not the node):"
    sed 's/^/  /' "$OUT/leaf-repairs"
fi
result=$(cat "$OUT/result" 2>/dev/null || echo "no result (the guest died?)")
echo "lab.sh: $result in $((SECONDS - start)) s (boot included); log: $OUT/lab.log"
[ "$result" = passed ]
