/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vrfc tc router: the contract between bpf/router.c and its readers
 * (VRFCBPF: loader, `vrfc-apply bpf stats`, tests). Plain C with no kernel
 * includes, so both the BPF build and the Swift importer read this one file.
 *
 * Map names, key and value layouts and the enum indices below are a stable
 * interface: maps are pinned under bpffs and outlive the applier, so a
 * change here is a new layout (the loader then replaces the old pins, and
 * counters restart from zero). Append new values; never renumber.
 */
#ifndef VRFC_ROUTER_H
#define VRFC_ROUTER_H

/* Program and map names (the kernel keeps at most 15 characters). */
#define VRFC_PROG_NAME_STR "vrfc_router"
#define VRFC_MAP_OUTCOMES "vrfc_outcome"  /* PERCPU_ARRAY u32 -> struct vrfc_counter */
#define VRFC_MAP_FIB "vrfc_fib"           /* PERCPU_ARRAY u32 -> struct vrfc_counter */

/* What the program did with one packet; index into VRFC_MAP_OUTCOMES. */
enum vrfc_outcome {
	/* FIB hit with a resolved neighbour: MACs rewritten, TTL/hop limit
	 * decremented, bpf_redirect() to the egress interface. */
	VRFC_OUT_ROUTED = 0,
	/* FIB hit, neighbour not (yet) resolved: TTL/hop limit decremented,
	 * bpf_redirect_neigh() lets the kernel resolve and fill in L2. */
	VRFC_OUT_ROUTED_NEIGH = 1,
	/* Not IPv4/IPv6 (ARP, VLAN-tagged, LLDP, ...): up the stack. */
	VRFC_OUT_PASS_NOT_IP = 2,
	/* Frame not addressed to this interface's MAC (broadcast, multicast,
	 * other host): a router only forwards what was sent to it. */
	VRFC_OUT_PASS_NOT_FOR_US = 3,
	/* Truncated or invalid IP header (version, IHL, length, IPv4 header
	 * checksum): the stack drops it and counts it in its own MIBs. */
	VRFC_OUT_PASS_MALFORMED = 4,
	/* IPv4 options or IPv6 hop-by-hop header: every router must process
	 * them, which is the stack's job (the slow path, as on hardware). */
	VRFC_OUT_PASS_IP_OPTIONS = 5,
	/* Multicast, broadcast, link-local, loopback or unspecified addresses:
	 * never forwarded blindly; the stack decides. */
	VRFC_OUT_PASS_SCOPE = 6,
	/* TTL/hop limit would expire: the stack sends ICMP time exceeded. */
	VRFC_OUT_PASS_TTL = 7,
	/* The FIB lookup did not give a forwardable route (local destination,
	 * no route, unreachable, blackhole, MTU, forwarding disabled, ...);
	 * the reason is in VRFC_MAP_FIB. */
	VRFC_OUT_PASS_FIB = 8,
	VRFC_OUT_COUNT = 9,
	/* Array size, with room to append outcomes without a new layout. */
	VRFC_OUT_SLOTS = 16,
};

/* VRFC_MAP_FIB is indexed by the bpf_fib_lookup() return value
 * (BPF_FIB_LKUP_RET_SUCCESS = 0 ... BPF_FIB_LKUP_RET_NO_SRC_ADDR = 9).
 * Values the kernel may add later land in their own slot up to
 * VRFC_FIB_SLOTS - 2; a negative return (invalid arguments, no such
 * ifindex) and anything larger is counted in VRFC_FIB_ERROR. */
enum vrfc_fib_slot {
	VRFC_FIB_SLOTS = 16,
	VRFC_FIB_ERROR = 15,
};

/* One counter, per CPU; readers sum over all possible CPUs. */
struct vrfc_counter {
	unsigned long long packets;
	unsigned long long bytes;  /* skb->len: from the Ethernet header on */
};

/* clsact ingress filter slot the loader uses for the program. Instances
 * found at other slots (older builds) are removed after the new one runs. */
#define VRFC_TC_PRIORITY 0x7672
#define VRFC_TC_HANDLE 0x7672

#endif
