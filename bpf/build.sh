#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Compiles bpf/router.c into a BPF object: the one place that knows how.
# Used by the EmbedRouterObject build plugin (every `swift build`), by the
# tests (variant builds) and by humans (`bpf/build.sh bpf/router.o`).
#
#   bpf/build.sh OUT.o [-DNAME=VALUE ...]      compile
#   bpf/build.sh --swift OUT.swift OUT.o        compile, then write OUT.swift
#                                               holding the object (base64)
#
# The compiler is $VRFC_BPF_CLANG, else the clang next to swift on PATH (the
# Swift toolchain's clang targets BPF), else clang on PATH.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
swift_out=
if [ "${1:-}" = "--swift" ]; then
    swift_out=$2
    shift 2
fi
[ $# -ge 1 ] || { echo "usage: $0 [--swift OUT.swift] OUT.o [CFLAGS...]" >&2; exit 2; }
out=$1
shift

cc=${VRFC_BPF_CLANG:-}
if [ -z "$cc" ]; then
    if swift=$(command -v swift 2>/dev/null) && [ -x "$(dirname "$swift")/clang" ]; then
        cc=$(dirname "$swift")/clang
    elif [ -x /opt/swift/usr/bin/clang ]; then
        cc=/opt/swift/usr/bin/clang
    else
        cc=clang
    fi
fi

# Debian keeps <asm/types.h> under the multiarch directory, which a BPF
# target does not search by default.
multiarch=/usr/include/$(uname -m)-linux-gnu
[ -d "$multiarch" ] && set -- "-I$multiarch" "$@"

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
"$cc" -O2 -g -target bpf -Wall -Werror -I"$here" "$@" -c "$here/router.c" -o "$tmp"
mv "$tmp" "$out"

if [ -n "$swift_out" ]; then
    stmp=$swift_out.tmp.$$
    {
        echo "// Generated at build time by bpf/build.sh from bpf/router.c. Do not edit."
        echo "enum EmbeddedRouterObject {"
        printf '    static let base64 = "%s"\n' "$(base64 -w0 "$out")"
        echo "}"
    } > "$stmp"
    mv "$stmp" "$swift_out"
fi
