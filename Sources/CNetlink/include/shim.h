// libnl-route-3 and the kernel's rtnetlink and tc definitions, for VRFCNetlink only.
// <netlink/...> resolves through include/netlink, a link to libnl's headers
// (/usr/include/libnl3/netlink): SwiftPM hands this include directory to every
// target that imports CNetlink, which a pkgConfig's -I would do only together
// with the -l flags that link the shared libraries.
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/tc.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/rule.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <linux/pkt_sched.h>
#include <linux/pkt_cls.h>
#include <linux/veth.h>
#include <linux/sched.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <unistd.h>

// setns(2) for the calling thread only; glibc declares it only under _GNU_SOURCE.
int vrfc_setns(int fd, int nstype);
