#!/usr/bin/env bash
# Builds the two Debian packages from a built tree, with dpkg-deb from a staged install:
#
#   packaging/debian/build-debs.sh BUILD_DIR OUT_DIR
#
# wstunnel         the desktop app (with --headless), its .desktop file, icon and AppStream
#                  metainfo; the translations are compiled into the binary.
# wstunnel-remote  the headless wstunnel-remote, its systemd units and /etc/wstunnel/*.json as
#                  configuration files (dpkg keeps what the administrator changed).
#
# Dependencies come from dpkg-shlibdeps; the binaries are stripped. Prints the path of each
# package it wrote.
set -euo pipefail

BUILD_DIR=$(realpath "${1:?usage: $0 BUILD_DIR OUT_DIR}")
OUT_DIR=${2:?usage: $0 BUILD_DIR OUT_DIR}
SOURCE_DIR=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../..")
HERE="$SOURCE_DIR/packaging/debian"
VERSION=$(sed -nE 's/^project\(WSTunnel VERSION ([0-9.]+).*/\1/p' "$SOURCE_DIR/CMakeLists.txt")
ARCH=$(dpkg --print-architecture)
MAINTAINER="WSTunnel developers <wstunnel@users.noreply.github.com>"
for binary in wstunnel wstunnel-remote; do
    [ -x "$BUILD_DIR/bin/$binary" ] || { echo "$BUILD_DIR/bin/$binary is not built" >&2; exit 1; }
done
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# stage_common PACKAGE: documentation every package carries.
stage_common() {
    local package=$1 root="$WORK/$1"
    install -d -m 0755 "$root/DEBIAN" "$root/usr/share/doc/$package"
    install -m 0644 "$HERE/copyright" "$root/usr/share/doc/$package/copyright"
    {
        echo "$package ($VERSION) unstable; urgency=medium"
        echo
        echo "  * Built from the WSTunnel sources; see changelog.gz beside this file."
        echo
        echo " -- $MAINTAINER  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
    } | gzip -9n >"$root/usr/share/doc/$package/changelog.Debian.gz"
    gzip -9nc "$SOURCE_DIR/CHANGELOG.md" >"$root/usr/share/doc/$package/changelog.gz"
    chmod 0644 "$root/usr/share/doc/$package/"*.gz
}

install_binary() {
    local source=$1 target=$2
    install -D -m 0755 "$source" "$target"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$target"
}

# shlib_depends PACKAGE BINARY: the Depends line dpkg-shlibdeps derives from the binary.
shlib_depends() {
    local package=$1 binary=$2 dir="$WORK/shlibdeps-$1"
    mkdir -p "$dir/debian"
    printf 'Source: wstunnel\n\nPackage: %s\nArchitecture: any\n' "$package" >"$dir/debian/control"
    (cd "$dir" && dpkg-shlibdeps -O -e"$binary" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# finish PACKAGE DEPENDS SUMMARY DESCRIPTION: control file, checksums, and the .deb.
finish() {
    local package=$1 depends=$2 summary=$3 description=$4 root="$WORK/$1"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
        xargs -0 md5sum >DEBIAN/md5sums)
    chmod 0644 "$root/DEBIAN/md5sums"
    {
        echo "Package: $package"
        echo "Version: $VERSION"
        echo "Architecture: $ARCH"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
        echo "Depends: $depends"
        echo "Section: net"
        echo "Priority: optional"
        echo "Homepage: https://github.com/wstunnel/wstunnel"
        echo "Description: $summary"
        echo "$description" | fold -s -w 78 | sed 's/ *$//; s/^/ /'
    } >"$root/DEBIAN/control"
    local deb="$OUT_DIR/${package}_${VERSION}_${ARCH}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
    echo "$deb"
}

# ---- wstunnel-remote ----------------------------------------------------------------------
root="$WORK/wstunnel-remote"
stage_common wstunnel-remote
install_binary "$BUILD_DIR/bin/wstunnel-remote" "$root/usr/bin/wstunnel-remote"
install -d -m 0755 "$root/lib/systemd/system" "$root/etc/wstunnel" \
    "$root/usr/share/doc/wstunnel-remote/examples"
for unit in wstunnel-remote.service wstunnel-hub.service wstunnel-agent@.service; do
    install -m 0644 "$SOURCE_DIR/packaging/linux/$unit" "$root/lib/systemd/system/$unit"
done
install -m 0644 "$HERE/remote.json" "$root/etc/wstunnel/remote.json"
install -m 0644 "$HERE/hub.json" "$root/etc/wstunnel/hub.json"
install -m 0644 "$SOURCE_DIR/packaging/linux/remote.json.example" \
    "$SOURCE_DIR/packaging/linux/agent.env.example" "$root/usr/share/doc/wstunnel-remote/examples/"
printf '/etc/wstunnel/hub.json\n/etc/wstunnel/remote.json\n' >"$root/DEBIAN/conffiles"
install -m 0755 "$HERE/wstunnel-remote.postinst" "$root/DEBIAN/postinst"
install -m 0755 "$HERE/wstunnel-remote.postrm" "$root/DEBIAN/postrm"
finish wstunnel-remote "$(shlib_depends wstunnel-remote "$root/usr/bin/wstunnel-remote")" \
    "TCP and UDP over one WebSocket - dev-server end" \
    "WSTunnel carries TCP connections and UDP flows between a developer's laptop and a dev \
server over one multiplexed WebSocket, through HTTP proxies and TLS-terminating reverse \
proxies. This package holds the headless wstunnel-remote (serve, hub and agent roles) with \
its systemd units; it needs no graphical libraries."

# ---- wstunnel -----------------------------------------------------------------------------
root="$WORK/wstunnel"
stage_common wstunnel
install_binary "$BUILD_DIR/bin/wstunnel" "$root/usr/bin/wstunnel"
install -D -m 0644 "$SOURCE_DIR/packaging/linux/wstunnel.desktop" \
    "$root/usr/share/applications/wstunnel.desktop"
install -D -m 0644 "$SOURCE_DIR/packaging/linux/io.github.wstunnel.WSTunnel.metainfo.xml" \
    "$root/usr/share/metainfo/io.github.wstunnel.WSTunnel.metainfo.xml"
install -D -m 0644 "$SOURCE_DIR/resources/icons/wstunnel.svg" \
    "$root/usr/share/icons/hicolor/scalable/apps/wstunnel.svg"
# Qt loads the X11 platform and the SVG icon engine as plugins, which dpkg-shlibdeps cannot see.
finish wstunnel "$(shlib_depends wstunnel "$root/usr/bin/wstunnel"), qt6-qpa-plugins, libqt6svg6" \
    "TCP and UDP over one WebSocket - desktop app" \
    "WSTunnel carries TCP connections and UDP flows between a developer's laptop and a dev \
server over one multiplexed WebSocket, through HTTP proxies and TLS-terminating reverse \
proxies. This package holds the desktop app: a mapping editor with live traffic and a tray \
icon, local, reverse and dynamic (SOCKS) forwards, and wstunnel --headless for scripts and ssh \
ProxyCommand."
