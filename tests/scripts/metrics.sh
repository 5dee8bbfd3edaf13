#!/usr/bin/env bash
# Prometheus metrics of wstunnel-remote serve, hub and agent.
#
#   metrics.sh BIN_DIR
#
# Serve: wstunnel-remote --metrics 127.0.0.1:0 allowing one HTTP server; a desktop forwards to
# it, to a target outside the allow-list and to a port nobody listens on. After curl fetched a
# 3 MB file and tried the other two, the counters moved: a session, channels opened, the bytes
# each way, one open failed as not_allowed and one as refused. Hub and agents: the hub reports
# agent devbox active and, once a second instance registers, one standby; the agent counts the
# channel a desktop opened through the hub. Every scrape passes `promtool check metrics`
# (Debian's prometheus package), and --metrics on the tunnel's own port is refused (exit 2).
set -euo pipefail

BIN_DIR="${1:-${WSTUNNEL_BIN_DIR:-}}"
[ -n "$BIN_DIR" ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
REMOTE_BIN="$BIN_DIR/wstunnel-remote"
CLIENT_BIN="$BIN_DIR/wstunnel"

unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export no_proxy='*'

SCRIPT_NAME=metrics
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
PIDS=()
RESULT=1

cleanup() {
    local status=$?
    set +e
    stop_processes "${PIDS[@]}"
    remove_work "$status" "$WORK"/*.err
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="looking for the tools"
for tool in "$REMOTE_BIN" "$CLIENT_BIN"; do
    [ -x "$tool" ] || die "$tool is not built"
done
for tool in curl python3 ss promtool; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh (promtool: prometheus)"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-metrics.XXXXXX")

# scrape NAME URL: fetches the metrics into $WORK/NAME.prom and has promtool check them.
scrape() {
    local name=$1 url=$2
    curl -sS --max-time 10 "$url" >"$WORK/$name.prom" || die "cannot fetch $url"
    promtool check metrics <"$WORK/$name.prom" >"$WORK/promtool.txt" 2>&1 || {
        cat "$WORK/promtool.txt"
        die "promtool check metrics rejects $name"
    }
}
# value NAME SAMPLE: the value of one sample (metric name with its labels, as printed).
value() {
    awk -v sample="$2" '$1 == sample { print $2; found = 1 } END { if (!found) print "missing" }' \
        "$WORK/$1.prom"
}
expect() {
    local name=$1 sample=$2 op=$3 want=$4 got
    got=$(value "$name" "$sample")
    [ "$got" != missing ] && [ "$got" "$op" "$want" ] ||
        die "$name: $sample is $got, expected $op $want"
}
# start NAME COMMAND...: runs a command in the background with its output in $WORK/NAME.out/err.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
}

STEP="starting the HTTP server"
mkdir "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/blob"
HTTP_PORT=$(free_port) || die "no free port"
start http python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT"
ready=0
for _ in $(seq 1 150); do
    if curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/blob"; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" -eq 1 ] || die "the HTTP server did not answer within 15 s"
DEAD_PORT=$(free_port) || die "no free port"

WSTUNNEL_TOKEN="metrics-$RANDOM-$RANDOM-$$"
export WSTUNNEL_TOKEN

STEP="refusing the tunnel's own port"
TUNNEL_PORT=$(free_port) || die "no free port"
status=0
"$REMOTE_BIN" --listen "127.0.0.1:$TUNNEL_PORT" --metrics "$TUNNEL_PORT" >/dev/null \
    2>"$WORK/same-port.err" || status=$?
[ "$status" -eq 2 ] || die "--metrics on the tunnel's port exited with $status, not 2"
echo "== same port: $(head -n 1 "$WORK/same-port.err")"

STEP="starting wstunnel-remote --metrics"
start remote "$REMOTE_BIN" --listen 127.0.0.1:0 --metrics 127.0.0.1:0 \
    --allow "127.0.0.1:$HTTP_PORT" --allow "127.0.0.1:$DEAD_PORT"
REMOTE_PID=${PIDS[-1]}
line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
    not_ready wstunnel-remote "$REMOTE_PID" "'listening on'"
REMOTE_URL=${line#listening on }
line=$(wait_for_line "$WORK/remote.out" '^metrics on http://' 15 "$REMOTE_PID") ||
    not_ready wstunnel-remote "$REMOTE_PID" "'metrics on'"
METRICS_URL=${line#metrics on }
echo "== wstunnel-remote: $REMOTE_URL, $line"
scrape before "$METRICS_URL"
expect before wstunnel_sessions -eq 0
expect before 'wstunnel_channel_open_failures_total{reason="not_allowed"}' -eq 0

STEP="carrying data and failing opens"
start client "$CLIENT_BIN" --headless --remote "$REMOTE_URL" -L "0:127.0.0.1:$HTTP_PORT" \
    -L "0:127.0.0.2:$HTTP_PORT" -L "0:127.0.0.1:$DEAD_PORT"
CLIENT_PID=${PIDS[-1]}
for _ in 1 2 3; do
    wait_for_line "$WORK/client.out" "forwarding .* -> 127\.0\.0\.1:$DEAD_PORT\$" 15 "$CLIENT_PID" \
        >/dev/null || not_ready wstunnel "$CLIENT_PID" "'forwarding'"
done
port_of() { sed -nE "s/^forwarding 127\.0\.0\.1:([0-9]+) -> $1\$/\1/p" "$WORK/client.out"; }
curl -sS --max-time 30 -o "$WORK/fetched" "http://127.0.0.1:$(port_of "127\.0\.0\.1:$HTTP_PORT")/blob" ||
    die "fetching through the tunnel failed"
cmp -s "$WORK/fetched" "$WORK/www/blob" || die "the fetched file differs"
curl -s --max-time 30 -o /dev/null "http://127.0.0.1:$(port_of "127\.0\.0\.2:$HTTP_PORT")/" || true
curl -s --max-time 30 -o /dev/null "http://127.0.0.1:$(port_of "127\.0\.0\.1:$DEAD_PORT")/" || true
# The failures are counted when the remote answers the opens; the log says so first.
wait_for_line "$WORK/remote.err" "127\.0\.0\.1:$DEAD_PORT closed \(" 15 "$REMOTE_PID" >/dev/null ||
    die "the remote did not log the refused open"
scrape after "$METRICS_URL"
expect after wstunnel_sessions -eq 1
expect after wstunnel_sessions_started_total -eq 1
expect after wstunnel_channels_opened_total -ge 1
expect after wstunnel_sent_bytes_total -ge 3000000
expect after wstunnel_received_bytes_total -gt 0
expect after 'wstunnel_channel_open_failures_total{reason="not_allowed"}' -eq 1
expect after 'wstunnel_channel_open_failures_total{reason="refused"}' -eq 1
expect after wstunnel_sessions_resumed_total -eq 0
echo "== after: sent $(value after wstunnel_sent_bytes_total) B, received" \
    "$(value after wstunnel_received_bytes_total) B, opened $(value after wstunnel_channels_opened_total)," \
    "not_allowed 1, refused 1"

STEP="starting a hub and two agents with --metrics"
echo "metrics-agent-$RANDOM-$$" >"$WORK/agent.token"
echo "$(cat "$WORK/agent.token") devbox" >"$WORK/agents.tokens"
start hub "$REMOTE_BIN" hub --listen 127.0.0.1:0 --metrics 0 --agent-token-file "$WORK/agents.tokens"
HUB_PID=${PIDS[-1]}
line=$(wait_for_line "$WORK/hub.out" '^listening on ws://' 15 "$HUB_PID") ||
    not_ready "wstunnel-remote hub" "$HUB_PID" "'listening on'"
HUB_URL=${line#listening on }
line=$(wait_for_line "$WORK/hub.out" '^metrics on http://' 15 "$HUB_PID") ||
    not_ready "wstunnel-remote hub" "$HUB_PID" "'metrics on'"
HUB_METRICS=${line#metrics on }
start agent1 "$REMOTE_BIN" agent --hub "$HUB_URL" --name devbox --token-file "$WORK/agent.token" \
    --metrics 0 --allow "127.0.0.1:$HTTP_PORT"
AGENT_PID=${PIDS[-1]}
line=$(wait_for_line "$WORK/agent1.out" '^metrics on http://' 15 "$AGENT_PID") ||
    not_ready "wstunnel-remote agent" "$AGENT_PID" "'metrics on'"
AGENT_METRICS=${line#metrics on }
wait_for_line "$WORK/agent1.out" 'as devbox \(active\)$' 15 "$AGENT_PID" >/dev/null ||
    not_ready "wstunnel-remote agent" "$AGENT_PID" "'registered'"
start agent2 "$REMOTE_BIN" agent --hub "$HUB_URL" --name devbox --token-file "$WORK/agent.token"
wait_for_line "$WORK/agent2.out" 'as devbox \(standby\)$' 15 "${PIDS[-1]}" >/dev/null ||
    not_ready "the second agent" "${PIDS[-1]}" "'registered'"
scrape hub "$HUB_METRICS"
expect hub 'wstunnel_hub_agents{name="devbox",state="active"}' -eq 1
expect hub 'wstunnel_hub_agents{name="devbox",state="standby"}' -eq 1
expect hub wstunnel_sessions -eq 2

STEP="carrying data through the hub"
start hubclient "$CLIENT_BIN" --headless --remote "$HUB_URL" --agent devbox \
    -L "0:127.0.0.1:$HTTP_PORT"
line=$(wait_for_line "$WORK/hubclient.out" '^forwarding ' 15 "${PIDS[-1]}") ||
    not_ready wstunnel "${PIDS[-1]}" "'forwarding'"
port=$(sed -E 's/^forwarding 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")
curl -sS --max-time 30 -o "$WORK/fetched" "http://127.0.0.1:$port/blob" ||
    die "fetching through the hub failed"
cmp -s "$WORK/fetched" "$WORK/www/blob" || die "the file fetched through the hub differs"
scrape agent "$AGENT_METRICS"
expect agent wstunnel_channels_opened_total -ge 1
expect agent wstunnel_sent_bytes_total -ge 3000000
scrape hub "$HUB_METRICS"
expect hub wstunnel_sessions -eq 3
expect hub wstunnel_sent_bytes_total -ge 3000000
echo "== hub: devbox active 1, standby 1; agent sent $(value agent wstunnel_sent_bytes_total) B"

RESULT=0
summary "promtool accepts every scrape; sessions, channels, bytes, failures and agents counted"
