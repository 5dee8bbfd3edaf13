#!/usr/bin/env bash
# Installs the Debian packages WSTunnel needs to build, run and test, only those missing.
# Usage: scripts/install-deps.sh [build|test|fuzz|all]   (default: all)
set -euo pipefail

build_packages=(
    cmake ninja-build g++ pkg-config
    qt6-base-dev qt6-websockets-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
    libqt6svg6 qtkeychain-qt6-dev libssl-dev ccache
)
# libFuzzer and the sanitizer runtimes of clang for `make fuzz`.
fuzz_packages=(clang libclang-rt-dev)
# Real peers the tests start on loopback, and the X server for GUI tests.
test_packages=(
    postgresql postgresql-client
    xvfb xauth xdotool trayer x11-utils imagemagick
    openssl socat
    dnsmasq-base bind9-dnsutils
    squid nginx apache2-utils haproxy
    nghttp2-client nghttp2-server
    curl python3 openssh-server openssh-client prometheus lintian
)

case "${1:-all}" in
build) wanted=("${build_packages[@]}") ;;
test) wanted=("${build_packages[@]}" "${test_packages[@]}") ;;
fuzz) wanted=("${build_packages[@]}" "${fuzz_packages[@]}") ;;
all) wanted=("${build_packages[@]}" "${test_packages[@]}" "${fuzz_packages[@]}") ;;
*)
    echo "usage: $0 [build|test|fuzz|all]" >&2
    exit 2
    ;;
esac

missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
