#!/usr/bin/env bash
# An agent behind a corporate proxy: it reaches its hub over wss only through squid with Basic
# authentication (only squid knows where hub.test is), registers, and serves a desktop that
# connects to the hub directly. Wrong proxy credentials end the agent with a proxy message.
source "$(dirname "$0")/lib.sh"
need openssl socat ss squid htpasswd
SQUID_AUTH=/usr/lib/squid/basic_ncsa_auth
[ -x "$SQUID_AUTH" ] || { echo "missing $SQUID_AUTH: run scripts/install-deps.sh test"; exit 1; }

make_ca ca
make_cert hub ca "DNS:hub.test,IP:127.0.0.1" serverAuth
echo "net-desktop-token" >"$WORK/token"
echo "net-agent-token" >"$WORK/agent.token"
echo "net-agent-token devbox" >"$WORK/agents.tokens"
start_echo

if getent hosts hub.test >/dev/null; then
    echo "hub.test resolves on this machine; the test needs it to be known to squid only"
    exit 1
fi

log "squid with Basic authentication"
SQUID_DIR="$WORK/squid"
mkdir -p "$SQUID_DIR"
SQUID_PORT=$(free_port)
sed -e "s#@PORT@#$SQUID_PORT#g" -e "s#@DIR@#$SQUID_DIR#g" "$(dirname "$0")/squid.conf.in" \
    >"$SQUID_DIR/squid.conf"
echo "127.0.0.1 hub.test" >"$SQUID_DIR/hosts"
htpasswd -b -c -m "$SQUID_DIR/passwords" alice 'open sesame' 2>/dev/null
# Started as root, squid runs as its own user, which must write the logs and read the passwords.
if [ "$(id -u)" -eq 0 ] && id proxy >/dev/null 2>&1; then
    chown -R proxy "$SQUID_DIR"
fi
squid -N -f "$SQUID_DIR/squid.conf" >"$SQUID_DIR/squid.stdout" 2>&1 &
track $!
if ! wait_until 30 port_listening "$SQUID_PORT"; then
    echo "squid did not start:"
    cat "$SQUID_DIR/squid.stdout" "$SQUID_DIR/cache.log" 2>/dev/null
    exit 1
fi

log "hub over wss"
start_remote hub hub --agent-token-file "$WORK/agents.tokens" --tls-cert "$WORK/hub.pem" \
    --tls-key "$WORK/hub.key"
HUB_URL="wss://hub.test:$REMOTE_PORT/"

log "agent through squid"
"$REMOTE_BIN" agent --hub "$HUB_URL" --name devbox --token-file "$WORK/agent.token" \
    --ca-file "$WORK/ca.pem" --proxy "http://alice:open%20sesame@127.0.0.1:$SQUID_PORT" \
    --allow "127.0.0.1:$ECHO_PORT" >"$WORK/agent.out" 2>"$WORK/agent.err" &
AGENT_PID=$!
track $AGENT_PID
if wait_until 20 file_has "$WORK/agent.out" "^registered with $HUB_URL as devbox (active)$"; then
    pass "the agent registered with $HUB_URL through squid"
else
    fail "the agent did not register; its last words:"
    tail -n 20 "$WORK/agent.err" | sed 's/^/    /'
fi

expect_tunnel desktop-through-hub --remote "wss://127.0.0.1:$REMOTE_PORT/" --ca-file "$WORK/ca.pem" \
    --agent devbox

# squid logs a CONNECT when the tunnel closes.
kill "$AGENT_PID" 2>/dev/null || true
wait "$AGENT_PID" 2>/dev/null || true
if wait_until 10 file_has "$SQUID_DIR/access.log" "CONNECT hub.test:$REMOTE_PORT alice"; then
    pass "squid's access log shows alice's CONNECT hub.test:$REMOTE_PORT"
else
    fail "no CONNECT in squid's access log:"
    sed 's/^/    /' "$SQUID_DIR/access.log"
fi

log "agent with a wrong proxy password"
status=0
timeout 60 "$REMOTE_BIN" agent --hub "$HUB_URL" --name devbox --token-file "$WORK/agent.token" \
    --ca-file "$WORK/ca.pem" --proxy "http://alice:guessed@127.0.0.1:$SQUID_PORT" \
    --allow "127.0.0.1:$ECHO_PORT" >"$WORK/wrong.out" 2>"$WORK/wrong.err" || status=$?
message=$(grep '^wstunnel-remote: ' "$WORK/wrong.err" | tail -n 1 || true)
if [ "$status" -eq 1 ] && printf '%s\n' "$message" | grep -q "proxy authentication failed"; then
    pass "wrong proxy password: ${message#wstunnel-remote: }"
else
    fail "wrong proxy password: expected exit 1 and a proxy message, got exit $status and:"
    tail -n 20 "$WORK/wrong.err" | sed 's/^/    /'
fi

finish
