// SPDX-License-Identifier: GPL-2.0-only
/*
 * vrfc tc router: routes IPv4/IPv6 packets between interfaces on clsact
 * ingress, in place of the kernel's forwarding path.
 *
 * Why tc and not XDP, plain route leaking or veths through netfilter: the
 * kernel cannot leak routes between VRFs and still match packets to
 * established TCP connections, XDP does not see VXLAN-decapsulated traffic
 * on every NIC, and the packets are already
 * sk_buffs here (after VXLAN decapsulation), and routing them on ingress keeps
 * them out of netfilter/conntrack, which would otherwise see them two or
 * three times.
 *
 * For each packet addressed to this interface: look the destination up in
 * the FIB of the ingress interface (so the ingress VRF's rules and table
 * apply, with the routes FRR leaked into it), decrement the TTL/hop limit,
 * and redirect to the egress interface
 * with the neighbour's MAC, or let bpf_redirect_neigh() resolve it. Anything
 * else goes up the stack unchanged (TC_ACT_OK), which then does what a router
 * must (ICMP errors, options, local delivery, drops with MIB counters).
 *
 * Every outcome and every FIB lookup result is counted per CPU; router.h
 * holds the layout, a contract with `vrfc-apply bpf stats` and the tests.
 *
 * Copyright (C) the vrfc authors.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "router.h"

/* <sys/socket.h> is libc; the values are ABI. */
#define VRFC_AF_INET 2
#define VRFC_AF_INET6 10
#define VRFC_IPV6_HOPOPTS 0

/* The program's name is how the loader recognises its own filters. Test
 * builds override it (a "foreign" program) or add VRFC_TEST_VARIANT (same
 * name, different instructions: an "older build"). */
#ifndef VRFC_PROG_NAME
#define VRFC_PROG_NAME vrfc_router
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VRFC_OUT_SLOTS);
	__type(key, __u32);
	__type(value, struct vrfc_counter);
} vrfc_outcome SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VRFC_FIB_SLOTS);
	__type(key, __u32);
	__type(value, struct vrfc_counter);
} vrfc_fib SEC(".maps");

static __always_inline void count(void *map, __u32 idx, __u32 len)
{
	struct vrfc_counter *c = bpf_map_lookup_elem(map, &idx);

	/* Per-CPU slot: no other writer, no atomics needed. */
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline int pass(struct __sk_buff *skb, __u32 outcome)
{
	count(&vrfc_outcome, outcome, skb->len);
	return TC_ACT_OK;
}

static __always_inline void count_fib(struct __sk_buff *skb, long rc)
{
	__u32 slot = VRFC_FIB_ERROR;

	if (rc >= 0 && rc < VRFC_FIB_ERROR)
		slot = (__u32)rc;
	count(&vrfc_fib, slot, skb->len);
}

/* Makes the first `need` bytes linear (direct access only sees the linear
 * part, which a GRO'd or fragmented skb may keep short). Returns 0 when they
 * are there, -1 when the packet itself is shorter. */
static __always_inline int linearize(struct __sk_buff *skb, __u32 need)
{
	if (skb->len < need)
		return -1;
	if ((void *)(long)skb->data + need <= (void *)(long)skb->data_end)
		return 0;
	if (bpf_skb_pull_data(skb, need))
		return -1;
	if ((void *)(long)skb->data + need > (void *)(long)skb->data_end)
		return -1;
	return 0;
}

static __always_inline int ipv4_special(__be32 a)
{
	__u32 h = bpf_ntohl(a);

	return (h >> 28) == 0xe ||            /* multicast 224/4 */
	       h == 0xffffffff ||             /* limited broadcast */
	       (h >> 24) == 127 ||            /* loopback */
	       (h >> 24) == 0 ||              /* "this network", unspecified */
	       (h >> 16) == 0xa9fe;           /* link-local 169.254/16 */
}

static __always_inline int ipv6_special(const struct in6_addr *a)
{
	__u32 w0 = bpf_ntohl(a->in6_u.u6_addr32[0]);
	int upper_zero = (a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] |
			  a->in6_u.u6_addr32[2]) == 0;
	__u32 last = bpf_ntohl(a->in6_u.u6_addr32[3]);

	return (w0 >> 24) == 0xff ||                   /* multicast */
	       (w0 & 0xffc00000) == 0xfe800000 ||      /* link-local */
	       (upper_zero && (last == 0 || last == 1)); /* unspecified, loopback */
}

static __always_inline int route_ipv4(struct __sk_buff *skb)
{
	const __u32 need = sizeof(struct ethhdr) + sizeof(struct iphdr);
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	struct iphdr *iph;
	void *data, *data_end;
	__u32 sum = 0, check;
	__u16 *w;
	long rc;

	if (linearize(skb, need))
		return pass(skb, VRFC_OUT_PASS_MALFORMED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	iph = data + sizeof(*eth);
	if ((void *)(iph + 1) > data_end)
		return pass(skb, VRFC_OUT_PASS_MALFORMED);

	if (iph->version != 4 || iph->ihl < 5 ||
	    bpf_ntohs(iph->tot_len) < iph->ihl * 4 ||
	    bpf_ntohs(iph->tot_len) > skb->len - sizeof(*eth))
		return pass(skb, VRFC_OUT_PASS_MALFORMED);
	if (iph->ihl != 5)
		return pass(skb, VRFC_OUT_PASS_IP_OPTIONS);

	/* ip_rcv() would verify the header checksum; redirecting skips it. */
	w = (__u16 *)iph;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return pass(skb, VRFC_OUT_PASS_MALFORMED);

	if (ipv4_special(iph->daddr) || ipv4_special(iph->saddr))
		return pass(skb, VRFC_OUT_PASS_SCOPE);
	if (iph->ttl <= 1)
		return pass(skb, VRFC_OUT_PASS_TTL);

	fib.family = VRFC_AF_INET;
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	/* tot_len stays 0: the kernel then checks the egress MTU against the
	 * skb itself, which is right for GSO packets too; an explicit length
	 * would be the whole GSO super-packet and fail. */
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = skb->ifindex; /* at clsact ingress: the receiving device */

	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	count_fib(skb, rc);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return pass(skb, VRFC_OUT_PASS_FIB);

	/* ip_decrease_ttl(): checksum update per RFC 1624 for TTL - 1. The
	 * header still sums to zero, so a CHECKSUM_COMPLETE skb->csum stays
	 * valid. */
	check = iph->check;
	check += bpf_htons(0x0100);
	iph->check = (__u16)(check + (check >= 0xffff));
	iph->ttl--;

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = { .nh_family = fib.family };

		/* An IPv4 route may have an IPv6 gateway (RFC 5549, as BGP
		 * unnumbered installs them); the lookup then says AF_INET6. */
		if (fib.family == VRFC_AF_INET6)
			__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, sizeof(nh.ipv6_nh));
		else
			nh.ipv4_nh = fib.ipv4_dst;
		count(&vrfc_outcome, VRFC_OUT_ROUTED_NEIGH, skb->len);
		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}

	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	count(&vrfc_outcome, VRFC_OUT_ROUTED, skb->len);
	return bpf_redirect(fib.ifindex, 0);
}

static __always_inline int route_ipv6(struct __sk_buff *skb)
{
	const __u32 need = sizeof(struct ethhdr) + sizeof(struct ipv6hdr);
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	void *data, *data_end;
	__be32 before, after;
	long rc;

	if (linearize(skb, need))
		return pass(skb, VRFC_OUT_PASS_MALFORMED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip6h = data + sizeof(*eth);
	if ((void *)(ip6h + 1) > data_end)
		return pass(skb, VRFC_OUT_PASS_MALFORMED);

	/* payload_len 0 is a jumbogram (hop-by-hop, below) or BIG TCP. */
	if (ip6h->version != 6 ||
	    bpf_ntohs(ip6h->payload_len) > skb->len - need)
		return pass(skb, VRFC_OUT_PASS_MALFORMED);
	if (ip6h->nexthdr == VRFC_IPV6_HOPOPTS)
		return pass(skb, VRFC_OUT_PASS_IP_OPTIONS);
	if (ipv6_special(&ip6h->daddr) || ipv6_special(&ip6h->saddr))
		return pass(skb, VRFC_OUT_PASS_SCOPE);
	if (ip6h->hop_limit <= 1)
		return pass(skb, VRFC_OUT_PASS_TTL);

	fib.family = VRFC_AF_INET6;
	/* Traffic class and flow label, as the kernel's own lookup uses. */
	fib.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
	fib.l4_protocol = ip6h->nexthdr;
	__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, sizeof(fib.ipv6_src));
	__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, sizeof(fib.ipv6_dst));
	fib.ifindex = skb->ifindex; /* at clsact ingress: the receiving device */

	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	count_fib(skb, rc);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return pass(skb, VRFC_OUT_PASS_FIB);

	/* IPv6 has no header checksum, but a CHECKSUM_COMPLETE skb->csum
	 * covers the hop limit: feed it the difference of the 32-bit word
	 * (payload length, next header, hop limit) that changes. */
	before = ((__be32 *)ip6h)[1];
	ip6h->hop_limit--;
	after = ((__be32 *)ip6h)[1];

	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	}
	bpf_csum_update(skb, bpf_csum_diff(&before, sizeof(before), &after, sizeof(after), 0));

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = { .nh_family = VRFC_AF_INET6 };

		__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, sizeof(nh.ipv6_nh));
		count(&vrfc_outcome, VRFC_OUT_ROUTED_NEIGH, skb->len);
		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}
	count(&vrfc_outcome, VRFC_OUT_ROUTED, skb->len);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("tc")
int VRFC_PROG_NAME(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__be16 proto;

#ifdef VRFC_TEST_VARIANT
	/* Test builds only: other instructions (another tag), same behaviour. */
	volatile __u32 variant = VRFC_TEST_VARIANT;
	(void)variant;
#endif

	if ((void *)(eth + 1) > data_end)
		return pass(skb, VRFC_OUT_PASS_MALFORMED);
	proto = eth->h_proto;
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return pass(skb, VRFC_OUT_PASS_NOT_IP);
	/* Set by eth_type_trans() against the receiving device's MAC. */
	if (skb->pkt_type != PACKET_HOST)
		return pass(skb, VRFC_OUT_PASS_NOT_FOR_US);
	if (proto == bpf_htons(ETH_P_IP))
		return route_ipv4(skb);
	return route_ipv6(skb);
}

char LICENSE[] SEC("license") = "GPL";
