#ifndef VRFC_CSPAWN_H
#define VRFC_CSPAWN_H
#include <sys/types.h>

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

#endif
