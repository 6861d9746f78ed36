#!/usr/bin/env python3
"""Translate a vrfc op list (vrfc compile --emit ops) into the equivalent
iproute2 batch (`ip -batch FILE`): the same links with the same settings,
created the way a shell script or the Go network-operator would.

Used as the reference of bench/apply.sh and, without the marker, to build a
node "made by the Go operator" in the adoption tests.

usage: ops-to-ip-batch.py OPS.json --local 192.0.2.129 [--no-marker]
       [--first-table N] [--no-up]
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ops")
    ap.add_argument("--local", required=True, help="the underlay's IPv4 address (VTEP)")
    ap.add_argument("--no-marker", action="store_true", help="leave out vrfc's alias marker")
    ap.add_argument("--first-table", type=int, help="VRF tables from here (default: the op list's range start)")
    ap.add_argument("--no-up", action="store_true", help="leave the links down")
    a = ap.parse_args()

    ops = json.load(sys.stdin if a.ops == "-" else open(a.ops))
    underlay = ops["underlay"]
    mac = "02:54:" + ":".join("%02x" % int(b) for b in a.local.split("."))
    table = a.first_table if a.first_table is not None else ops["tableRange"]["first"]
    links = {l["name"]: l for l in ops["links"]}
    out, done = [], set()

    def onoff(b):
        return "on" if b else "off"

    for l in ops["links"]:
        name = l["name"]
        if name in done:
            continue
        done.add(name)
        add = ["link add", name, "mtu", str(l["mtu"])]
        if l.get("macFromUnderlay"):
            add += ["address", mac]
        if l.get("master"):
            add += ["master", l["master"]]
        kind = l["kind"]
        if kind == "vrf":
            add += ["type vrf table", str(table)]
            table += 1
        elif kind == "bridge":
            add += ["type bridge"]
        elif kind == "vxlan":
            v = l["vxlan"]
            add += ["type vxlan id", str(v["vni"]), "local", a.local, "dev", v["device"],
                    "dstport", str(v["dstPort"]), "learning" if v["learning"] else "nolearning"]
        elif kind == "veth":
            peer = links[l["peer"]]
            add += ["type veth peer name", peer["name"], "mtu", str(peer["mtu"])]
        out.append(" ".join(add))
        ends = [l] + ([links[l["peer"]]] if kind == "veth" else [])
        for e in ends:
            done.add(e["name"])
            s = ["link set dev", e["name"], "addrgenmode", e["addrGenMode"]]
            if not a.no_marker:
                s += ["alias", "vrfc:v1:" + e["vrf"]]
            p = e.get("bridgePort")
            if p:
                s += ["type bridge_slave hairpin", onoff(p["hairpin"]), "learning", onoff(p["learning"]),
                      "neigh_suppress", onoff(p["neighSuppress"])]
            out.append(" ".join(s))
    if not a.no_up:
        out += ["link set dev %s up" % l["name"] for l in ops["links"]]
    print("\n".join(out))


if __name__ == "__main__":
    main()
