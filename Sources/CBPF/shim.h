// libbpf plus the kernel UAPI the VRFCBPF shim needs, and the router
// program's own contract, bpf/router.h, so Swift reads the counter layout
// and map names from the same header the program is compiled with. (tc
// requests go through VRFCNetlink.)
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <stdarg.h>
#include <stdio.h>
#include "../../bpf/router.h"
