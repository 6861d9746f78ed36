// libbpf plus the kernel UAPI the VRFCBPF shim needs: rtnetlink/tc
// constants for listing clsact filters (libbpf can only query one slot),
// and the router program's own contract, bpf/router.h, so Swift reads the
// counter layout from the same header the program is compiled with.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/pkt_sched.h>
#include <linux/pkt_cls.h>
#include <linux/magic.h>
#include <linux/if_packet.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <stdarg.h>
#include <stdio.h>
#include "../../bpf/router.h"

// glibc declares setns() only under _GNU_SOURCE; tests and the benchmark
// enter network namespaces with it (on threads of their own).
extern int setns(int fd, int nstype);
#define VRFC_CLONE_NEWNET 0x40000000
