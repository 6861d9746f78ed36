#!/usr/bin/python3
"""The lab's checker: what the CRs say, compared with what FRR does.

Expectations come from the intent (the CRs and the node config, read here
with PyYAML and evaluated with FRR's prefix-list and route-map rules, an
implementation independent of vrfc's) and from lab.json (what each side
announces). The truth comes from FRR's JSON views, read with vtysh in the
node's and the leaf's pathspaces. Every check polls until it holds or its
time runs out, then prints each failed expectation.

  check.py leaf-conf                       the leaf's frr.conf, from lab.json
  check.py sessions INTENT [--timeout S]   every BGP session Established
  check.py leaks INTENT [--timeout S]      leaking exactly as the CRs say
  check.py routed BEFORE AFTER --min N     the tc router's counters moved
  check.py evpn VRF... [--timeout S]       each zebra has the other side's
                                           router MAC and next hops per L3 VNI;
                                           exit 3: only the leaf's zebra lost them
"""
import argparse
import ipaddress
import json
import os
import subprocess
import sys
import time

import yaml

LAB = os.path.dirname(os.path.abspath(__file__))
NODE_NS = os.environ.get("LAB_NODE", "node")
LEAF_NS = os.environ.get("LAB_LEAF", "leaf")


def lab():
    with open(os.path.join(LAB, "lab.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------- the intent

def read_intent(directory, config_path):
    with open(config_path) as f:
        config = yaml.safe_load(f)
    crs = []
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name)) as f:
                crs += [d for d in yaml.safe_load_all(f) if d]
    skip = set(config.get("skipVRFConfig") or [])
    vrfs = {}
    for cr in crs:
        spec = cr["spec"]
        vrfs.setdefault(spec["vrf"], []).append(spec)
    for specs in vrfs.values():
        specs.sort(key=lambda s: s["seq"])
    full = sorted(v for v in vrfs if v not in skip)
    return {"vrfs": vrfs, "full": full, "skip": sorted(v for v in vrfs if v in skip)}


def item_matches(item, prefix):
    net = ipaddress.ip_network(item["cidr"])
    if net.version != prefix.version or not prefix.subnet_of(net):
        return False
    ge, le = item.get("ge"), item.get("le")
    if ge is None and le is None:
        return prefix.prefixlen == net.prefixlen
    lo = ge if ge is not None else net.prefixlen
    hi = le if le is not None else net.max_prefixlen
    return lo <= prefix.prefixlen <= hi


def prefix_list_permits(items, prefix):
    """FRR: the first matching line by seq decides; no match is a deny."""
    family = [(it.get("seq", i + 1), it) for i, it in enumerate(items)
              if ipaddress.ip_network(it["cidr"]).version == prefix.version]
    for _, it in sorted(family, key=lambda p: p[0]):
        if item_matches(it, prefix):
            return it["action"] == "permit"
    return None  # no line matched (or no line of this family)


def route_map(intent, vrf, direction, prefix, tagged=False):
    """(permitted, community) through rm[6]_<vrf>_<direction>: for exports
    the deny 1 / match tag 20000 entry first, then one entry per CR in
    spec.seq order that has items of the prefix's family; no entry: deny."""
    if direction == "export" and tagged:
        return False, None
    for spec in intent["vrfs"].get(vrf, []):
        items = spec.get(direction) or []
        if prefix_list_permits(items, prefix):
            return True, spec.get("community") if direction == "export" else None
    return False, None


# -------------------------------------------------------------- FRR's truth

SENTINEL = "show interface lo json"  # zebra always answers it: {"lo": {...}}


def vtysh_docs(ns, commands, daemon="bgpd"):
    """Runs several JSON show commands in one vtysh (each vtysh start costs
    about a second under emulation) and returns one object per command.
    zebra prints nothing at all for some empty tables (`show evpn rmac vni
    N json` with no entry), so for zebra a sentinel command follows each,
    and a command whose answer is missing reads as {}."""
    sentinel = daemon == "zebra"
    args = ["vtysh", "-N", ns, "-d", daemon]
    for c in commands:
        args += ["-c", c] + (["-c", SENTINEL] if sentinel else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    text = "\n".join(l for l in r.stdout.splitlines() if not l.startswith("%"))
    dec, i, objs = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i] != "{":
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        objs.append(obj)
    if sentinel:
        docs, pending = [], None
        for o in objs:
            if isinstance(o, dict) and set(o) == {"lo"}:
                docs.append(pending if pending is not None else {})
                pending = None
            else:
                pending = o
        if len(docs) != len(commands):  # vtysh failed part-way: nothing is known
            return [{} for _ in commands]
        return docs
    if len(objs) != len(commands):  # vtysh failed part-way: nothing is known
        return [{} for _ in commands]
    return objs


class View:
    """FRR's tables in one poll round: per namespace one vtysh for every
    VRF's IPv4 and IPv6 table, one for the communities of given prefixes."""

    def __init__(self):
        self.tables = {}
        self.details = {}

    def table(self, ns, vrf, afi):
        if ns not in self.tables:
            docs = vtysh_docs(ns, ["show bgp vrf all ipv4 unicast json", "show bgp vrf all ipv6 unicast json"])
            self.tables[ns] = {}
            for a, doc in zip(("ipv4", "ipv6"), docs):
                for v, t in doc.items():
                    routes = {}
                    for p, paths in ((t or {}).get("routes") or {}).items():
                        if isinstance(paths, dict):
                            paths = [paths]
                        valid = [x for x in paths if x.get("valid")]
                        if valid:
                            routes[p] = valid
                    self.tables[ns].setdefault(v, {})[a] = routes
        return self.tables[ns].get(vrf, {}).get(afi, {})

    def fetch_communities(self, wanted):
        """wanted: (ns, vrf, prefix) triples; one vtysh per namespace."""
        by_ns = {}
        for ns, vrf, p in wanted:
            by_ns.setdefault(ns, []).append((vrf, p))
        for ns, items in by_ns.items():
            docs = vtysh_docs(ns, [f"show bgp vrf {vrf} {fam(p)} unicast {p} json" for vrf, p in items])
            for (vrf, p), j in zip(items, docs):
                paths = j.get("paths") or []
                best = [x for x in paths if (x.get("bestpath") or {}).get("overall")] or paths
                self.details[(ns, vrf, p)] = (set(((best[0].get("community") or {}).get("string") or "").split())
                                              if best else None)

    def communities(self, ns, vrf, prefix):
        """The community strings of the best path (a set), or None."""
        if (ns, vrf, prefix) not in self.details:
            self.fetch_communities([(ns, vrf, prefix)])
        return self.details[(ns, vrf, prefix)]


def fam(p):
    return "ipv4" if p.version == 4 else "ipv6"


def expectations(intent, L):
    """(description, function(view) -> error or None) for every fact the
    intent implies. Preconditions (the route is there to be leaked at all)
    are checks too, so no expectation holds vacuously."""
    checks = []
    community_queries = []
    tenants = L["tenants"]
    cluster = [ipaddress.ip_network(p) for f in ("ipv4", "ipv6") for p in L["cluster"][f]]
    fabric = [ipaddress.ip_network(p) for f in ("ipv4", "ipv6") for p in L["fabric"][f]]

    def present(ns, vrf, p, want, why):
        def f(v):
            has = str(p) in v.table(ns, vrf, fam(p))
            if has != want:
                return f"{ns} {vrf}: {p} {'missing' if want else 'present'} ({why})"
        checks.append((f"{ns} {vrf} {p} {'present' if want else 'absent'}: {why}", f))

    def community(ns, vrf, p, want, why):
        community_queries.append((ns, vrf, p))

        def f(v):
            got = v.communities(ns, vrf, p)
            exp = set(want.split()) if want else set()
            if got != exp:
                return f"{ns} {vrf}: {p} communities {sorted(got) if got is not None else 'n/a'}, want {sorted(exp)} ({why})"
        checks.append((f"{ns} {vrf} {p} community {want or 'none'}: {why}", f))

    for p in cluster + fabric:
        present(NODE_NS, "default", p, True, "precondition: in the node's default VRF")

    for vrf, t in tenants.items():
        vr = "vr." + vrf
        tenant = [ipaddress.ip_network(p) for f in ("ipv4", "ipv6") for p in t[f]]
        tenant += [ipaddress.ip_interface(t["host"][k]).network for k in ("ipv4", "ipv6")]
        if vrf not in intent["full"]:
            # Not (or no longer) in the intent: nothing of it in the default
            # VRF, no instance on the node, no export reaching the leaf.
            for p in tenant:
                present(NODE_NS, "default", p, False, f"{vrf} is not in the intent")
            for p in cluster:
                present(LEAF_NS, vr, p, False, f"{vrf} is not in the intent: the node exports nothing to it")
            continue
        aggregates = [ipaddress.ip_network(a) for s in intent["vrfs"][vrf] for a in s.get("aggregate") or []]
        for p in tenant + aggregates:
            why = "aggregate" if p in aggregates else "announced by the leaf"
            present(NODE_NS, vr, p, True, f"precondition: {why}, reaches the node's VRF")
            ok, _ = route_map(intent, vrf, "import", p)
            present(NODE_NS, "default", p, ok, f"import {'permitted' if ok else 'not permitted'} by rm_{vrf}_import")
        for p in cluster:
            ok, comm = route_map(intent, vrf, "export", p)
            why = f"export {'permitted' if ok else 'not permitted'} by rm_{vrf}_export"
            present(NODE_NS, vr, p, ok, why)
            present(LEAF_NS, vr, p, ok, why + ", over EVPN")
            if ok:
                community(NODE_NS, vr, p, comm, f"set by {vrf}'s CR")
                community(LEAF_NS, vr, p, comm, f"set by {vrf}'s CR, advertised over EVPN")
        for p in fabric:
            present(NODE_NS, vr, p, False, "fabric route tagged 20000: never exported")

    mgmt = L["mgmt"]["vrf"]
    if mgmt in intent["vrfs"]:
        for p in cluster + fabric:
            if p.version != 4:
                continue
            ok, _ = route_map(intent, mgmt, "export", p, tagged=p in fabric)
            present(NODE_NS, mgmt, p, ok, f"base config calls rm_{mgmt}_export: {'permitted' if ok else 'denied'}")
    return checks, community_queries


def strength(intent, L):
    """Says which denials the data proves (a check that a tagged route is
    absent proves the tag rule only when some export list would let it in)."""
    notes = []
    for vrf in intent["full"]:
        for p in [ipaddress.ip_network(x) for f in ("ipv4", "ipv6") for x in L["fabric"][f]]:
            if route_map(intent, vrf, "export", p)[0]:
                notes.append(f"{p} would pass rm_{vrf}_export's prefix-lists: its absence from vr.{vrf} proves the tag rule")
    return notes


def poll_until(checks, timeout, new_view, label, held, failed):
    """Reads FRR afresh (a new view) every 2 s until every check holds, or
    reports the ones that still fail after `timeout` seconds: 0 or 1."""
    start = time.monotonic()
    rounds = 0
    while True:
        rounds += 1
        v = new_view()
        errors = [e for _, f in checks if (e := f(v))]
        if not errors:
            print(f"{label}: {len(checks)} {held} (after {time.monotonic() - start:.1f} s, {rounds} rounds)")
            return 0
        if time.monotonic() - start > timeout:
            print(f"{label}: {len(errors)} of {len(checks)} {failed} after {timeout} s:")
            for e in errors:
                print("  FAIL " + e)
            return 1
        time.sleep(2)


def poll(checks_and_queries, timeout, label):
    checks, queries = checks_and_queries

    def view():
        v = View()
        v.fetch_communities(queries)
        return v
    return poll_until(checks, timeout, view, label, "checks hold", "checks fail")


# ------------------------------------------------------------------ sessions

def session_checks(intent, L):
    """Every session the intent implies, by VRF and address family, and no
    dv. session of a VRF that is not in the intent."""
    want = {"default": {"eth1": ["ipv4Unicast", "ipv6Unicast", "l2VpnEvpn"], "mgmt_vrf_def": ["ipv4Unicast"]},
            L["mgmt"]["vrf"]: {"def_mgmt_vrf": ["ipv4Unicast"]}}
    for vrf in intent["full"]:
        want["default"]["dv." + vrf] = ["ipv4Unicast", "ipv6Unicast"]
        want["vr." + vrf] = {"vd." + vrf: ["ipv4Unicast", "ipv6Unicast"]}
    checks = []
    for vrf, peers in want.items():
        for peer, afs in peers.items():
            for af in afs:
                def f(v, vrf=vrf, peer=peer, af=af):
                    s = v.summary().get(vrf, {}).get(af, {}).get("peers", {}).get(peer)
                    if not s or s.get("state") != "Established":
                        return f"{vrf} {af} {peer}: {s.get('state') if s else 'no such peer'}"
                checks.append((f"{vrf} {af} {peer} Established", f))
    def no_stale(v):
        extra = [p for p in v.summary().get("default", {}).get("ipv4Unicast", {}).get("peers", {})
                 if p.startswith("dv.") and p[3:] not in intent["full"]]
        stale = [k for k in v.summary() if k.startswith("vr.") and k[3:] not in intent["full"]]
        if extra or stale:
            return f"sessions/instances of VRFs not in the intent: {extra + stale}"
    checks.append(("no session of a VRF outside the intent", no_stale))
    return checks


class SummaryView(View):
    def summary(self):
        if not hasattr(self, "_summary"):
            self._summary = vtysh_docs(NODE_NS, ["show bgp vrf all summary json"])[0]
        return self._summary


def poll_sessions(checks, timeout):
    return poll_until(checks, timeout, SummaryView, "sessions", "sessions/families Established", "not Established")


# ------------------------------------------------------------------ the leaf

def leaf_conf(L):
    """The leaf: eBGP to the node over eth1 (unnumbered), its VTEP and the
    fabric prefixes in the default VRF, each tenant VRF with its L3 VNI,
    its host subnet (connected) and the prefixes of lab.json. It tags
    nothing; import-check is off so prefixes need no route behind them."""
    leaf = L["leaf"]
    out = ["frr defaults datacenter", "hostname leaf", "service integrated-vtysh-config", "!"]
    for vrf, t in L["tenants"].items():
        out += [f"vrf vr.{vrf}", f" vni {t['vni']}", "exit-vrf", "!"]
    out += [f"router bgp {leaf['asn']}", f" bgp router-id {leaf['vtep']}", " no bgp default ipv4-unicast",
            " no bgp network import-check", " neighbor node peer-group", " neighbor node remote-as external",
            " neighbor eth1 interface peer-group node", " !", " address-family ipv4 unicast",
            f"  network {leaf['vtep']}/32"]
    out += [f"  network {p}" for p in L["fabric"]["ipv4"]]
    out += ["  neighbor node activate", " exit-address-family", " !", " address-family ipv6 unicast"]
    out += [f"  network {p}" for p in L["fabric"]["ipv6"]]
    out += ["  neighbor node activate", " exit-address-family", " !", " address-family l2vpn evpn",
            "  neighbor node activate", "  advertise-all-vni", " exit-address-family", "exit", "!"]
    for vrf, t in L["tenants"].items():
        out += [f"router bgp {leaf['asn']} vrf vr.{vrf}", f" bgp router-id {leaf['vtep']}",
                " no bgp network import-check"]
        for f in ("ipv4", "ipv6"):
            out += [f" address-family {f} unicast", "  redistribute connected"]
            out += [f"  network {p}" for p in t[f]]
            out += [" exit-address-family"]
        out += [" address-family l2vpn evpn", "  advertise ipv4 unicast", "  advertise ipv6 unicast"]
        if t.get("leafRT"):
            out += [f"  route-target import {t['leafRT']}", f"  route-target export {t['leafRT']}"]
        out += [" exit-address-family", "exit", "!"]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ EVPN

# check.py evpn's exit status when only the leaf's zebra lost entries the
# node's advertisements still carry: the lab's fabric is at fault, not the
# node (guest.sh repairs the leaf and checks again; README "The lab").
LEAF_ONLY = 3


def onlink_gateways(tables, svi):
    """The gateways of zebra's selected BGP routes via the SVI onlink: how
    zebra installs a route learnt over an L3 VNI (`via VTEP dev br.X
    onlink`). tables: `show ip[v6] route vrf X json` documents."""
    used = set()
    for table in tables:
        for entries in table.values():
            if not isinstance(entries, list):
                continue
            for e in entries:
                if not (e.get("selected") and e.get("protocol") == "bgp"):
                    continue
                for h in e.get("nexthops") or []:
                    if h.get("interfaceName") == svi and h.get("onLink") and h.get("ip"):
                        used.add(ipaddress.ip_address(h["ip"]))
    return used


def evpn_rmacs(doc, vtep):
    """The router MACs (Rmac: extended community) on the type-5 paths of a
    `show bgp l2vpn evpn route detail type prefix json` with next hop vtep."""
    found = set()

    def walk(x):
        if isinstance(x, dict):
            ext = (x.get("extendedCommunity") or {}).get("string")
            hops = [h.get("ip") for h in x.get("nexthops") or [] if isinstance(h, dict)]
            if ext and str(vtep) in hops:
                found.update(w[len("Rmac:"):] for w in ext.split() if w.startswith("Rmac:"))
            for y in x.values():
                walk(y)
        elif isinstance(x, list):
            for y in x:
                walk(y)
    walk(doc)
    return found


def zebra_entries(rmacs, hops, mac, vtep, want_hops):
    """What a zebra lacks for a remote VTEP: its RMAC entry (router MAC
    `mac` via `vtep`) and a next-hop entry with that MAC per address in
    want_hops. A list of short descriptions, empty when nothing is missing."""
    missing = []
    rm = [x for x in (rmacs or {}).values() if isinstance(x, dict)]
    if not any(x.get("routerMac") == mac and x.get("vtepIp") == str(vtep) for x in rm):
        got = [(x.get("routerMac"), x.get("vtepIp")) for x in rm]
        missing.append(f"no RMAC {mac} via VTEP {vtep} (has {got or 'none'})")
    have = {ipaddress.ip_address(x["nexthopIp"]): x.get("routerMac")
            for x in (hops or {}).values() if isinstance(x, dict) and "nexthopIp" in x}
    bad = [f"{h} ({'missing' if h not in have else 'RMAC ' + str(have[h])})"
           for h in sorted(want_hops, key=str) if have.get(h) != mac]
    if bad:
        missing.append(f"next hops {', '.join(bad)}, want RMAC {mac}")
    return missing


def evpn_checks(vrfs, L):
    """What each zebra must hold per tenant VRF for its kernel to reach the
    other side over the L3 VNI: an RMAC entry with the peer's router MAC
    and VTEP, and that VTEP as a next hop with the same MAC, as IPv4 (the
    IPv4 routes) and as IPv4-mapped IPv6 (the IPv6 routes). zebra writes
    these as the kernel's neighbour (br.) and FDB (vx.) entries; without
    them routes are installed and traffic still goes nowhere.

    Node side: the node's zebra holds the leaf's router MAC (read from the
    leaf's zebra) and both next hops. Leaf side, in the same terms: the
    leaf's zebra holds the node's router MAC for every next hop its routes
    via the node use, provided the leaf has such routes and the node's
    advertisements (in the leaf's BGP) carry that router MAC. Each check
    returns (side, error): a leaf-side error with the node side in order is
    the leaf's own zebra (FRR 8.4) losing what the node still advertises."""
    leaf_vtep = ipaddress.ip_address(L["leaf"]["vtep"])
    node_vtep = ipaddress.ip_address(L["node"]["underlayRouterID"])
    checks = []
    for vrf in vrfs:
        vni = L["tenants"][vrf]["vni"]

        def node_side(v, vrf=vrf, vni=vni):
            mac = v.rmac("leaf", vni)
            if not mac:
                return f"leaf: no router MAC for L3 VNI {vni} ({vrf})"
            want = {leaf_vtep, ipaddress.ip_address(f"::ffff:{leaf_vtep}")}
            lost = zebra_entries(v.zebra("node", vni, "rmac"), v.zebra("node", vni, "next-hops"), mac, leaf_vtep, want)
            if lost:
                return f"node: VNI {vni} ({vrf}): " + "; ".join(lost)

        def leaf_side(v, vrf=vrf, vni=vni):
            mac = v.rmac("node", vni)
            if not mac:
                return f"node: no router MAC for L3 VNI {vni} ({vrf})"
            used = v.leaf_gateways(vrf)
            if not used:
                return f"leaf: vr.{vrf} has no route via the node's VTEP (br.{vrf} onlink): nothing of the node's reaches it"
            advertised = v.leaf_bgp_rmacs()
            if mac not in advertised:
                return (f"leaf: the node's type-5 routes (next hop {node_vtep}) carry router MAC(s) "
                        f"{sorted(advertised) or 'none'} in the leaf's BGP, not the node's VNI {vni} router MAC {mac}")
            lost = zebra_entries(v.zebra("leaf", vni, "rmac"), v.zebra("leaf", vni, "next-hops"), mac, node_vtep, used)
            if lost:
                return ("LEAF-ONLY", f"the leaf's zebra lost VNI {vni}'s router MAC ({vrf}: " + "; ".join(lost)
                        + f"; its BGP has the node's routes with Rmac:{mac} and {len(used)} next hop(s) in use) "
                        "— FRR 8.4 bug, the lab's fabric, not the node")
        checks.append((f"node VNI {vni} ({vrf}): leaf's RMAC and next hops", node_side))
        checks.append((f"leaf VNI {vni} ({vrf}): node's RMAC and next hops", leaf_side))
    return checks


class EVPNView:
    """One poll round, one vtysh per daemon and namespace: each zebra's
    router MAC, RMAC and next-hop tables per VNI, the leaf's routes in each
    tenant VRF, and the leaf's BGP type-5 routes (their Rmac: communities)."""

    KINDS = ("rmac", "next-hops")

    def __init__(self, vrfs, L):
        self.L = L
        vnis = [L["tenants"][v]["vni"] for v in vrfs]
        self.tables, self.macs = {}, {}
        for ns, side in ((NODE_NS, "node"), (LEAF_NS, "leaf")):
            cmds = [f"show evpn vni {n} json" for n in vnis]
            cmds += [f"show evpn {k} vni {n} json" for n in vnis for k in self.KINDS]
            if side == "leaf":
                cmds += [f"show ip{f} route vrf vr.{v} json" for v in vrfs for f in ("", "v6")]
            docs = vtysh_docs(ns, cmds, daemon="zebra")
            for n, d in zip(vnis, docs):
                self.macs[(side, n)] = d.get("routerMac")
            rest = docs[len(vnis):]
            for (n, k), d in zip([(n, k) for n in vnis for k in self.KINDS], rest):
                self.tables[(side, n, k)] = d
            if side == "leaf":
                routes = rest[len(vnis) * len(self.KINDS):]
                self.routes = {v: routes[2 * i:2 * i + 2] for i, v in enumerate(vrfs)}
        self.bgp = vtysh_docs(LEAF_NS, ["show bgp l2vpn evpn route detail type prefix json"])[0]

    def rmac(self, side, vni):
        return self.macs.get((side, vni))

    def zebra(self, side, vni, kind):
        return self.tables.get((side, vni, kind)) or {}

    def leaf_gateways(self, vrf):
        return onlink_gateways(self.routes.get(vrf) or [], f"br.{vrf}")

    def leaf_bgp_rmacs(self):
        return evpn_rmacs(self.bgp, self.L["node"]["underlayRouterID"])


def poll_evpn(vrfs, L, timeout):
    """As poll_until, but says which side failed: 0 every check holds; 1 a
    node-side check (or the node's advertisements) fails; LEAF_ONLY only the
    leaf's zebra lost the node's router MAC/next hops. Ends early, after a
    short grace (zebra's queue can lag a route's arrival by a moment), once
    only leaf-side losses remain: waiting longer cannot bring those back."""
    checks = evpn_checks(vrfs, L)
    start = time.monotonic()
    rounds, leaf_since = 0, None
    while True:
        rounds += 1
        v = EVPNView(vrfs, L)
        results = [(d, f(v)) for d, f in checks]
        errors = [e for _, e in results if e]
        if not errors:
            print(f"evpn: {len(checks)} RMAC/next-hop checks hold, node and leaf "
                  f"(after {time.monotonic() - start:.1f} s, {rounds} rounds)")
            return 0
        leaf_only = all(isinstance(e, tuple) for e in errors)
        now = time.monotonic()
        leaf_since = (leaf_since or now) if leaf_only else None
        if now - start > timeout or (leaf_only and now - leaf_since >= 6):
            print(f"evpn: {len(errors)} of {len(checks)} RMAC/next-hop checks fail after {now - start:.1f} s:")
            for e in errors:
                print("  FAIL " + (e[1] if isinstance(e, tuple) else e))
            if leaf_only:
                print("evpn: only the leaf's zebra lost entries (the node holds the leaf's and advertises its own): "
                      "FRR 8.4's RMAC loss on the lab's fabric, not the node")
                return LEAF_ONLY
            return 1
        time.sleep(2)


# ------------------------------------------------------------------ counters

def routed(path):
    with open(path) as f:
        j = json.load(f)
    for row in j.get("outcomes", []):
        if row.get("name") == "routed" or row.get("name", "").startswith("routed"):
            return row.get("packets", 0)
    raise SystemExit(f"{path}: no 'routed' outcome in {json.dumps(j)[:300]}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("leaf-conf")
    for name in ("sessions", "leaks"):
        s = sub.add_parser(name)
        s.add_argument("intent")
        s.add_argument("--config", default=os.path.join(LAB, "node", "config.yaml"))
        s.add_argument("--timeout", type=float, default=180)
    e = sub.add_parser("evpn")
    e.add_argument("vrfs", nargs="+")
    e.add_argument("--timeout", type=float, default=120)
    r = sub.add_parser("routed")
    r.add_argument("before")
    r.add_argument("after")
    r.add_argument("--min", type=int, required=True)
    a = ap.parse_args()
    L = lab()
    if a.cmd == "leaf-conf":
        sys.stdout.write(leaf_conf(L))
        return 0
    if a.cmd == "routed":
        d = routed(a.after) - routed(a.before)
        print(f"tc router: {d} packets routed by the program (at least {a.min} expected)")
        return 0 if d >= a.min else 1
    if a.cmd == "evpn":
        unknown = [v for v in a.vrfs if v not in L["tenants"]]
        if unknown:
            raise SystemExit(f"evpn: not a tenant VRF of lab.json: {', '.join(unknown)}")
        return poll_evpn(a.vrfs, L, a.timeout)
    intent = read_intent(a.intent, a.config)
    if a.cmd == "sessions":
        return poll_sessions(session_checks(intent, L), a.timeout)
    for n in strength(intent, L):
        print("  note: " + n)
    return poll(expectations(intent, L), a.timeout, f"leaks ({os.path.basename(a.intent.rstrip('/'))})")


if __name__ == "__main__":
    sys.exit(main())
