# Shared by the network test scripts: a private temp dir, generated certificates, free loopback
# ports, and the processes a test starts, all stopped on exit. Everything stays on 127.0.0.1.
set -euo pipefail

: "${WSTUNNEL_BIN_DIR:?WSTUNNEL_BIN_DIR must point at the directory holding wstunnel and wstunnel-remote}"
REMOTE_BIN="$WSTUNNEL_BIN_DIR/wstunnel-remote"
CLIENT_BIN="$WSTUNNEL_BIN_DIR/wstunnel"
EXAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../packaging/examples" && pwd)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wstunnel-net.XXXXXX")"
chmod 755 "$WORK"
STARTED_PIDS=()
FAILURES=0

cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$FAILURES" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
        rm -rf "$WORK"
    else
        echo "logs and configs kept in $WORK"
    fi
}
trap cleanup EXIT

log() { printf '== %s\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    FAILURES=$((FAILURES + 1))
}
finish() {
    if [ "$FAILURES" -ne 0 ]; then
        echo "$FAILURES check(s) failed"
        exit 1
    fi
    echo "all checks passed"
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "missing $tool: run scripts/install-deps.sh test"
            exit 1
        }
    done
}

# Records a background process so that cleanup stops it.
track() { STARTED_PIDS+=("$1"); }

# A port no socket uses right now, below Linux's ephemeral range so that outgoing connections do
# not take it meanwhile (a later bind may still race; tests use it at once).
free_port() {
    local port tries
    for tries in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000))
        if [ -z "$(ss -Htan "sport = :$port")" ]; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds, at most SECONDS.
wait_until() {
    local limit=$1 tries
    shift
    for tries in $(seq 1 $((limit * 10))); do
        if "$@"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

port_listening() { [ -n "$(ss -Htln "sport = :$1")" ]; }
file_has() { [ -f "$1" ] && grep -q -- "$2" "$1"; }

# make_ca NAME: a self-signed CA in $WORK/NAME.pem, NAME.key.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$WORK/$1.key" -out "$WORK/$1.pem" 2>/dev/null
}

# make_cert NAME CA SUBJECT_ALT_NAMES USAGE [DAYS]: a certificate signed by CA (serverAuth or
# clientAuth), valid for DAYS (default 2; -1 makes one that expired a day ago).
make_cert() {
    local name=$1 ca=$2 san=$3 usage=$4 days=${5:-2}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
        -keyout "$WORK/$name.key" -out "$WORK/$name.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$san" "$usage" \
        >"$WORK/$name.ext"
    openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/$ca.pem" -CAkey "$WORK/$ca.key" \
        -CAcreateserial -days "$days" -out "$WORK/$name.pem" -extfile "$WORK/$name.ext" 2>/dev/null
}

# The form of --pin-sha256: base64 SHA-256 of the certificate's SubjectPublicKeyInfo.
public_key_pin() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64
}

# As the client prints it: upper-case hex with colons.
cert_fingerprint() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

# start_echo: a TCP echo server; sets ECHO_PORT.
start_echo() {
    ECHO_PORT=$(free_port)
    socat "TCP-LISTEN:$ECHO_PORT,bind=127.0.0.1,fork,reuseaddr" EXEC:cat &
    track $!
    wait_until 10 port_listening "$ECHO_PORT" || {
        echo "echo server did not start"
        exit 1
    }
}

# start_remote NAME ARGS...: wstunnel-remote on a free port; sets REMOTE_URL and REMOTE_PORT.
# Its output goes to $WORK/NAME.out and NAME.err.
start_remote() {
    local name=$1
    shift
    "$REMOTE_BIN" --listen 127.0.0.1:0 --token-file "$WORK/token" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    track $!
    REMOTE_PID=$!
    if ! wait_until 20 file_has "$WORK/$name.out" "listening on"; then
        echo "wstunnel-remote $name did not start:"
        cat "$WORK/$name.err"
        exit 1
    fi
    REMOTE_URL=$(sed -n 's/^listening on //p' "$WORK/$name.out")
    REMOTE_PORT=$(echo "$REMOTE_URL" | sed -E 's#^wss?://[^:]+:([0-9]+)/.*#\1#')
}

# start_client NAME ARGS...: wstunnel --headless with one local forward to the echo server;
# sets CLIENT_PID and FORWARD_PORT. Output in $WORK/NAME.out and NAME.err.
start_client() {
    local name=$1
    shift
    "$CLIENT_BIN" --headless --token-file "$WORK/token" -L "127.0.0.1:0:127.0.0.1:$ECHO_PORT" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    CLIENT_PID=$!
    track $CLIENT_PID
    if ! wait_until 20 file_has "$WORK/$name.out" "^forwarding "; then
        echo "wstunnel $name did not start:"
        cat "$WORK/$name.err"
        exit 1
    fi
    FORWARD_PORT=$(sed -n -E 's/^forwarding 127\.0\.0\.1:([0-9]+) .*/\1/p' "$WORK/$name.out")
}

stop_client() {
    kill "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
}

# echo_through PORT TEXT: true when TEXT comes back through the forward on PORT.
echo_through() {
    local reply
    reply=$(printf '%s\n' "$2" | timeout 5 socat -t 3 - "TCP:127.0.0.1:$1" 2>/dev/null) || true
    [ "$reply" = "$2" ]
}

# expect_tunnel NAME ARGS...: the client connects with ARGS and bytes make the round trip.
expect_tunnel() {
    local name=$1
    shift
    start_client "$name" "$@"
    if wait_until 20 echo_through "$FORWARD_PORT" "hello $name"; then
        pass "$name: bytes go through the tunnel"
    else
        fail "$name: no echo through the tunnel; the client's last words:"
        tail -n 20 "$WORK/$name.err" | sed 's/^/    /'
    fi
    stop_client
}

# expect_refusal NAME PATTERN ARGS...: the client gives up with exit code 1 and a message
# matching the extended regular expression PATTERN.
expect_refusal() {
    local name=$1 pattern=$2 status=0
    shift 2
    timeout 60 "$CLIENT_BIN" --headless --token-file "$WORK/token" \
        -L "127.0.0.1:0:127.0.0.1:${ECHO_PORT:-9}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" ||
        status=$?
    local message
    message=$(grep '^wstunnel: ' "$WORK/$name.err" || true)
    if [ "$status" -eq 1 ] && printf '%s\n' "$message" | grep -Eq -- "$pattern"; then
        pass "$name: refused: ${message#wstunnel: }"
    else
        fail "$name: expected exit 1 and /$pattern/, got exit $status and:"
        tail -n 20 "$WORK/$name.err" | sed 's/^/    /'
    fi
}
