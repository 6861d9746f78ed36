#!/usr/bin/env bash
# Installs what vrfc's build and tests need on Debian 12 (as root), and only
# what is missing: FRR (the oracle), iproute2, libnl/libbpf/libsystemd for the
# kernel shim, bpftool, iperf3, gobgpd, graphviz (vrfc graph --format svg|png),
# the Debian kernel + qemu + virtme-ng for the VRF tests in a guest,
# systemd-analyze (never started on the host), strace and kubernetes-validate
# for the agent's unit and DaemonSet example, dbus-daemon + gcc for the
# test of the reload through systemd's D-Bus API, and ping and PyYAML for the lab.
set -euo pipefail

PKGS=(frr frr-pythontools gobgpd graphviz iproute2 iperf3 pkg-config python3 python3-pip
      libnl-route-3-dev libbpf-dev libsystemd-dev linux-libc-dev bpftool libcurl4-openssl-dev
      linux-image-amd64 qemu-system-x86 busybox-static systemd strace
      dbus-daemon gcc binutils    # the systemd-reload test: a private bus and its stand-in; nm
      libstdc++-12-dev            # vrfc-apply's release link takes libstdc++.a (the Swift link needs the package anyway)
      libelf-dev zlib1g-dev       # libbpf is linked statically: libbpf.a needs libelf.a and libz.a (libbpf-dev pulls both in)
      iputils-ping python3-yaml)  # the lab

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # frr's maintainer scripts try to start the service; there is no systemd
    # on the host, and there must not be: policy-rc.d keeps them from trying.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v vng >/dev/null 2>&1; then
    echo "install-deps: installing virtme-ng from PyPI" >&2
    # Debian's own python3 marks its site-packages as externally managed.
    python3 -m pip install -q virtme-ng 2>/dev/null \
        || python3 -m pip install -q --break-system-packages virtme-ng
fi
if ! command -v kubernetes-validate >/dev/null 2>&1; then
    echo "install-deps: installing kubernetes-validate from PyPI" >&2
    python3 -m pip install -q kubernetes-validate==1.37.0 2>/dev/null \
        || python3 -m pip install -q --break-system-packages kubernetes-validate==1.37.0
fi
if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
    echo "install-deps: installing prometheus_client from PyPI" >&2
    # The metrics tests parse the exposition with Prometheus' own Python parser.
    python3 -m pip install -q prometheus_client==0.26.0 2>/dev/null \
        || python3 -m pip install -q --break-system-packages prometheus_client==0.26.0
fi
# pyenv shims need a rehash before a new console script is on PATH.
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

export PATH=/opt/swift/usr/bin:$PATH
command -v swift >/dev/null || { echo "install-deps: swift not found (expected /opt/swift)" >&2; exit 1; }
