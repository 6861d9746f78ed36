#include "shim.h"
#include <netlink/route/qdisc/fifo.h>

int vrfc_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }

// libnl-route 3.7 sets up its lists of tc kinds when the first tc module
// registers itself (a constructor calling rtnl_tc_register); until then
// rtnl_tc_set_kind follows a null list head. The shared library links every
// module; the static archive only those something refers to. This reference
// links the pfifo/bfifo module, whose constructor does it, so setting the
// clsact qdisc's kind works as it does with the shared library.
__attribute__((used)) static int (*const vrfc_link_a_tc_module)(struct rtnl_qdisc *) = rtnl_qdisc_fifo_get_limit;
