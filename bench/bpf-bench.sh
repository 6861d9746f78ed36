#!/bin/sh
# Benchmarks the tc router (bpf/router.c) on this machine, as root:
#   - ns/packet of the program via BPF_PROG_TEST_RUN (routed and passed frames)
#   - iperf3 TCP throughput h1 -> router -> h2 with the program vs the
#     kernel's own forwarding, alternating in one run
# Options go to vrfc-bpf-bench: --iterations N --seconds S --rounds R.
# The report is also written to bench/out/bpf-<date>.json (git-ignored).
set -eu
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --scratch-path .build-bench --product vrfc-bpf-bench >&2
mkdir -p bench/out
exec .build-bench/release/vrfc-bpf-bench --json "bench/out/bpf-$(date +%Y%m%d-%H%M%S).json" "$@"
