#!/usr/bin/env python3
"""Benchmarks of vrfc diff and vrfc explain (release build, static Swift
runtime, as nodes and CI would install it).

- diff: two 1,000-VRF nodes (bench/gen-node.py: 5 CRs per VRF, 20 import and
  20 export items per CR, 200,000 items) differing in 1% of their items
  (a third turned to deny, a third with another le, a third another prefix);
  `vrfc diff` end to end, both sides compiled. Target: under 2 s.
- explain: 100,000 random prefixes (half IPv4, half IPv6, most of them near
  the node's items) through one VRF's import policy of a 100-VRF node with
  `vrfc explain --batch`; prefixes per second end to end and for the batch
  phase alone (VRFC_TIMINGS). Target: over 1 M prefixes/s.

usage: bench/analysis.py [--repeat 5]
"""
import argparse
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, ok=(0,), env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in ok:
        sys.exit(f"{cmd[1]} failed ({p.returncode}): {p.stderr.decode()[:2000]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout, p.stderr.decode()


def node(vrfs):
    d = os.path.join(ROOT, "bench", "out", f"node-{vrfs}x5x20")
    if not os.path.exists(os.path.join(d, "crs.yaml")):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen-node.py"), d, str(vrfs), "5", "20"], check=True)
    return d


def mutate(src, dst, fraction, rng):
    """Changes `fraction` of the item lines of src into dst; returns the count."""
    with open(src) as f:
        lines = f.readlines()
    items = [i for i, l in enumerate(lines) if l.startswith("  - {cidr:")]
    chosen = rng.sample(items, int(len(items) * fraction))
    for n, i in enumerate(chosen):
        l = lines[i]
        if n % 3 == 0:
            l = l.replace("action: permit", "action: deny")
        elif n % 3 == 1:
            l = re.sub(r"le: (\d+)", lambda m: f"le: {int(m.group(1)) - 1}", l)
        else:
            # Another prefix of the same length inside the same network.
            l = re.sub(r"\.(\d+)/30", lambda m: f".{(int(m.group(1)) + 128) % 256}/30", l)
            l = re.sub(r"2001:db8:([0-9a-f]+):", lambda m: f"2001:db8:{(int(m.group(1), 16) + 7919) % 65536:x}:", l)
        lines[i] = l
    with open(dst, "w") as f:
        f.writelines(lines)
    return len(chosen), len(items)


def prefixes(path, count, rng):
    out = []
    for i in range(count):
        if i % 2 == 0:
            net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
            length = rng.randint(24, 32)
            host = rng.randint(0, 255) & ~((1 << (32 - length)) - 1) & 0xff
            out.append(f"{net}.{host}/{length}")
        else:
            length = rng.choice([48, 56, 64, 64, 96, 128])
            g = [rng.randint(0, 65535) for _ in range(3)]
            if length == 48:
                out.append(f"2001:db8:{g[0]:x}::/48")
            elif length == 56:
                out.append(f"2001:db8:{g[0]:x}:{g[1] & 0xff00:x}::/56" if g[1] & 0xff00 else f"2001:db8:{g[0]:x}::/56")
            elif length == 64:
                out.append(f"2001:db8:{g[0]:x}:{g[1] % 3:x}::/64" if g[1] % 3 else f"2001:db8:{g[0]:x}::/64")
            elif length == 96:
                out.append(f"2001:db8:{g[0]:x}:1:{g[1]:x}:{g[2]:x}::/96")
            else:
                out.append(f"2001:db8:{g[0]:x}:1:{g[1]:x}:{g[2]:x}:0:1/128")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, PATH="/opt/swift/usr/bin:" + os.environ.get("PATH", ""))
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "vrfc"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    vrfc = os.path.join(ROOT, ".build", "release", "vrfc")
    rng = random.Random(14)
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; load average {os.getloadavg()[0]:.2f} at start\n")

    big = node(1000)
    changed = os.path.join(big, "crs-1pct.yaml")
    n, total = mutate(os.path.join(big, "crs.yaml"), changed, 0.01, rng)
    cmd = [vrfc, "diff", "--config", os.path.join(big, "config.yaml"), os.path.join(big, "crs.yaml"), "--", changed]
    runs = [run(cmd, ok=(4,)) for _ in range(args.repeat)]
    timed = run(cmd, ok=(4,), env=dict(os.environ, VRFC_TIMINGS="1"))
    diff_ms = [float(m) for m in re.findall(r"timing: diff: ([\d.]+) ms", timed[3])]
    out_lines = runs[0][2].decode().count("\n")
    print("| vrfc diff | items | changed | output lines | wall (median) | CPU | diff phase |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| 1,000 VRFs vs 1% changed | {total:,} | {n:,} | {out_lines:,} | {statistics.median(r[0] for r in runs) * 1000:.0f} ms "
          f"| {statistics.median(r[1] for r in runs) * 1000:.0f} ms | {diff_ms[0] if diff_ms else float('nan'):.0f} ms |")

    small = node(100)
    pfile = os.path.join(small, "prefixes.txt")
    count = 100_000
    prefixes(pfile, count, rng)
    cmd = [vrfc, "explain", "--config", os.path.join(small, "config.yaml"), os.path.join(small, "crs.yaml"),
           "--vrf", "v00042", "--direction", "import", "--batch", pfile]
    runs = [run(cmd) for _ in range(args.repeat)]
    one = os.path.join(small, "one-prefix.txt")
    with open(pfile) as f, open(one, "w") as o:
        o.write(f.readline())
    base = [run(cmd[:-1] + [one]) for _ in range(args.repeat)]
    phases = []
    for _ in range(args.repeat):
        t = run(cmd, env=dict(os.environ, VRFC_TIMINGS="1"))
        phases += [float(m) for m in re.findall(r"explain batch[^:]*: ([\d.]+) ms", t[3])]
    permitted = sum(1 for l in runs[0][2].decode().splitlines() if "\tpermit\t" in l)
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    # CPU of deciding the prefixes: a 100,000-prefix run minus a 1-prefix run
    # (start-up and compiling the node are the same in both).
    batch_cpu = cpu - statistics.median(r[1] for r in base)
    phase = statistics.median(phases)
    print()
    print("| vrfc explain --batch | prefixes | permitted | wall (median) | CPU | prefixes/s end to end (wall) "
          "| batch phase (wall) | batch CPU (100k run minus 1-prefix run) | prefixes/s per CPU second |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| 100-VRF node, one VRF's import | {count:,} | {permitted:,} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms "
          f"| {count / wall / 1e6:.2f} M | {phase:.0f} ms | {batch_cpu * 1000:.0f} ms | {count / batch_cpu / 1e6:.2f} M |")


if __name__ == "__main__":
    main()
