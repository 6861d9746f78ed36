#ifndef VRFC_CSPAWN_H
#define VRFC_CSPAWN_H
#include <sys/types.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Starts `path` with `argv`/`envp` as an unprivileged child: supplementary
/// groups dropped, gid/uid set to `gid`/`uid` (real, effective, saved) when
/// `drop` is non-zero, no capabilities (a uid change away from 0 clears
/// them; ambient ones are cleared as well), PR_SET_NO_NEW_PRIVS, stdin from
/// /dev/null unless `keep_stdin`, stdout to `stdout_fd`, stderr to `stderr_fd`
/// (inherited when it is -1), every other
/// descriptor closed. Returns the child's pid, or -1 with `errno_out` set to
/// what failed in the child before exec (`stage_out` names the step).
pid_t vrfc_spawn_unprivileged(const char *path, char *const argv[], char *const envp[],
                              int drop, uid_t uid, gid_t gid, int keep_stdin, int stdout_fd,
                              int stderr_fd, int *errno_out, const char **stage_out);

/// The same, for a long-running unprivileged helper (the metrics exporter):
/// the supplementary groups become `groups` (e.g. FRR's vty group) instead
/// of none, stdin is /dev/null, and `channel_fd` (a socket to the
/// privileged side) is the child's descriptor 3, the only one besides 0-2.
pid_t vrfc_spawn_with_channel(const char *path, char *const argv[], char *const envp[],
                              int drop, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
                              int stdout_fd, int stderr_fd, int channel_fd,
                              int *errno_out, const char **stage_out);

/// The calling thread's effective capabilities (capget(2)) as a bit set in
/// `out`; 0, or -1 with errno set. A system call instead of reading and
/// parsing /proc/self/status, which every apply would otherwise pay for.
static inline int vrfc_effective_capabilities(unsigned long long *out) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}, {0, 0, 0}};
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *out = (unsigned long long)data[0].effective | ((unsigned long long)data[1].effective << 32);
    return 0;
}

#endif
