#!/usr/bin/env bash
# A dynamic forward (-D) as the SOCKS proxy of curl.
#
#   socks_tunnel.sh BIN_DIR [--through-hub]
#
# Serves a file with python3's http.server on 127.0.0.1, starts wstunnel-remote allowing only
# localhost:HTTPPORT (a name rule: the name must reach the remote unresolved), and
# `wstunnel --headless -D 0`. Then curl fetches the file through the SOCKS server with
# --socks5-hostname and --socks4a, and gets SOCKS reply 2 (not allowed) for a target outside the
# allow-list and reply 5 (refused) for an allowed port nobody listens on. With --through-hub the
# desktop reaches an agent through a hub (`--agent devbox`). Everything stays on loopback, every
# wait is bounded, and everything started is stopped on exit.
set -euo pipefail

BIN_DIR="${1:-${WSTUNNEL_BIN_DIR:-}}"
THROUGH_HUB=0
if [ -z "$BIN_DIR" ] || { [ -n "${2:-}" ] && [ "$2" != "--through-hub" ]; }; then
    echo "usage: $0 BIN_DIR [--through-hub] (BIN_DIR holds wstunnel and wstunnel-remote)" >&2
    exit 2
fi
if [ "${2:-}" = "--through-hub" ]; then
    THROUGH_HUB=1
fi
REMOTE_BIN="$BIN_DIR/wstunnel-remote"
CLIENT_BIN="$BIN_DIR/wstunnel"

# No proxy of the environment: and no no_proxy either, which would make curl skip the SOCKS
# proxy under test.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY no_proxy NO_PROXY

SCRIPT_NAME=socks_tunnel
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
HTTP_PID=""
REMOTE_PID=""
AGENT_PID=""
CLIENT_PID=""
RESULT=1

cleanup() {
    local status=$?
    set +e
    stop_processes "$CLIENT_PID" "$AGENT_PID" "$REMOTE_PID" "$HTTP_PID"
    remove_work "$status" "$WORK/http.err" "$WORK/remote.err" "$WORK/agent.err" "$WORK/client.err"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="looking for the tools"
for tool in "$REMOTE_BIN" "$CLIENT_BIN"; do
    [ -x "$tool" ] || die "$tool is not built"
done
for tool in curl python3 ss sha256sum; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-socks.XXXXXX")

STEP="starting the HTTP server"
mkdir "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/blob"
HTTP_PORT=$(free_port) || die "no free port for the HTTP server"
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" \
    >"$WORK/http.out" 2>"$WORK/http.err" &
HTTP_PID=$!
ready=0
for _ in $(seq 1 150); do
    if curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$HTTP_PORT/blob"; then
        ready=1
        break
    fi
    kill -0 "$HTTP_PID" 2>/dev/null || break
    sleep 0.1
done
[ "$ready" -eq 1 ] || die "the HTTP server did not answer on 127.0.0.1:$HTTP_PORT within 15 s"
DEAD_PORT=$(free_port) || die "no free port for a target nobody listens on"
OTHER_PORT=$(free_port) || die "no free port for a target outside the allow-list"

WSTUNNEL_TOKEN="socks-$RANDOM-$RANDOM-$$"
export WSTUNNEL_TOKEN
ALLOW=(--allow "localhost:$HTTP_PORT" --allow "localhost:$DEAD_PORT")
CLIENT_ARGS=()
if [ "$THROUGH_HUB" -eq 1 ]; then
    STEP="starting wstunnel-remote hub"
    echo "socks-agent-$RANDOM-$RANDOM-$$" >"$WORK/agent.token"
    echo "$(cat "$WORK/agent.token") devbox" >"$WORK/agents.tokens"
    "$REMOTE_BIN" hub --listen 127.0.0.1:0 --agent-token-file "$WORK/agents.tokens" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready "wstunnel-remote hub" "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }

    STEP="starting wstunnel-remote agent"
    "$REMOTE_BIN" agent --hub "$REMOTE_URL" --name devbox --token-file "$WORK/agent.token" \
        "${ALLOW[@]}" >"$WORK/agent.out" 2>"$WORK/agent.err" &
    AGENT_PID=$!
    wait_for_line "$WORK/agent.out" '^registered with .* as devbox \(active\)$' 15 \
        "$AGENT_PID" >/dev/null || not_ready "wstunnel-remote agent" "$AGENT_PID" "'registered with'"
    CLIENT_ARGS=(--agent devbox)
else
    STEP="starting wstunnel-remote"
    "$REMOTE_BIN" --listen 127.0.0.1:0 "${ALLOW[@]}" >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready wstunnel-remote "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
fi

STEP="starting wstunnel --headless -D"
"$CLIENT_BIN" --headless --remote "$REMOTE_URL" "${CLIENT_ARGS[@]}" -D 0 \
    >"$WORK/client.out" 2>"$WORK/client.err" &
CLIENT_PID=$!
line=$(wait_for_line "$WORK/client.out" '^forwarding 127\.0\.0\.1:[0-9]+ -> SOCKS$' 15 \
    "$CLIENT_PID") || not_ready wstunnel "$CLIENT_PID" "'forwarding'"
echo "== wstunnel: $line"
SOCKS_PORT=$(sed -E 's/^forwarding 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")

STEP="fetching through --socks5-hostname"
want=$(sha256sum <"$WORK/www/blob")
got=$(curl -sS --max-time 30 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
    "http://localhost:$HTTP_PORT/blob" 2>"$WORK/curl.err" | sha256sum) ||
    die "curl failed: $(cat "$WORK/curl.err")"
[ "$got" = "$want" ] || die "the file fetched through SOCKS5 differs: $(cat "$WORK/curl.err")"
echo "== SOCKS5: fetched 3000000 bytes from localhost:$HTTP_PORT, checksum equal"

STEP="fetching through --socks4a"
got=$(curl -sS --max-time 30 --socks4a "127.0.0.1:$SOCKS_PORT" \
    "http://localhost:$HTTP_PORT/blob" 2>"$WORK/curl.err" | sha256sum) ||
    die "curl failed: $(cat "$WORK/curl.err")"
[ "$got" = "$want" ] || die "the file fetched through SOCKS4a differs"
echo "== SOCKS4a: fetched 3000000 bytes, checksum equal"
# The serving side (the remote, or the agent) logs each channel it opened, named as curl asked.
channels=$(cat "$WORK/remote.err" "$WORK/agent.err" 2>/dev/null |
    grep -c "channel .* -> localhost:$HTTP_PORT opened" || true)
[ "$channels" -ge 2 ] || die "the remote side opened $channels channels to localhost:$HTTP_PORT, not 2"

# curl names the SOCKS5 reply code in its message: (2) not allowed, (5) refused.
STEP="asking for a target outside the allow-list"
status=0
curl -sS --max-time 30 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
    "http://localhost:$OTHER_PORT/" -o /dev/null 2>"$WORK/curl.err" || status=$?
message=$(cat "$WORK/curl.err")
[ "$status" -eq 97 ] || die "curl exited with $status, not 97 (proxy handshake error): $message"
grep -q '(2)' <<<"$message" || die "curl did not report SOCKS reply 2: $message"
echo "== not allowed: $message"

STEP="asking for an allowed port nobody listens on"
status=0
curl -sS --max-time 30 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
    "http://localhost:$DEAD_PORT/" -o /dev/null 2>"$WORK/curl.err" || status=$?
message=$(cat "$WORK/curl.err")
[ "$status" -eq 97 ] || die "curl exited with $status, not 97: $message"
grep -q '(5)' <<<"$message" || die "curl did not report SOCKS reply 5: $message"
echo "== refused: $message"

kill -0 "$CLIENT_PID" 2>/dev/null || die "wstunnel exited"
RESULT=0
summary "SOCKS5 and SOCKS4a through -D, reply 2 outside the allow-list, reply 5 when refused"
