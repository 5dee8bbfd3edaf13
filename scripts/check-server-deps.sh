#!/usr/bin/env bash
# Fails when a binary meant for servers loads a desktop library: Qt Widgets or Gui, QtKeychain,
# or D-Bus (libdbus-1, Qt DBus), which QtKeychain brings along. Reads the whole dependency tree
# that ldd resolves. Usage: scripts/check-server-deps.sh BINARY...
set -euo pipefail

forbidden='libQt6Widgets|libQt6Gui|libqt[56]keychain|libdbus|libQt6DBus'
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }

failed=0
for binary in "$@"; do
    if [ ! -x "$binary" ]; then
        echo "check-server-deps: FAIL: $binary does not exist; build it first" >&2
        failed=1
        continue
    fi
    if ! libraries=$(ldd "$binary"); then
        echo "check-server-deps: FAIL: ldd cannot read $binary" >&2
        failed=1
        continue
    fi
    found=$(grep -oE "($forbidden)[^ ]*" <<<"$libraries" | sort -u | tr '\n' ' ' || true)
    if [ -n "$found" ]; then
        echo "check-server-deps: FAIL: $binary must run without a desktop but links: $found" >&2
        failed=1
    else
        echo "check-server-deps: ok: $binary links no Widgets, Gui, QtKeychain or D-Bus"
    fi
done
exit "$failed"
