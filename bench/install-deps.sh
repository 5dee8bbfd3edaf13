#!/usr/bin/env bash
# Installs what bench/run.sh needs on Debian 12: the peers and load tools from
# Debian packages (only those missing; `apt-get update` only if something is),
# the build tools and Qt for a Release build (scripts/install-deps.sh build), and
# npm's wstunnel@1.4.0 into bench/.work/node (the Node.js peer). Nothing else is
# downloaded.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODE_DIR="$HERE/.work/node"
NODE_PEER_VERSION="1.4.0"

say() { printf '[install-deps] %s\n' "$*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    fi
fi

missing=()
# command -> Debian package
need_cmd() {
    if ! command -v "$1" >/dev/null 2>&1; then
        missing+=("$2")
    fi
}
need_cmd iperf3 iperf3
need_cmd socat socat
need_cmd hyperfine hyperfine
need_cmd node nodejs
need_cmd npm npm
need_cmd git git
# the TLS paths: the socat TLS pair's and ours' private CA, and ssh -L through a real sshd
need_cmd openssl openssl
need_cmd ssh openssh-client
need_cmd ssh-keygen openssh-client
# sshd is in /usr/sbin, which a non-root PATH may lack
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# profiling the tunnel processes (perf record -g -p PID), as docs/PERFORMANCE.md describes
need_cmd perf linux-perf
[ -x /usr/bin/python3 ] || missing+=(python3)

# Qt and the rest of the Release build (the desktop app included: its responsiveness is measured)
bash "$HERE/../scripts/install-deps.sh" build

if [ "${#missing[@]}" -gt 0 ]; then
    say "installing: ${missing[*]}"
    # noninteractive: iperf3's debconf question (start a system-wide daemon?) keeps
    # its default, no; the benchmark starts its own on a free loopback port.
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    say "Debian packages present"
fi

have_version=""
if [ -f "$NODE_DIR/node_modules/wstunnel/package.json" ]; then
    have_version="$(node -p "require('$NODE_DIR/node_modules/wstunnel/package.json').version" 2>/dev/null || true)"
fi
if [ "$have_version" != "$NODE_PEER_VERSION" ]; then
    say "installing npm wstunnel@$NODE_PEER_VERSION into ${NODE_DIR#"$HERE/"}"
    mkdir -p "$NODE_DIR"
    if [ ! -f "$NODE_DIR/package.json" ]; then
        printf '{\n  "name": "wstunnel-bench-node-peer",\n  "private": true\n}\n' >"$NODE_DIR/package.json"
    fi
    # --ignore-scripts: the native helpers (bufferutil, utf-8-validate) load their
    # bundled prebuilt binaries at run time; install scripts could try to fetch
    # headers from outside the npm registry.
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
        "wstunnel@$NODE_PEER_VERSION")
    have_version="$(node -p "require('$NODE_DIR/node_modules/wstunnel/package.json').version")"
    [ "$have_version" = "$NODE_PEER_VERSION" ] || { say "wstunnel $have_version installed, wanted $NODE_PEER_VERSION"; exit 1; }
else
    say "npm wstunnel@$NODE_PEER_VERSION present"
fi
