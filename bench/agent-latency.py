#!/usr/bin/env python3
"""Benchmark (not a test): how fast `vrfc-apply agent` reacts to an input change.

In a fresh network namespace (dum.underlay a veth end: this kernel has no
dummy links), the agent watches an op list (the mgmt-vrf fixture without its
vr. links, which this kernel cannot make) with --debounce 0 --interval 0.
Each round renames a new op list over the watched one, alternately without
and with one VRF's stack, and reads the agent's JSON log as it is written:

  started   the rename -> the agent's "reconcile started" line
  finished  the rename -> "reconcile finished" (the stack created or removed:
            4 links, 3 router attachments, read back in sync)

Medians and maxima over ROUNDS (default 20). Needs root and a release build:
  swift build -c release --static-swift-stdlib --product vrfc-apply
  bench/agent-latency.py [BINARY]
"""
import json, os, statistics, subprocess, sys, tempfile, time, uuid

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/release/vrfc-apply")
vrfc = os.path.join(root, ".build/release/vrfc")
if not os.path.exists(vrfc):
    vrfc = os.path.join(root, ".build/debug/vrfc")
rounds = int(os.environ.get("ROUNDS", "20"))
ns = "vrfc-agbench-" + uuid.uuid4().hex[:6]
pins = "/sys/fs/bpf/" + ns


def sh(*args):
    subprocess.run(args, check=True)


fixture = os.path.join(root, "fixtures/mgmt-vrf")
ops = json.loads(subprocess.run([vrfc, "compile", "--config", fixture + "/config.yaml", "--emit", "ops", fixture + "/crs"],
                                check=True, capture_output=True, text=True).stdout)
ops["links"] = [l for l in ops["links"] if l["kind"] != "vrf"]
for l in ops["links"]:
    if l.get("master", "").startswith("vr."):
        del l["master"]


def without(vrf):
    o = dict(ops)
    o["links"] = [l for l in ops["links"] if l["vrf"] != vrf]
    names = {l["name"] for l in o["links"]}
    o["routerAttachments"] = [a for a in ops["routerAttachments"] if a in names]
    return o


tmp = tempfile.mkdtemp(prefix="vrfc-agbench-")
path = os.path.join(tmp, "ops.json")
json.dump(ops, open(path, "w"))
sh("ip", "netns", "add", ns)
agent = None
try:
    sh("ip", "-n", ns, "link", "add", "dum.underlay", "mtu", "9100", "type", "veth", "peer", "name", "ul.peer", "mtu", "9100")
    sh("ip", "-n", ns, "address", "add", "192.0.2.129/32", "dev", "dum.underlay")
    agent = subprocess.Popen([binary, "agent", "--netns", ns, "--bpf-pin-dir", pins, "--ops", path,
                              "--debounce", "0", "--interval", "0", "--log-format", "json"],
                             stderr=subprocess.PIPE, text=True)

    def wait(msg):
        while True:
            line = agent.stderr.readline()
            if not line:
                raise SystemExit("agent exited")
            r = json.loads(line)
            if r.get("msg") == msg:
                return r

    wait("reconcile finished")
    started, finished = [], []
    for i in range(rounds):
        json.dump(without("vrf2") if i % 2 == 0 else ops, open(path + ".tmp", "w"))
        t0 = time.monotonic()
        os.rename(path + ".tmp", path)
        wait("reconcile started")
        t1 = time.monotonic()
        r = wait("reconcile finished")
        t2 = time.monotonic()
        if r.get("result") != "ok" or r.get("changes") == "0":
            raise SystemExit(f"unexpected reconcile: {r}")
        started.append((t1 - t0) * 1000)
        finished.append((t2 - t0) * 1000)
    load = os.getloadavg()[0]
    print(f"{rounds} changes, load {load:.1f}, {binary}")
    print(f"started:  median {statistics.median(started):.1f} ms, max {max(started):.1f} ms")
    print(f"finished: median {statistics.median(finished):.1f} ms, max {max(finished):.1f} ms")
finally:
    if agent:
        agent.terminate()
        agent.wait()
    subprocess.run(["ip", "netns", "delete", ns])
    for name in os.listdir(pins) if os.path.isdir(pins) else []:
        os.unlink(os.path.join(pins, name))
    if os.path.isdir(pins):
        os.rmdir(pins)
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
