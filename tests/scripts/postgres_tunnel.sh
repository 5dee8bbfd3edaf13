#!/usr/bin/env bash
# The flagship case: a developer reaches PostgreSQL on the dev side through the tunnel.
#
#   postgres_tunnel.sh BIN_DIR [--through-hub | --with-cuts]
#
# Starts a private PostgreSQL (Debian server binaries, initdb --auth=trust, own data directory,
# own port, own socket directory) on 127.0.0.1, then wstunnel-remote and
# `wstunnel --headless -L 0:127.0.0.1:PGPORT`, and through the tunnel runs psql, pgbench -i and
# pgbench -c 8 -T 10, which must finish with zero failed transactions. With --through-hub the
# desktop goes through a hub (`wstunnel-remote hub`) to an agent (`wstunnel-remote agent`) that
# reaches PostgreSQL instead. With --with-cuts the desktop dials through a socat relay whose
# connections the script kills three times during pgbench -c 8 -T 30 (a proxy cutting the
# WebSocket): the session resumes each time, no transaction fails, and a psql session left idle
# across the cuts still answers. Everything stays on 127.0.0.1, every wait is bounded, and
# everything started is stopped on exit.
set -euo pipefail

BIN_DIR="${1:-${WSTUNNEL_BIN_DIR:-}}"
THROUGH_HUB=0
WITH_CUTS=0
case "${2:-}" in
'') ;;
--through-hub) THROUGH_HUB=1 ;;
--with-cuts) WITH_CUTS=1 ;;
*) BIN_DIR="" ;;
esac
if [ -z "$BIN_DIR" ]; then
    echo "usage: $0 BIN_DIR [--through-hub | --with-cuts] (BIN_DIR holds wstunnel and" \
        "wstunnel-remote)" >&2
    exit 2
fi
REMOTE_BIN="$BIN_DIR/wstunnel-remote"
CLIENT_BIN="$BIN_DIR/wstunnel"
CLIENTS=8
DURATION=10
CUTS=3
if [ "$WITH_CUTS" -eq 1 ]; then
    DURATION=30
fi

# Loopback traffic must not be sent to a proxy of the environment this runs in.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export no_proxy='*'
# psql and pgbench give up instead of hanging if the tunnel does not answer.
export PGCONNECT_TIMEOUT=10

SCRIPT_NAME=postgres_tunnel
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP="setting up"
WORK=""
PG_BIN=""
REMOTE_PID=""
AGENT_PID=""
CLIENT_PID=""
RELAY_PID=""
IDLE_PID=""
PG_STARTED=0
RESULT=1

# Runs a PostgreSQL server binary, as the postgres user when we are root (PostgreSQL refuses
# to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cleanup() {
    local status=$?
    set +e
    stop_processes "$IDLE_PID" "$CLIENT_PID" "$RELAY_PID" "$AGENT_PID" "$REMOTE_PID"
    if [ "$PG_STARTED" -eq 1 ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -t 20 stop >/dev/null 2>&1 ||
            as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate -t 10 stop >/dev/null 2>&1
    fi
    remove_work "$status" "$WORK/postgres.log" "$WORK/remote.err" "$WORK/agent.err" "$WORK/client.err"
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
# The newest installed major version.
PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
    die "no PostgreSQL server in /usr/lib/postgresql/*/bin: run scripts/install-deps.sh"
fi
for tool in psql pgbench pg_isready ss socat stdbuf; do
    command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh"
done
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
    command -v runuser >/dev/null || die "running as root but runuser is missing"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-pg.XXXXXX")
chmod 755 "$WORK"
mkdir "$WORK/socket"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$WORK" "$WORK/socket"
fi

# ---- PostgreSQL --------------------------------------------------------------------------
STEP="creating the database cluster"
as_pg "$PG_BIN/initdb" --auth=trust --username=postgres --encoding=UTF8 --no-sync \
    -D "$WORK/data" >"$WORK/initdb.log" 2>&1 || {
    show_log "$WORK/initdb.log"
    die "initdb failed"
}

STEP="starting PostgreSQL"
PGPORT=$(free_port) || die "no free port for PostgreSQL"
# -W: do not wait here; pg_isready below is the bounded wait.
as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -W \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK/socket -c fsync=off" start \
    >"$WORK/pg_ctl.log" 2>&1 || {
    show_log "$WORK/pg_ctl.log"
    die "pg_ctl start failed"
}
PG_STARTED=1
ready=0
for _ in $(seq 1 300); do
    if pg_isready -q -U postgres -d postgres -h 127.0.0.1 -p "$PGPORT" -t 1; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" -eq 1 ] || die "PostgreSQL did not accept connections on 127.0.0.1:$PGPORT within 30 s"
PG_VERSION=$(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc 'show server_version')
echo "== PostgreSQL $PG_VERSION on 127.0.0.1:$PGPORT"

# ---- the tunnel --------------------------------------------------------------------------
# The desktop's token; with --through-hub the hub takes it as a desktop token and the agent has
# a token of its own.
WSTUNNEL_TOKEN="pg-$RANDOM-$RANDOM-$$"
export WSTUNNEL_TOKEN
CLIENT_ARGS=()
if [ "$THROUGH_HUB" -eq 1 ]; then
    STEP="starting wstunnel-remote hub"
    echo "pg-agent-$RANDOM-$RANDOM-$$" >"$WORK/agent.token"
    echo "$(cat "$WORK/agent.token") devbox" >"$WORK/agents.tokens"
    "$REMOTE_BIN" hub --listen 127.0.0.1:0 --agent-token-file "$WORK/agents.tokens" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready "wstunnel-remote hub" "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
    echo "== wstunnel-remote hub: $line"

    STEP="starting wstunnel-remote agent"
    "$REMOTE_BIN" agent --hub "$REMOTE_URL" --name devbox --token-file "$WORK/agent.token" \
        --allow "127.0.0.1:$PGPORT" >"$WORK/agent.out" 2>"$WORK/agent.err" &
    AGENT_PID=$!
    line=$(wait_for_line "$WORK/agent.out" '^registered with .* as devbox \(active\)$' 15 \
        "$AGENT_PID") || not_ready "wstunnel-remote agent" "$AGENT_PID" "'registered with'"
    echo "== wstunnel-remote agent: $line"
    CLIENT_ARGS=(--agent devbox)
else
    STEP="starting wstunnel-remote"
    "$REMOTE_BIN" --listen 127.0.0.1:0 --allow "127.0.0.1:$PGPORT" \
        >"$WORK/remote.out" 2>"$WORK/remote.err" &
    REMOTE_PID=$!
    line=$(wait_for_line "$WORK/remote.out" '^listening on ws://' 15 "$REMOTE_PID") ||
        not_ready wstunnel-remote "$REMOTE_PID" "'listening on'"
    REMOTE_URL=${line#listening on }
    echo "== wstunnel-remote: $line"
fi

DIAL_URL="$REMOTE_URL"
if [ "$WITH_CUTS" -eq 1 ]; then
    STEP="starting the relay that cuts the WebSocket"
    RELAY_PORT=$(free_port) || die "no free port for the relay"
    REMOTE_HOST_PORT=$(sed -E 's#^ws://([^/]+)/.*#\1#' <<<"$REMOTE_URL")
    # One child per connection: killing the children cuts every WebSocket through the relay
    # without a close frame, as a proxy or a roaming network would.
    socat "TCP-LISTEN:$RELAY_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$REMOTE_HOST_PORT" \
        2>"$WORK/relay.err" &
    RELAY_PID=$!
    listening=0
    for _ in $(seq 1 50); do
        if [ -n "$(ss -Htln "sport = :$RELAY_PORT")" ]; then
            listening=1
            break
        fi
        sleep 0.1
    done
    [ "$listening" -eq 1 ] || die "socat did not listen on 127.0.0.1:$RELAY_PORT within 5 s"
    DIAL_URL="ws://127.0.0.1:$RELAY_PORT/${REMOTE_URL#ws://*/}"
fi

STEP="starting wstunnel --headless"
"$CLIENT_BIN" --headless --remote "$DIAL_URL" "${CLIENT_ARGS[@]}" -L "0:127.0.0.1:$PGPORT" \
    >"$WORK/client.out" 2>"$WORK/client.err" &
CLIENT_PID=$!
line=$(wait_for_line "$WORK/client.out" "^forwarding 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$PGPORT\$" \
    15 "$CLIENT_PID") || not_ready wstunnel "$CLIENT_PID" "'forwarding'"
echo "== wstunnel: $line"
LOCAL_PORT=$(sed -E 's/^forwarding 127\.0\.0\.1:([0-9]+) .*/\1/' <<<"$line")
[ "$LOCAL_PORT" -gt 0 ] 2>/dev/null || die "no port in '$line'"

# The first connection after the readiness line must work; pg_isready through the tunnel is how
# a user would check, and a bounded retry keeps this script about PostgreSQL rather than about
# the start-up order (tst_binaries checks that separately).
STEP="reaching PostgreSQL through the tunnel"
ready=0
for _ in $(seq 1 100); do
    if pg_isready -q -U postgres -d postgres -h 127.0.0.1 -p "$LOCAL_PORT" -t 2; then
        ready=1
        break
    fi
    kill -0 "$CLIENT_PID" 2>/dev/null || die "wstunnel exited"
    sleep 0.1
done
[ "$ready" -eq 1 ] || die "pg_isready through 127.0.0.1:$LOCAL_PORT failed for 10 s"

PSQL=(psql -X -h 127.0.0.1 -p "$LOCAL_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
STEP="running psql through the tunnel"
answer=$(timeout 30 "${PSQL[@]}" -Atc 'select 1' 2>&1) || die "psql failed: $answer"
[ "$answer" = "1" ] || die "psql -c 'select 1' answered '$answer'"
echo "== psql -c 'select 1': $answer"

STEP="running pgbench -i through the tunnel"
timeout 120 pgbench -i -q -h 127.0.0.1 -p "$LOCAL_PORT" -U postgres postgres \
    >"$WORK/pgbench-init.log" 2>&1 || {
    show_log "$WORK/pgbench-init.log"
    die "pgbench -i failed"
}
rows=$(timeout 30 "${PSQL[@]}" -Atc 'select count(*) from pgbench_accounts' 2>&1) ||
    die "counting pgbench_accounts failed: $rows"
[ "$rows" = "100000" ] || die "pgbench_accounts holds '$rows' rows instead of 100000"
echo "== pgbench -i: pgbench_accounts holds $rows rows"

# cut_websockets N: kills the relay's children (every connection through it), then waits until
# the client has logged its Nth resume.
cut_websockets() {
    local n=$1 child resumed=0
    for child in $(ps -o pid= --ppid "$RELAY_PID"); do
        kill -KILL "$child" 2>/dev/null || true
    done
    for _ in $(seq 1 200); do
        if [ "$(grep -c 'session resumed after' "$WORK/client.err")" -ge "$n" ]; then
            resumed=1
            break
        fi
        sleep 0.1
    done
    [ "$resumed" -eq 1 ] || die "the session did not resume within 20 s of cut $n"
    echo "== cut $n: $(grep 'session resumed after' "$WORK/client.err" | tail -n 1)"
}

# idle_query TEXT: sends a query to the idle psql session and prints its answer.
idle_query() {
    local answer
    echo "select '$1';" >&"${IDLE[1]}"
    read -r -t 30 answer <&"${IDLE[0]}" || return 1
    echo "$answer"
}

if [ "$WITH_CUTS" -eq 1 ]; then
    STEP="opening an idle psql session through the tunnel"
    # Line-buffered, so each answer comes out as soon as it is there.
    coproc IDLE { stdbuf -oL "${PSQL[@]}" -At 2>&1; }
    answer=$(idle_query before) || die "the idle psql session did not answer"
    [ "$answer" = "before" ] || die "the idle psql session answered '$answer'"
fi

STEP="running pgbench -c $CLIENTS -T $DURATION through the tunnel"
bench_status=0
timeout $((DURATION + 60)) pgbench -c "$CLIENTS" -j 2 -T "$DURATION" -h 127.0.0.1 \
    -p "$LOCAL_PORT" -U postgres postgres >"$WORK/pgbench.log" 2>&1 &
BENCH_PID=$!
if [ "$WITH_CUTS" -eq 1 ]; then
    # Evenly spread over the run: pgbench is in full swing at each cut.
    for cut in $(seq 1 "$CUTS"); do
        sleep $((DURATION / (CUTS + 1)))
        STEP="cutting the WebSocket ($cut of $CUTS) during pgbench"
        cut_websockets "$cut"
    done
fi
wait "$BENCH_PID" || bench_status=$?
STEP="running pgbench -c $CLIENTS -T $DURATION through the tunnel"
cat "$WORK/pgbench.log"
[ "$bench_status" -eq 0 ] || die "pgbench exited with $bench_status"
processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' \
    "$WORK/pgbench.log")
failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$WORK/pgbench.log")
[ -n "$failed" ] || die "pgbench printed no 'number of failed transactions' line"
[ "$failed" -eq 0 ] || die "pgbench reports $failed failed transactions"
if [ -z "$processed" ] || [ "$processed" -eq 0 ]; then
    die "pgbench processed no transactions ('${processed:-no line}')"
fi
tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$WORK/pgbench.log" | head -n 1)

STEP="checking the tunnel is still healthy"
kill -0 "$CLIENT_PID" 2>/dev/null || die "wstunnel exited during the run"
kill -0 "$REMOTE_PID" 2>/dev/null || die "wstunnel-remote exited during the run"
if [ -n "$AGENT_PID" ]; then
    kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited during the run"
fi
answer=$(timeout 30 "${PSQL[@]}" -Atc 'select 2' 2>&1) || die "psql after pgbench failed: $answer"
[ "$answer" = "2" ] || die "psql after pgbench answered '$answer'"
if [ "$WITH_CUTS" -eq 1 ]; then
    STEP="using the psql session left idle across the cuts"
    answer=$(idle_query after) || die "the idle psql session did not answer after the cuts"
    [ "$answer" = "after" ] || die "the idle psql session answered '$answer' after the cuts"
    ! grep -q 'reset' "$WORK/client.err" || die "the client reset connections during the cuts"
fi

RESULT=0
VIA="$REMOTE_URL"
if [ "$THROUGH_HUB" -eq 1 ]; then
    VIA="hub $REMOTE_URL and agent devbox"
fi
if [ "$WITH_CUTS" -eq 1 ]; then
    VIA="$VIA, the WebSocket cut $CUTS times and resumed, an idle psql session kept"
fi
summary "PostgreSQL $PG_VERSION through $VIA: psql ok, pgbench -i ok," \
    "pgbench -c $CLIENTS -T $DURATION processed $processed transactions (tps ${tps:-?}), 0 failed"
