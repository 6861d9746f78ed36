// libsystemd through dlopen (see CSystemd.h): a table of its functions,
// filled once, and one forwarding function per entry.
#include "CSystemd.h"
#include <systemd/sd-daemon.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    __typeof__(sd_notify) *notify;
    __typeof__(sd_bus_open_system) *bus_open_system;
    __typeof__(sd_bus_flush_close_unref) *bus_flush_close_unref;
    __typeof__(sd_bus_match_signal) *bus_match_signal;
    __typeof__(sd_bus_process) *bus_process;
    __typeof__(sd_bus_wait) *bus_wait;
    __typeof__(sd_bus_message_new_method_call) *bus_message_new_method_call;
    __typeof__(sd_bus_message_unref) *bus_message_unref;
    __typeof__(sd_bus_message_append_basic) *bus_message_append_basic;
    __typeof__(sd_bus_message_read_basic) *bus_message_read_basic;
    __typeof__(sd_bus_call) *bus_call;
    __typeof__(sd_bus_error_free) *bus_error_free;
    __typeof__(sd_bus_get_property_string) *bus_get_property_string;
} sd;
static const char *load_error;
static char load_error_text[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error_text, sizeof load_error_text, "cannot load libsystemd.so.0: %s", e ? e : "unknown error");
        load_error = load_error_text;
        return;
    }
#define SYM(field, name)                                                                                  \
    if (!(sd.field = (__typeof__(sd.field))dlsym(h, #name))) {                                            \
        snprintf(load_error_text, sizeof load_error_text, "libsystemd.so.0 has no %s", #name);            \
        load_error = load_error_text;                                                                     \
        return;                                                                                           \
    }
    SYM(notify, sd_notify)
    SYM(bus_open_system, sd_bus_open_system)
    SYM(bus_flush_close_unref, sd_bus_flush_close_unref)
    SYM(bus_match_signal, sd_bus_match_signal)
    SYM(bus_process, sd_bus_process)
    SYM(bus_wait, sd_bus_wait)
    SYM(bus_message_new_method_call, sd_bus_message_new_method_call)
    SYM(bus_message_unref, sd_bus_message_unref)
    SYM(bus_message_append_basic, sd_bus_message_append_basic)
    SYM(bus_message_read_basic, sd_bus_message_read_basic)
    SYM(bus_call, sd_bus_call)
    SYM(bus_error_free, sd_bus_error_free)
    SYM(bus_get_property_string, sd_bus_get_property_string)
#undef SYM
}

const char *vrfc_systemd_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

int vrfc_sd_notify(int unset_environment, const char *state) {
    if (!getenv("NOTIFY_SOCKET")) return 0;
    return vrfc_systemd_load() ? -ENOSYS : sd.notify(unset_environment, state);
}

int vrfc_sd_bus_open_system(sd_bus **bus) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_open_system(bus);
}

sd_bus *vrfc_sd_bus_flush_close_unref(sd_bus *bus) {
    return vrfc_systemd_load() ? NULL : sd.bus_flush_close_unref(bus);
}

int vrfc_sd_bus_match_signal(sd_bus *bus, sd_bus_slot **slot, const char *sender, const char *path,
                             const char *interface, const char *member, sd_bus_message_handler_t callback,
                             void *userdata) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_match_signal(bus, slot, sender, path, interface, member, callback, userdata);
}

int vrfc_sd_bus_process(sd_bus *bus, sd_bus_message **message) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_process(bus, message);
}

int vrfc_sd_bus_wait(sd_bus *bus, uint64_t timeout_usec) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_wait(bus, timeout_usec);
}

int vrfc_sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **message, const char *destination,
                                        const char *path, const char *interface, const char *member) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_message_new_method_call(bus, message, destination, path, interface, member);
}

sd_bus_message *vrfc_sd_bus_message_unref(sd_bus_message *message) {
    return vrfc_systemd_load() ? NULL : sd.bus_message_unref(message);
}

int vrfc_sd_bus_message_append_basic(sd_bus_message *message, char type, const void *value) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_message_append_basic(message, type, value);
}

int vrfc_sd_bus_message_read_basic(sd_bus_message *message, char type, void *value) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_message_read_basic(message, type, value);
}

int vrfc_sd_bus_call(sd_bus *bus, sd_bus_message *message, uint64_t usec, sd_bus_error *error,
                     sd_bus_message **reply) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_call(bus, message, usec, error, reply);
}

void vrfc_sd_bus_error_free(sd_bus_error *error) {
    if (!vrfc_systemd_load()) sd.bus_error_free(error);
}

int vrfc_sd_bus_get_property_string(sd_bus *bus, const char *destination, const char *path, const char *interface,
                                    const char *member, sd_bus_error *error, char **ret) {
    return vrfc_systemd_load() ? -ENOSYS : sd.bus_get_property_string(bus, destination, path, interface, member, error, ret);
}
