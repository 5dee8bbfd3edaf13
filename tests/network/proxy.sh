#!/usr/bin/env bash
# The tunnel through squid with Basic authentication as the only way out, given by --proxy and
# by https_proxy; wrong or missing proxy credentials reported as a proxy problem.
source "$(dirname "$0")/lib.sh"
need openssl socat ss squid htpasswd
SQUID_AUTH=/usr/lib/squid/basic_ncsa_auth
[ -x "$SQUID_AUTH" ] || { echo "missing $SQUID_AUTH: run scripts/install-deps.sh test"; exit 1; }

make_ca ca
make_cert server ca "DNS:tunnel.test" serverAuth
echo "net-test-token" >"$WORK/token"
start_echo

if getent hosts tunnel.test >/dev/null; then
    echo "tunnel.test resolves on this machine; the test needs it to be known to squid only"
    exit 1
fi

log "squid with Basic authentication"
SQUID_DIR="$WORK/squid"
mkdir -p "$SQUID_DIR"
SQUID_PORT=$(free_port)
sed -e "s#@PORT@#$SQUID_PORT#g" -e "s#@DIR@#$SQUID_DIR#g" "$(dirname "$0")/squid.conf.in" \
    >"$SQUID_DIR/squid.conf"
echo "127.0.0.1 tunnel.test" >"$SQUID_DIR/hosts"
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

start_remote behind-proxy --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key"
TUNNEL_URL="wss://tunnel.test:$REMOTE_PORT/"
PROXY="http://alice:open%20sesame@127.0.0.1:$SQUID_PORT"

expect_tunnel proxy-option --remote "$TUNNEL_URL" --ca-file "$WORK/ca.pem" --proxy "$PROXY"
if wait_until 10 file_has "$SQUID_DIR/access.log" "CONNECT tunnel.test:$REMOTE_PORT alice"; then
    pass "squid's access log shows alice's CONNECT tunnel.test:$REMOTE_PORT"
else
    fail "no CONNECT in squid's access log:"
    sed 's/^/    /' "$SQUID_DIR/access.log"
fi

start_remote plain-behind-proxy
expect_tunnel proxy-plain-ws --remote "ws://tunnel.test:$REMOTE_PORT/" --proxy "$PROXY"

https_proxy="$PROXY" expect_tunnel proxy-environment --remote "$TUNNEL_URL" --ca-file "$WORK/ca.pem"

expect_refusal wrong-password "proxy authentication failed: proxy http://127.0.0.1:$SQUID_PORT rejected the credentials of user 'alice'" \
    --remote "$TUNNEL_URL" --ca-file "$WORK/ca.pem" \
    --proxy "http://alice:guessed@127.0.0.1:$SQUID_PORT"
expect_refusal no-credentials "proxy authentication failed: proxy http://127.0.0.1:$SQUID_PORT requires a user name and password" \
    --remote "$TUNNEL_URL" --ca-file "$WORK/ca.pem" --proxy "http://127.0.0.1:$SQUID_PORT"

finish
