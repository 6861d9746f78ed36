// libsystemd: sd-bus for VRFCApply's systemd reload, sd_notify for the
// agent's readiness under a Type=notify unit.
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
