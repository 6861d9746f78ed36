#include "shim.h"

int vrfc_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
