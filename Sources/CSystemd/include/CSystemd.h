#ifndef VRFC_CSYSTEMD_H
#define VRFC_CSYSTEMD_H
// libsystemd for VRFCApply's systemd reload (sd-bus) and the agent's
// readiness under a Type=notify unit (sd_notify), loaded with dlopen on
// first use: most runs (plan, apply without --reload systemd) never need it,
// and linking it would load it and its six libraries (libgcrypt, liblzma,
// libzstd, liblz4, libcap, libgpg-error) at every start. Only the types come
// from the headers; call the vrfc_ functions, never the sd_ ones (nothing
// links them).
#include <systemd/sd-bus.h>

/// Loads libsystemd.so.0 once (thread-safe); NULL when loaded, else why not.
const char *vrfc_systemd_load(void);

/// sd_notify; 0 without loading anything when $NOTIFY_SOCKET is unset (as
/// sd_notify itself answers then), -ENOSYS when libsystemd cannot be loaded.
int vrfc_sd_notify(int unset_environment, const char *state);

// The sd-bus calls SystemdReload makes; each -ENOSYS (or NULL) when
// libsystemd cannot be loaded.
int vrfc_sd_bus_open_system(sd_bus **bus);
sd_bus *vrfc_sd_bus_flush_close_unref(sd_bus *bus);
int vrfc_sd_bus_match_signal(sd_bus *bus, sd_bus_slot **slot, const char *sender, const char *path,
                             const char *interface, const char *member, sd_bus_message_handler_t callback,
                             void *userdata);
int vrfc_sd_bus_process(sd_bus *bus, sd_bus_message **message);
int vrfc_sd_bus_wait(sd_bus *bus, uint64_t timeout_usec);
int vrfc_sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **message, const char *destination,
                                        const char *path, const char *interface, const char *member);
sd_bus_message *vrfc_sd_bus_message_unref(sd_bus_message *message);
int vrfc_sd_bus_message_append_basic(sd_bus_message *message, char type, const void *value);
int vrfc_sd_bus_message_read_basic(sd_bus_message *message, char type, void *value);
int vrfc_sd_bus_call(sd_bus *bus, sd_bus_message *message, uint64_t usec, sd_bus_error *error,
                     sd_bus_message **reply);
void vrfc_sd_bus_error_free(sd_bus_error *error);
/// A string property; `*ret` is malloc'ed (the caller frees it).
int vrfc_sd_bus_get_property_string(sd_bus *bus, const char *destination, const char *path, const char *interface,
                                    const char *member, sd_bus_error *error, char **ret);

#endif
