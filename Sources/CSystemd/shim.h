// libsystemd's sd-bus, for VRFCApply's systemd reload only.
#include <systemd/sd-bus.h>
