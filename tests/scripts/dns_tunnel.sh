#!/usr/bin/env bash
# UDP through the tunnel with a real DNS server: dnsmasq answers 1,000 dig queries through
# `-L 0:127.0.0.1:DNSPORT/udp`, and 1,000 more through `-R 0:127.0.0.1:DNSPORT/udp`, every answer
# correct and each query sent once (+tries=1).
#
#   dns_tunnel.sh BIN_DIR [--through-hub]
#
# With --through-hub the desktop goes through a hub (`wstunnel-remote hub`) to two agents of one
# name (`wstunnel-remote agent`, active and standby), each with --allow 127.0.0.1:DNSPORT/udp, so
# the -R port listens on the active agent. After the queries, the active agent is killed (-9):
# the hub and the desktop print the promotion, and 2 s after the kill every one of 200 more
# queries through -L, and then through -R (listening again on the new active agent), is answered
# through the standby.
#
# Starts dnsmasq (Debian's dnsmasq-base: the binary only, no system service) as an unprivileged
# process with its own config: 1,000 host records, no upstream servers, 127.0.0.1 and its own
# port only. Then wstunnel-remote (--allow 127.0.0.1:DNSPORT/udp) and wstunnel --headless with
# both mappings. Everything stays on 127.0.0.1, every wait is bounded, and everything started is
# stopped on exit. Needs dnsmasq-base and bind9-dnsutils (scripts/install-deps.sh).
set -euo pipefail

BIN_DIR="${1:-${WSTUNNEL_BIN_DIR:-}}"
THROUGH_HUB=0
case "${2:-}" in
'') ;;
--through-hub) THROUGH_HUB=1 ;;
*) BIN_DIR="" ;;
esac
if [ -z "$BIN_DIR" ]; then
    echo "usage: $0 BIN_DIR [--through-hub] (BIN_DIR holds wstunnel and wstunnel-remote)" >&2
    exit 2
fi
REMOTE_BIN="$BIN_DIR/wstunnel-remote"
CLIENT_BIN="$BIN_DIR/wstunnel"
QUERIES=1000
FAILOVER_QUERIES=200

# Loopback traffic must not be sent to a proxy of the environment this runs in.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export no_proxy='*'

SCRIPT_NAME=dns_tunnel
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
REMOTE_PID=""
AGENT_PID=""
STANDBY_PID=""
CLIENT_PID=""
DNS_PID=""
RESULT=1

cleanup() {
    local status=$?
    set +e
    stop_processes "$CLIENT_PID" "$AGENT_PID" "$STANDBY_PID" "$REMOTE_PID" "$DNS_PID"
    remove_work "$status" "$WORK/dnsmasq.log" "$WORK/remote.err" "$WORK/agent.err" \
        "$WORK/standby.err" "$WORK/client.err"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- tools -------------------------------------------------------------------------------
STEP="looking for the tools"
for tool in "$REMOTE_BIN" "$CLIENT_BIN"; do
    [ -x "$tool" ] || die "$tool is not built"
done
# dnsmasq lives in /usr/sbin, which a user's PATH may lack.
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || die "missing dnsmasq: run scripts/install-deps.sh"
for tool in dig ss; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh"
done
# As root, dnsmasq runs as nobody from the start (setpriv execs it, so its pid is ours to stop).
AS_NOBODY=()
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null || die "running as root but setpriv is missing"
    AS_NOBODY=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-dns.XXXXXX")
chmod 755 "$WORK"

# ---- dnsmasq -----------------------------------------------------------------------------
STEP="starting dnsmasq"
DNS_PORT=$(free_port) || die "no free port for dnsmasq"
address_of() {
    echo "10.53.$(($1 / 256)).$(($1 % 256))"
}
{
    echo "port=$DNS_PORT"
    echo "listen-address=127.0.0.1"
    echo "bind-interfaces"
    echo "no-resolv"
    echo "no-hosts"
    echo "cache-size=0"
    for i in $(seq 0 $((QUERIES - 1))); do
        echo "host-record=host$i.wstunnel.test,$(address_of "$i")"
    done
} >"$WORK/dnsmasq.conf"
chmod 644 "$WORK/dnsmasq.conf"
"${AS_NOBODY[@]}" "$DNSMASQ" --conf-file="$WORK/dnsmasq.conf" --keep-in-foreground \
    --log-facility=- --pid-file= --user= >"$WORK/dnsmasq.log" 2>&1 &
DNS_PID=$!
ready=0
for _ in $(seq 1 100); do
    answer=$(dig +short +tries=1 +timeout=1 @127.0.0.1 -p "$DNS_PORT" host0.wstunnel.test A \
        2>/dev/null || true)
    if [ "$answer" = "$(address_of 0)" ]; then
        ready=1
        break
    fi
    kill -0 "$DNS_PID" 2>/dev/null || die "dnsmasq exited"
    sleep 0.1
done
[ "$ready" -eq 1 ] || die "dnsmasq did not answer on 127.0.0.1:$DNS_PORT within 10 s"
echo "== $("$DNSMASQ" --version | head -n 1) on 127.0.0.1:$DNS_PORT/udp, $QUERIES host records"

# ---- the tunnel --------------------------------------------------------------------------
# The desktop's token; through a hub, the hub takes it as a desktop token and the agents share
# one of their own.
WSTUNNEL_TOKEN="dns-$RANDOM-$RANDOM-$$"
export WSTUNNEL_TOKEN
CLIENT_ARGS=()
if [ "$THROUGH_HUB" -eq 1 ]; then
    STEP="starting wstunnel-remote hub"
    echo "dns-agent-$RANDOM-$RANDOM-$$" >"$WORK/agent.token"
    echo "$(cat "$WORK/agent.token") devbox" >"$WORK/agents.tokens"
    "$REMOTE_BIN" hub --listen 127.0.0.1:0 --agent-token-file "$WORK/agents.tokens" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready "wstunnel-remote hub" "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
    echo "== wstunnel-remote hub: $line"

    # start_agent VAR NAME STANDING: starts an agent of devbox, logging to NAME.out and NAME.err,
    # sets VAR to its pid (so that it is stopped on exit), and waits until it registered with
    # that standing.
    start_agent() {
        local var=$1 name=$2 standing=$3 pid line
        STEP="starting wstunnel-remote agent ($standing)"
        "$REMOTE_BIN" agent --hub "$REMOTE_URL" --name devbox --token-file "$WORK/agent.token" \
            --allow "127.0.0.1:$DNS_PORT/udp" >"$WORK/$name.out" 2>"$WORK/$name.err" &
        pid=$!
        printf -v "$var" '%s' "$pid"
        line=$(wait_for_line "$WORK/$name.out" \
            "^registered with .* as devbox \\($standing\\)\$" 15 "$pid") ||
            not_ready "wstunnel-remote agent" "$pid" "'registered with'"
        echo "== wstunnel-remote agent: $line"
    }
    start_agent AGENT_PID agent active
    start_agent STANDBY_PID standby standby
    CLIENT_ARGS=(--agent devbox)
else
    STEP="starting wstunnel-remote"
    "$REMOTE_BIN" --listen 127.0.0.1:0 --allow "127.0.0.1:$DNS_PORT/udp" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready wstunnel-remote "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
    echo "== wstunnel-remote: $line"
fi

STEP="starting wstunnel --headless"
"$CLIENT_BIN" --headless --remote "$REMOTE_URL" "${CLIENT_ARGS[@]}" -L "0:127.0.0.1:$DNS_PORT/udp" \
    -R "0:127.0.0.1:$DNS_PORT/udp" >"$WORK/client.out" 2>"$WORK/client.err" &
CLIENT_PID=$!
line=$(wait_for_line "$WORK/client.out" \
    "^forwarding 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$DNS_PORT/udp\$" 15 "$CLIENT_PID") ||
    not_ready wstunnel "$CLIENT_PID" "'forwarding'"
echo "== wstunnel: $line"
LOCAL_PORT=$(sed -E 's/^forwarding 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")
line=$(wait_for_line "$WORK/client.out" \
    "^reverse forwarding 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$DNS_PORT/udp\$" 15 "$CLIENT_PID") ||
    not_ready wstunnel "$CLIENT_PID" "'reverse forwarding'"
echo "== wstunnel: $line"
REVERSE_PORT=$(sed -E 's/^reverse forwarding 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")

# ---- the queries -------------------------------------------------------------------------
for i in $(seq 0 $((QUERIES - 1))); do
    address_of "$i"
done >"$WORK/expected"

# ask NAME PORT [COUNT]: COUNT (default $QUERIES) queries through 127.0.0.1:PORT, one dig
# process, each query sent once (from a port of its own: a new flow); every answer must be the
# record's address, in order.
ask() {
    local name=$1 port=$2 count=${3:-$QUERIES} started elapsed wrong
    STEP="asking $count queries through $name (127.0.0.1:$port)"
    for i in $(seq 0 $((count - 1))); do
        echo "@127.0.0.1 -p $port host$i.wstunnel.test A +short +tries=1 +timeout=5"
    done >"$WORK/queries-$name"
    started=$(date +%s%N)
    timeout 300 dig -f "$WORK/queries-$name" >"$WORK/answers-$name" 2>&1 ||
        die "dig exited with $? ($(grep -c . "$WORK/answers-$name") answer lines)"
    elapsed=$((($(date +%s%N) - started) / 1000000))
    head -n "$count" "$WORK/expected" >"$WORK/expected-$name"
    if ! diff -q "$WORK/expected-$name" "$WORK/answers-$name" >/dev/null; then
        wrong=$(diff "$WORK/expected-$name" "$WORK/answers-$name" | grep -c '^[<>]' || true)
        diff "$WORK/expected-$name" "$WORK/answers-$name" | head -n 10
        die "$wrong lines of the answers differ from the host records"
    fi
    kill -0 "$CLIENT_PID" 2>/dev/null || die "wstunnel exited"
    kill -0 "$REMOTE_PID" 2>/dev/null || die "wstunnel-remote exited"
    echo "== $name: $count of $count answers correct in $elapsed ms"
}

ask "-L" "$LOCAL_PORT"
ask "-R" "$REVERSE_PORT"

if [ "$THROUGH_HUB" -eq 0 ]; then
    RESULT=0
    summary "dnsmasq through $REMOTE_URL: $QUERIES dig queries through -L …/udp and $QUERIES" \
        "through -R …/udp, all answered correctly"
    exit 0
fi

# ---- failover ----------------------------------------------------------------------------
STEP="killing the active agent"
STANDBY_ADDRESS=$(grep -E -m1 '^agent devbox is served by ' "$WORK/client.out" || true)
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=""
KILLED_AT=$(date +%s%N)
line=$(wait_for_line "$WORK/standby.out" '^devbox is now active$' 15 "$STANDBY_PID") ||
    die "the standby agent printed no 'devbox is now active' within 15 s"
echo "== standby agent: $line"
line=$(wait_for_line "$WORK/remote.err" 'agent devbox at .* is now active' 15 "$REMOTE_PID") ||
    die "the hub logged no promotion within 15 s"
echo "== hub: ${line#* wstunnel.core.server: }"
line=$(wait_for_line "$WORK/client.out" '^agent devbox is now served by ' 15 "$CLIENT_PID") ||
    die "wstunnel printed no 'agent devbox is now served by' within 15 s (before: $STANDBY_ADDRESS)"
echo "== wstunnel: $line"
# Every query from 2 s after the kill on must be answered.
while [ $(($(date +%s%N) - KILLED_AT)) -lt 2000000000 ]; do
    sleep 0.1
done
ask "-L after the failover" "$LOCAL_PORT" "$FAILOVER_QUERIES"
# The reverse forward listens again, on the same port, on the new active agent.
STEP="waiting for the -R port on the new active agent"
for _ in $(seq 1 100); do
    [ -n "$(ss -Huan "sport = :$REVERSE_PORT")" ] && break
    sleep 0.1
done
[ -n "$(ss -Huan "sport = :$REVERSE_PORT")" ] || die "nothing listens on $REVERSE_PORT/udp again"
ask "-R after the failover" "$REVERSE_PORT" "$FAILOVER_QUERIES"

RESULT=0
summary "dnsmasq through hub $REMOTE_URL and agent devbox: $QUERIES dig queries through -L …/udp" \
    "and $QUERIES through -R …/udp, then $FAILOVER_QUERIES each way through the standby after a" \
    "kill -9 of the active agent, all answered correctly"
