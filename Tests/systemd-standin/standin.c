// A stand-in for systemd's manager on a private D-Bus bus, for the tests of
// `vrfc-apply apply --reload systemd` (systemd itself never runs on the
// test host). It owns org.freedesktop.systemd1 and answers what vrfc-apply
// asks of systemd: Subscribe(), and ReloadUnit(UNIT, MODE) (or
// ReloadOrRestartUnit) for the one unit it knows, which returns a job object
// path at once, then runs that unit's reload command (the argv after UNIT on
// the command line, as ExecReload) and emits JobRemoved(id, job, unit,
// "done" | "failed"); GetUnit(UNIT) and the unit's ActiveState and SubState
// ("active", "running": its unit never stops).
//
//   standin BUS-ADDRESS UNIT COMMAND [ARG...]
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

static const char *unit_name;
static char **command;
static unsigned next_job = 1;
static int pending_job; /* 0: none; else the id to finish after the reply */

static int subscribe(sd_bus_message *m, void *u, sd_bus_error *e) {
    (void)u; (void)e;
    return sd_bus_reply_method_return(m, "");
}

static int reload_unit(sd_bus_message *m, void *u, sd_bus_error *e) {
    (void)u;
    const char *name, *mode;
    int r = sd_bus_message_read(m, "ss", &name, &mode);
    if (r < 0) return r;
    if (strcmp(name, unit_name) != 0)
        return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
    char path[64];
    unsigned id = next_job++;
    snprintf(path, sizeof path, "/org/freedesktop/systemd1/job/%u", id);
    pending_job = (int)id;
    return sd_bus_reply_method_return(m, "o", path);
}

#define UNIT_PATH "/org/freedesktop/systemd1/unit/standin"

static int get_unit(sd_bus_message *m, void *u, sd_bus_error *e) {
    (void)u;
    const char *name;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0) return r;
    if (strcmp(name, unit_name) != 0)
        return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
    return sd_bus_reply_method_return(m, "o", UNIT_PATH);
}

static const sd_bus_vtable manager[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Subscribe", "", "", subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("ReloadUnit", "ss", "o", reload_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("ReloadOrRestartUnit", "ss", "o", reload_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetUnit", "s", "o", get_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END,
};

static int state(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                 void *u, sd_bus_error *e) {
    (void)bus; (void)path; (void)interface; (void)u; (void)e;
    return sd_bus_message_append(reply, "s", strcmp(property, "ActiveState") == 0 ? "active" : "running");
}

static const sd_bus_vtable unit[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ActiveState", "s", state, 0, 0),
    SD_BUS_PROPERTY("SubState", "s", state, 0, 0),
    SD_BUS_VTABLE_END,
};

static const char *run_reload(void) {
    pid_t pid = fork();
    if (pid == 0) {
        execv(command[0], command);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "done" : "failed";
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: standin BUS-ADDRESS UNIT COMMAND [ARG...]\n"); return 2; }
    unit_name = argv[2];
    command = argv + 3;
    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, argv[1]);
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
    if (r >= 0) r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", manager, NULL);
    if (r >= 0) r = sd_bus_add_object_vtable(bus, NULL, UNIT_PATH, "org.freedesktop.systemd1.Unit", unit, NULL);
    if (r >= 0) r = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0);
    if (r < 0) { fprintf(stderr, "standin: %s\n", strerror(-r)); return 1; }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        r = sd_bus_process(bus, NULL);
        if (r < 0) { fprintf(stderr, "standin: %s\n", strerror(-r)); return 1; }
        if (pending_job) {
            unsigned id = (unsigned)pending_job;
            pending_job = 0;
            sd_bus_flush(bus); /* the reply goes out before the job runs */
            const char *result = run_reload();
            char path[64];
            snprintf(path, sizeof path, "/org/freedesktop/systemd1/job/%u", id);
            sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
                               "uoss", id, path, unit_name, result);
            sd_bus_flush(bus);
            printf("job %u %s\n", id, result);
            fflush(stdout);
            continue;
        }
        if (r > 0) continue;
        sd_bus_wait(bus, (uint64_t)-1);
    }
}
