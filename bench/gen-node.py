#!/usr/bin/env python3
"""Writes a synthetic node for the compile benchmark: VRFS VRFs, CRS CRs per
VRF, ITEMS import and ITEMS export items per CR, half IPv4 and half IPv6,
in one multi-document YAML file, plus its config.yaml and a base frr.conf.

usage: gen-node.py OUTDIR VRFS [CRS] [ITEMS]
"""
import os
import sys

out, vrfs = sys.argv[1], int(sys.argv[2])
crs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
items = int(sys.argv[4]) if len(sys.argv) > 4 else 20
os.makedirs(out, exist_ok=True)

with open(os.path.join(out, "config.yaml"), "w") as f:
    f.write("vrfConfig:\n")
    for v in range(vrfs):
        f.write(f"  v{v:05d}: {{vni: {100000 + v}, rt: \"64510:{100000 + v}\"}}\n")
    f.write("serverASN: 64510\n")

with open(os.path.join(out, "frr.conf"), "w") as f:
    f.write("""hostname {{.Hostname}}
!
#++{{.VRFs}}
!
router bgp 64510
 bgp router-id 198.51.100.1
 #++{{.Neighbors}}
 !
 address-family ipv4 unicast
  #++{{.NeighborsV4}}
 exit-address-family
 !
 address-family ipv6 unicast
  #++{{.NeighborsV6}}
 exit-address-family
exit
!
#++{{.BGP}}
!
#++{{.PrefixLists}}
!
#++{{.RouteMaps}}
!
""")

def item(v, c, i, direction):
    # Distinct documentation prefixes per VRF, CR and item.
    n = (v * crs + c) * items + i
    if i % 2 == 0:
        net = ["192.0.2", "198.51.100", "203.0.113"][n % 3]
        return f"  - {{cidr: {net}.{(n * 4) % 256}/30, action: permit, le: 32}}\n"
    return f"  - {{cidr: \"2001:db8:{n % 65536:x}:{(n // 65536) + (2 if direction == 'export' else 1):x}::/64\", action: permit, le: 128}}\n"

with open(os.path.join(out, "crs.yaml"), "w") as f:
    for v in range(vrfs):
        for c in range(crs):
            f.write("---\napiVersion: network.schiff.telekom.de/v1alpha1\nkind: VRFRouteConfiguration\n")
            f.write(f"metadata:\n  name: v{v:05d}-cr{c}\nspec:\n  vrf: v{v:05d}\n  seq: {10 * (c + 1)}\n")
            f.write(f"  community: \"64510:{c}\"\n")
            for direction in ("import", "export"):
                f.write(f"  {direction}:\n")
                for i in range(items):
                    f.write(item(v, c, i, direction))
