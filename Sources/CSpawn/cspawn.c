#define _GNU_SOURCE
#include "cspawn.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Stages reported back over the CLOEXEC pipe, in order. */
static const char *const stages[] = {
    "fork", "open /dev/null", "dup2", "setgroups", "setresgid", "setresuid",
    "dropping capabilities", "PR_SET_NO_NEW_PRIVS", "execve",
};

static pid_t spawn(const char *path, char *const argv[], char *const envp[],
                   int drop, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
                   int keep_stdin, int stdout_fd, int stderr_fd, int channel_fd,
                   int *errno_out, const char **stage_out) {
    int report[2];
    *errno_out = 0;
    *stage_out = NULL;
    if (pipe2(report, O_CLOEXEC) != 0) {
        *errno_out = errno;
        *stage_out = "pipe";
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *errno_out = errno;
        *stage_out = stages[0];
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here to execve. */
        int stage = 1, err = 0;
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0) goto fail;
        stage = 2;
        if ((!keep_stdin && dup2(null_fd, 0) < 0) || dup2(stdout_fd, 1) < 0) goto fail;
        if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0) goto fail;
        if (report[1] <= 2 || (channel_fd >= 0 && channel_fd <= 2)) goto fail;
        if (channel_fd >= 0 && report[1] == 3) {
            int moved = fcntl(report[1], F_DUPFD_CLOEXEC, 4);
            if (moved < 0) goto fail;
            report[1] = moved;
        }
        /* The channel to the privileged side, if any, becomes descriptor 3
           (dup2 clears its close-on-exec flag). */
        if (channel_fd >= 0 && channel_fd != 3 && dup2(channel_fd, 3) < 0) goto fail;
        /* Everything but 0-2, the channel and the report pipe: nothing of the
           privileged side (netlink sockets, locks, state files) reaches the child. */
        for (int fd = 3; fd < 1024; fd++)
            if (fd != report[1] && !(fd == 3 && channel_fd >= 0)) close(fd);
        if (channel_fd == 3) {
            int flags = fcntl(3, F_GETFD);
            if (flags < 0 || fcntl(3, F_SETFD, flags & ~FD_CLOEXEC) < 0) goto fail;
        }
        if (drop) {
            stage = 3;
            if (setgroups((size_t)ngroups, ngroups > 0 ? groups : NULL) != 0) goto fail;
            stage = 4;
            if (setresgid(gid, gid, gid) != 0) goto fail;
            stage = 5;
            if (setresuid(uid, uid, uid) != 0) goto fail;
            if (uid != 0 && (getuid() == 0 || geteuid() == 0)) { errno = EPERM; goto fail; }
        }
        stage = 6;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) goto fail;
        if (drop && uid != 0) {
            struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct d[2];
            memset(d, 0, sizeof d);
            if (syscall(SYS_capset, &h, d) != 0) goto fail;
        }
        stage = 7;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) goto fail;
        stage = 8;
        execve(path, argv, envp);
    fail:
        err = errno;
        {
            int msg[2] = {stage, err};
            ssize_t w = write(report[1], msg, sizeof msg);
            (void)w;
        }
        _exit(127);
    }
    close(report[1]);
    int msg[2];
    ssize_t n;
    do { n = read(report[0], msg, sizeof msg); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof msg) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *errno_out = msg[1];
        *stage_out = (msg[0] >= 0 && msg[0] < (int)(sizeof stages / sizeof stages[0])) ? stages[msg[0]] : "?";
        return -1;
    }
    return pid;
}

pid_t vrfc_spawn_unprivileged(const char *path, char *const argv[], char *const envp[],
                              int drop, uid_t uid, gid_t gid, int keep_stdin, int stdout_fd,
                              int stderr_fd, int *errno_out, const char **stage_out) {
    return spawn(path, argv, envp, drop, uid, gid, NULL, 0, keep_stdin, stdout_fd, stderr_fd, -1,
                 errno_out, stage_out);
}

pid_t vrfc_spawn_with_channel(const char *path, char *const argv[], char *const envp[],
                              int drop, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
                              int stdout_fd, int stderr_fd, int channel_fd,
                              int *errno_out, const char **stage_out) {
    return spawn(path, argv, envp, drop, uid, gid, groups, ngroups, 0, stdout_fd, stderr_fd, channel_fd,
                 errno_out, stage_out);
}
