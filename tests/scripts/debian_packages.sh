#!/usr/bin/env bash
# The two Debian packages: built from this tree, checked by lintian, dpkg-deb and ldd, and, when
# this runs as root, installed with apt-get and removed again.
#
#   debian_packages.sh BUILD_DIR
#
# Checks: both packages build; lintian reports no errors; wstunnel-remote depends on no Widgets,
# Gui, D-Bus or keychain library, and its binary loads none; the units, the configuration files
# (conffiles) and the maintainer scripts are in it. As root, when neither package is installed
# yet and nothing else would be installed with them (no download): `apt-get install ./FILE.deb`
# installs both, `wstunnel-remote --version` runs from /usr/bin, systemd-analyze verify accepts
# the units, /etc/wstunnel gets its token with mode 0600, the shipped settings start a server, a
# changed remote.json survives reinstalling, and purging removes everything again. Otherwise the
# install part is skipped and says so.
set -euo pipefail

BUILD_DIR="${1:?usage: $0 BUILD_DIR}"
SOURCE_DIR=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../..")
SCRIPT_NAME=debian_packages
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
INSTALLED=0
RESULT=1

cleanup() {
    local status=$?
    set +e
    if [ "$INSTALLED" -eq 1 ]; then
        apt-get purge -y -q -o DPkg::Lock::Timeout=120 wstunnel wstunnel-remote >/dev/null 2>&1
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ -n "${KEEP_WORK:-}" ]; then
            echo "files kept in $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="looking for the tools"
for tool in dpkg-deb dpkg-shlibdeps lintian ldd strip; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-debs.XXXXXX")

STEP="building the packages"
bash "$SOURCE_DIR/packaging/debian/build-debs.sh" "$BUILD_DIR" "$WORK/out" >"$WORK/built" ||
    die "build-debs.sh failed"
DESKTOP_DEB=$(grep '/wstunnel_' "$WORK/built")
REMOTE_DEB=$(grep '/wstunnel-remote_' "$WORK/built")
echo "== built $(basename "$DESKTOP_DEB") and $(basename "$REMOTE_DEB")"

STEP="checking the control data"
field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$REMOTE_DEB" Package)" = wstunnel-remote ] || die "wrong package name"
[ "$(field "$DESKTOP_DEB" Package)" = wstunnel ] || die "wrong package name"
remote_depends=$(field "$REMOTE_DEB" Depends)
grep -q 'libqt6core6' <<<"$remote_depends" || die "wstunnel-remote does not depend on QtCore"
if grep -Eiq 'widgets|libqt6gui|dbus|keychain|libx11|libgl' <<<"$remote_depends"; then
    die "wstunnel-remote depends on a desktop library: $remote_depends"
fi
grep -q 'libqt6widgets6' <<<"$(field "$DESKTOP_DEB" Depends)" ||
    die "wstunnel does not depend on QtWidgets"
echo "== wstunnel-remote depends on: $remote_depends"
dpkg-deb -I "$REMOTE_DEB" conffiles | grep -qx '/etc/wstunnel/remote.json' ||
    die "remote.json is not a conffile"
dpkg-deb -I "$REMOTE_DEB" postinst >/dev/null || die "no postinst"
remote_files=$(dpkg-deb -c "$REMOTE_DEB")
for path in ./usr/bin/wstunnel-remote ./lib/systemd/system/wstunnel-remote.service \
    ./lib/systemd/system/wstunnel-hub.service ./lib/systemd/system/wstunnel-agent@.service \
    ./usr/share/doc/wstunnel-remote/copyright; do
    grep -q " $path\$" <<<"$remote_files" || die "wstunnel-remote lacks $path"
done
desktop_files=$(dpkg-deb -c "$DESKTOP_DEB")
for path in ./usr/bin/wstunnel ./usr/share/applications/wstunnel.desktop \
    ./usr/share/metainfo/io.github.wstunnel.WSTunnel.metainfo.xml \
    ./usr/share/icons/hicolor/scalable/apps/wstunnel.svg; do
    grep -q " $path\$" <<<"$desktop_files" || die "wstunnel lacks $path"
done

STEP="running lintian"
for deb in "$REMOTE_DEB" "$DESKTOP_DEB"; do
    lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" >"$WORK/lintian.txt" 2>&1 || {
        cat "$WORK/lintian.txt"
        die "lintian reports errors for $(basename "$deb")"
    }
    echo "== lintian $(basename "$deb"): $(grep -c '^E:' "$WORK/lintian.txt" || true) errors," \
        "$(grep -c '^W:' "$WORK/lintian.txt" || true) warnings"
done

STEP="checking what the staged wstunnel-remote loads"
dpkg-deb -x "$REMOTE_DEB" "$WORK/remote-root"
loaded=$(ldd "$WORK/remote-root/usr/bin/wstunnel-remote")
if grep -Eiq 'Widgets|Qt6Gui|dbus|keychain' <<<"$loaded"; then
    die "wstunnel-remote loads a desktop library: $loaded"
fi
"$WORK/remote-root/usr/bin/wstunnel-remote" --version >/dev/null || die "the packaged binary does not run"

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    RESULT=0
    summary "built, lintian clean, no desktop libraries (not root: install not tried)"
    exit 0
fi
if dpkg-query -W -f='${Status}' wstunnel wstunnel-remote 2>/dev/null | grep -q 'installed'; then
    RESULT=0
    summary "built, lintian clean (a wstunnel package is installed already: install not tried)"
    exit 0
fi
if [ -e /etc/wstunnel ]; then
    RESULT=0
    summary "built, lintian clean (/etc/wstunnel exists already: install not tried)"
    exit 0
fi

STEP="installing with apt-get"
# Only if nothing else would be installed: this machine must not download anything.
apt-get install --simulate -q "$REMOTE_DEB" "$DESKTOP_DEB" >"$WORK/simulate.log" 2>&1 ||
    die "apt-get cannot install the packages: $(tail -n 5 "$WORK/simulate.log")"
others=$(grep '^Inst ' "$WORK/simulate.log" | grep -Ev '^Inst wstunnel(-remote)? ' || true)
if [ -n "$others" ]; then
    RESULT=0
    summary "built, lintian clean (installing would need other packages: not tried): $others"
    exit 0
fi
INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=120 \
    "$REMOTE_DEB" "$DESKTOP_DEB" >"$WORK/apt.log" 2>&1 || {
    tail -n 20 "$WORK/apt.log"
    die "apt-get install failed"
}
version=$(/usr/bin/wstunnel-remote --version) || die "/usr/bin/wstunnel-remote --version failed"
echo "== installed: $version"
/usr/bin/wstunnel --version >/dev/null || die "/usr/bin/wstunnel --version failed"
if grep -Eiq 'Widgets|Qt6Gui|dbus|keychain' <<<"$(ldd /usr/bin/wstunnel-remote)"; then
    die "the installed wstunnel-remote loads a desktop library"
fi

STEP="verifying the units"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/wstunnel-remote.service \
        /lib/systemd/system/wstunnel-hub.service \
        /lib/systemd/system/wstunnel-agent@devbox.service >"$WORK/verify.log" 2>&1 || {
        cat "$WORK/verify.log"
        die "systemd-analyze verify rejects the units"
    }
    echo "== systemd-analyze verify: accepted"
fi

STEP="checking /etc/wstunnel"
[ "$(stat -c '%a %U' /etc/wstunnel)" = "755 root" ] || die "/etc/wstunnel is $(stat -c '%a %U' /etc/wstunnel)"
[ "$(stat -c '%a %U' /etc/wstunnel/tokens)" = "600 root" ] ||
    die "/etc/wstunnel/tokens is $(stat -c '%a %U' /etc/wstunnel/tokens)"
grep -Eq '^[0-9a-f]{64}$' /etc/wstunnel/tokens || die "no generated token in /etc/wstunnel/tokens"
# The shipped settings and the generated token start a server (on a free port, not 8080).
/usr/bin/wstunnel-remote --config /etc/wstunnel/remote.json --token-file /etc/wstunnel/tokens \
    --listen 127.0.0.1:0 >"$WORK/remote.out" 2>"$WORK/remote.err" &
remote_pid=$!
line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$remote_pid") || {
    cat "$WORK/remote.err"
    kill "$remote_pid" 2>/dev/null
    die "the installed wstunnel-remote did not start with the shipped settings"
}
kill -TERM "$remote_pid"
wait "$remote_pid" || true
echo "== shipped settings: $line"

STEP="reinstalling over a changed configuration"
echo '{ "listen": "127.0.0.1:18080" }' >/etc/wstunnel/remote.json
token=$(cat /etc/wstunnel/tokens)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall \
    -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold "$REMOTE_DEB" \
    >"$WORK/apt.log" 2>&1 || die "reinstalling failed"
grep -q '18080' /etc/wstunnel/remote.json || die "reinstalling overwrote the changed remote.json"
[ "$(cat /etc/wstunnel/tokens)" = "$token" ] || die "reinstalling replaced the token"

STEP="purging"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=120 wstunnel \
    wstunnel-remote >"$WORK/apt.log" 2>&1 || die "purging failed"
INSTALLED=0
[ ! -e /usr/bin/wstunnel-remote ] || die "/usr/bin/wstunnel-remote is still there"
[ ! -e /etc/wstunnel ] || die "/etc/wstunnel is still there after purging"

RESULT=0
summary "built, lintian clean, installed with apt-get, units verified, config kept, purged"
