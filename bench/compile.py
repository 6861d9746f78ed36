#!/usr/bin/env python3
"""Compile benchmark: wall time and peak memory of a release-build
`vrfc compile` on synthetic nodes of growing size (bench/gen-node.py), so
the growth is visible. Each size runs REPEAT times; the median wall time,
its CPU time and the largest peak RSS are reported.

usage: bench/compile.py [--sizes 10,100,1000] [--repeat 5] [--crs 5] [--items 20]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, rusage_err = proc.communicate()
    # os.wait4 would give per-child rusage; RUSAGE_CHILDREN deltas do too.
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"vrfc failed ({proc.returncode}): {rusage_err.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def peak_rss_kb(cmd):
    # ru_maxrss of RUSAGE_CHILDREN is the maximum over all children so far,
    # so measure peak memory in a fresh helper process per size.
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--crs", type=int, default=5)
    ap.add_argument("--items", type=int, default=20)
    args = ap.parse_args()

    env = dict(os.environ, PATH="/opt/swift/usr/bin:" + os.environ.get("PATH", ""))
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "vrfc"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    vrfc = os.path.join(ROOT, ".build", "release", "vrfc")
    out_dir = os.path.join(ROOT, "bench", "out")
    os.makedirs(out_dir, exist_ok=True)

    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"each CR has {args.items} import and {args.items} export items, half IPv4, half IPv6\n")
    print("| VRFs | CRs | items | input | frr.conf lines | wall (median) | CPU | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for vrfs in [int(s) for s in args.sizes.split(",")]:
        node = os.path.join(out_dir, f"node-{vrfs}x{args.crs}x{args.items}")
        if not os.path.exists(os.path.join(node, "crs.yaml")):
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen-node.py"), node,
                            str(vrfs), str(args.crs), str(args.items)], check=True)
        out = os.path.join(node, "frr.conf.out")
        cmd = [vrfc, "compile", "--config", os.path.join(node, "config.yaml"), "--template",
               os.path.join(node, "frr.conf"), "--hostname", "bench", "--router-id", "192.0.2.1",
               "-o", out, os.path.join(node, "crs.yaml")]
        runs = [run_once(cmd) for _ in range(args.repeat)]
        walls = sorted(r[0] for r in runs)
        median = statistics.median(walls)
        cpu = statistics.median(r[1] for r in runs)
        rss = peak_rss_kb(cmd)
        with open(out) as f:
            lines = sum(1 for _ in f)
        size_mb = os.path.getsize(os.path.join(node, "crs.yaml")) / 1e6
        items = vrfs * args.crs * args.items * 2
        print(f"| {vrfs} | {vrfs * args.crs} | {items} | {size_mb:.1f} MB | {lines} | {median * 1000:.0f} ms "
              f"| {cpu * 1000:.0f} ms | {rss / 1024:.0f} MB |")


if __name__ == "__main__":
    main()
