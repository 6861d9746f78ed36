#!/usr/bin/env python3
"""Benchmark (not a test): the cost of one scrape of `vrfc-apply metrics`.

Two FRR nodes (zebra+bgpd, own namespaces and pathspaces) carry SESSIONS
(default 200) eBGP sessions between them, each side redistributing its
connected routes. `vrfc-apply metrics` serves A; each round is one HTTP
scrape parsed by prometheus_client (scripts/scrape-metrics.py): FRR's four
collectors (one vtysh call each) and the router collector.

For comparison it times the per-VRF approach (one `vtysh -c 'show bgp vrf
NAME summary json'` per VRF) for VRFS (default 100) calls. This kernel has
no VRF devices, so the sessions sit in the default VRF and the per-VRF
calls ask for the default VRF each time: the JSON FRR prints is the same
size as with the sessions spread over VRFs, and the cost being compared is
the per-call one (a vtysh process and a vty connection each).

Medians and maxima over ROUNDS (default 20); DUMP=1 also prints one
exposition. Needs root:
  bench/metrics.py [BINARY]     (default .build/debug/vrfc-apply)
"""
import json, os, statistics, subprocess, sys, tempfile, time, uuid

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/vrfc-apply")
rounds = int(os.environ.get("ROUNDS", "20"))
sessions = int(os.environ.get("SESSIONS", "200"))
vrfs = int(os.environ.get("VRFS", "100"))
tag = uuid.uuid4().hex[:6]
nodes = {"a": "vrfc-mbench-a-" + tag, "b": "vrfc-mbench-b-" + tag}
tmp = tempfile.mkdtemp(prefix="vrfc-mbench-")
os.chmod(tmp, 0o755)  # the daemons run as frr
pids = []


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def start(node):
    ns = nodes[node]
    d = os.path.join(tmp, node)
    os.makedirs(d)
    sh("chown", "frr:frr", d)
    for daemon in ("zebra", "bgpd"):
        sh("ip", "netns", "exec", ns, "/usr/lib/frr/" + daemon, "-d", "-N", ns, "-F", "traditional",
           "-i", f"{d}/{daemon}.pid", "--log", f"file:{d}/{daemon}.log")
        for _ in range(100):
            if os.path.exists(f"/var/run/frr/{ns}/{daemon}.vty"):
                break
            time.sleep(0.05)
        pids.append(int(open(f"{d}/{daemon}.pid").read()))


def addr(side, i):
    # A: 198.51.100.1-250, B: 203.0.113.1-250 (documentation ranges).
    return ("198.51.100." if side == "a" else "203.0.113.") + str(i + 1)


server = None
try:
    assert sessions <= 250
    for ns in nodes.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", nodes["a"], "link", "add", "mb.a", "type", "veth", "peer", "name", "mb.b", "netns", nodes["b"])
    batch = {"a": [], "b": []}
    for i in range(sessions):
        batch["a"].append(f"address add {addr('a', i)}/24 dev mb.a")
        batch["b"].append(f"address add {addr('b', i)}/24 dev mb.b")
    batch["a"] += ["link set mb.a up", "route add 203.0.113.0/24 dev mb.a"]
    batch["b"] += ["link set mb.b up", "route add 198.51.100.0/24 dev mb.b"]
    for side in "ab":
        sh("ip", "-n", nodes[side], "-batch", "-", input="\n".join(batch[side]) + "\n")
        start(side)
    for side, asn, peer_as, other in (("a", 64501, 64502, "b"), ("b", 64502, 64501, "a")):
        conf = [f"router bgp {asn}", f" bgp router-id {addr(side, 0)}", " no bgp ebgp-requires-policy"]
        for i in range(sessions):
            conf += [f" neighbor {addr(other, i)} remote-as {peer_as}", f" neighbor {addr(other, i)} update-source {addr(side, i)}",
                     f" neighbor {addr(other, i)} timers connect 1",
                     f" neighbor {addr(other, i)} disable-connected-check"]
        conf += [" address-family ipv4 unicast", "  redistribute connected", " exit-address-family"]
        path = os.path.join(tmp, side + ".conf")
        open(path, "w").write("\n".join(conf) + "\n")
        sh("vtysh", "-N", nodes[side], "-f", path)
    deadline = time.time() + 120
    while True:
        s = json.loads(sh("vtysh", "-N", nodes["a"], "-d", "bgpd", "-c", "show bgp vrf all summary json").stdout)
        peers = s["default"]["ipv4Unicast"]["peers"]
        up = sum(1 for p in peers.values() if p["state"] == "Established")
        if up == sessions or time.time() > deadline:
            break
        time.sleep(1)
    print(f"{up}/{sessions} sessions Established")

    server = subprocess.Popen(["ip", "netns", "exec", nodes["a"], binary, "metrics", "--listen", "127.0.0.1:7082",
                               "--frr-pathspace", nodes["a"]], stderr=subprocess.DEVNULL)
    scrape = [sys.executable, os.path.join(root, "scripts/scrape-metrics.py"), "http://127.0.0.1:7082/metrics"]
    for _ in range(100):
        r = subprocess.run(["ip", "netns", "exec", nodes["a"]] + scrape, capture_output=True, text=True)
        if r.returncode == 0:
            break
        time.sleep(0.2)
    if os.environ.get("DUMP"):
        # The raw exposition, for the README's sample.
        print(sh("ip", "netns", "exec", nodes["a"], sys.executable, "-c",
                 "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:7082/metrics').read().decode())").stdout)
    times, sizes, collectors = [], [], {}
    for _ in range(rounds):
        doc = json.loads(sh("ip", "netns", "exec", nodes["a"], *scrape).stdout)
        times.append(doc["seconds"])
        sizes.append(doc["bytes"])
        for s in doc["families"]["vrfc_scrape_collector_duration_seconds"]["samples"]:
            collectors.setdefault(s["labels"]["collector"], []).append(s["value"])
        peers = [s for s in doc["families"]["frr_bgp_peer_state"]["samples"]]
    print(f"scrape over HTTP: median {statistics.median(times)*1000:.1f} ms, max {max(times)*1000:.1f} ms, "
          f"{sizes[-1]} bytes, {len(peers)} frr_bgp_peer_state series")
    for name, v in sorted(collectors.items()):
        print(f"  collector {name}: median {statistics.median(v)*1000:.1f} ms, max {max(v)*1000:.1f} ms")

    per_vrf = []
    for _ in range(max(3, rounds // 5)):
        t = time.monotonic()
        for _ in range(vrfs):
            sh("vtysh", "-N", nodes["a"], "-d", "bgpd", "-c", "show bgp vrf default summary json")
        per_vrf.append(time.monotonic() - t)
    print(f"one vtysh call per VRF ({vrfs} calls, BGP summary only): median {statistics.median(per_vrf)*1000:.1f} ms, "
          f"max {max(per_vrf)*1000:.1f} ms")
finally:
    if server:
        server.kill()
        server.wait()
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    for ns in nodes.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", f"/var/run/frr/{ns}"])
    subprocess.run(["rm", "-rf", tmp])
