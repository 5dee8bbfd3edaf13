#!/usr/bin/env bash
# wss with a private CA, certificate and pin failures, mutual TLS and a SIGHUP certificate
# reload, between the real binaries on loopback.
source "$(dirname "$0")/lib.sh"
need openssl socat ss

make_ca ca
make_ca otherca
make_cert server ca "DNS:localhost,IP:127.0.0.1" serverAuth
make_cert wronghost ca "DNS:elsewhere.test" serverAuth
make_cert expired ca "DNS:localhost,IP:127.0.0.1" serverAuth -1
make_cert client ca "DNS:desktop" clientAuth
make_cert intruder otherca "DNS:desktop" clientAuth
echo "net-test-token" >"$WORK/token"
start_echo

log "command line"
status=0
"$REMOTE_BIN" --listen 127.0.0.1:0 --token-file "$WORK/token" --tls-cert "$WORK/server.pem" \
    >/dev/null 2>"$WORK/badopt.err" || status=$?
if [ "$status" -eq 2 ] && grep -q -- "--tls-key" "$WORK/badopt.err"; then
    pass "--tls-cert without --tls-key: exit 2"
else
    fail "--tls-cert without --tls-key: exit $status, $(cat "$WORK/badopt.err")"
fi
status=0
"$REMOTE_BIN" --listen 127.0.0.1:0 --token-file "$WORK/token" --tls-cert "$WORK/missing.pem" \
    --tls-key "$WORK/server.key" >/dev/null 2>"$WORK/badopt.err" || status=$?
if [ "$status" -eq 2 ] && grep -q "missing.pem" "$WORK/badopt.err"; then
    pass "unreadable --tls-cert: exit 2 naming the file"
else
    fail "unreadable --tls-cert: exit $status, $(cat "$WORK/badopt.err")"
fi

# bad_client_option PATTERN ARGS...: wstunnel exits 2 with a message matching PATTERN.
bad_client_option() {
    local pattern=$1 status=0
    shift
    "$CLIENT_BIN" --headless --token-file "$WORK/token" -L "127.0.0.1:0:127.0.0.1:$ECHO_PORT" "$@" \
        >/dev/null 2>"$WORK/badopt.err" || status=$?
    if [ "$status" -eq 2 ] && grep -Eq -- "$pattern" "$WORK/badopt.err"; then
        pass "wstunnel $*: exit 2"
    else
        fail "wstunnel $*: exit $status, $(cat "$WORK/badopt.err")"
    fi
}
bad_client_option "--ca-file.*wss://" --remote ws://127.0.0.1:1/ --ca-file "$WORK/ca.pem"
bad_client_option "missing.pem" --remote wss://127.0.0.1:1/ --ca-file "$WORK/missing.pem"
bad_client_option "--client-key" --remote wss://127.0.0.1:1/ --client-cert "$WORK/client.pem"
bad_client_option "--pin-sha256" --remote wss://127.0.0.1:1/ --pin-sha256 not-a-pin
bad_client_option "HOST:PORT" --remote wss://127.0.0.1:1/ --proxy socks5://127.0.0.1:1080
bad_client_option "Name: value" --remote wss://127.0.0.1:1/ --header "no colon here"
bad_client_option "--keepalive" --remote wss://127.0.0.1:1/ --keepalive 0

log "wss with a private CA"
start_remote tls --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key"
case "$REMOTE_URL" in wss://*) pass "remote announces $REMOTE_URL" ;; *) fail "remote announces $REMOTE_URL" ;; esac
fingerprint=$(cert_fingerprint "$WORK/server.pem")
expect_tunnel private-ca --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem"
expect_refusal unknown-ca "not trusted: .*issuer.*fingerprint $fingerprint.*--ca-file" \
    --remote "$REMOTE_URL"
expect_refusal wrong-ca "not trusted: .*fingerprint $fingerprint" \
    --remote "$REMOTE_URL" --ca-file "$WORK/otherca.pem"
expect_tunnel good-pin --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" \
    --pin-sha256 "$(public_key_pin "$WORK/server.pem")"
expect_refusal wrong-pin "does not match --pin-sha256.*fingerprint $fingerprint" \
    --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" --pin-sha256 "$(public_key_pin "$WORK/client.pem")"
if grep -q "session from" "$WORK/tls.err" && [ "$(grep -c "session from" "$WORK/tls.err")" -eq 2 ]; then
    pass "only the two trusting clients reached the upgrade"
else
    fail "expected exactly 2 sessions on the remote: $(grep -c "session from" "$WORK/tls.err" || true)"
fi

# --trust-fingerprint: the certificate the user checked, as openssl prints it or without colons
# in lower case, is trusted without its CA; another fingerprint is refused naming the real one.
expect_tunnel trusted-fingerprint --remote "$REMOTE_URL" --trust-fingerprint "$fingerprint"
expect_tunnel trusted-fingerprint-plain --remote "$REMOTE_URL" \
    --trust-fingerprint "$(printf '%s' "$fingerprint" | tr -d ':' | tr 'A-F' 'a-f')"
expect_refusal wrong-fingerprint "not trusted: .*fingerprint $fingerprint.*--trust-fingerprint" \
    --remote "$REMOTE_URL" --trust-fingerprint "$(cert_fingerprint "$WORK/client.pem")"
if grep -q "^wstunnel: TLS: the certificate of 127.0.0.1:$REMOTE_PORT is not trusted" \
    <(tail -n 1 "$WORK/wrong-fingerprint.err"); then
    pass "wrong-fingerprint: the refusal is the last line on stderr"
else
    fail "wrong-fingerprint: last line on stderr: $(tail -n 1 "$WORK/wrong-fingerprint.err")"
fi
bad_client_option "--trust-fingerprint" --remote wss://127.0.0.1:1/ --trust-fingerprint AB:CD
bad_client_option "--trust-fingerprint.*wss://" --remote ws://127.0.0.1:1/ \
    --trust-fingerprint "$fingerprint"

log "wrong host"
start_remote wronghost --tls-cert "$WORK/wronghost.pem" --tls-key "$WORK/wronghost.key"
expect_refusal wrong-host \
    "not trusted: .*host name did not match.*fingerprint $(cert_fingerprint "$WORK/wronghost.pem").*host name the certificate lists" \
    --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem"

log "expired certificate"
start_remote expired --tls-cert "$WORK/expired.pem" --tls-key "$WORK/expired.key"
expect_refusal expired-cert \
    "not trusted: .*expired.*fingerprint $(cert_fingerprint "$WORK/expired.pem").*must be renewed" \
    --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem"

start_remote plain
start_client wss-to-plain --remote "wss://127.0.0.1:$REMOTE_PORT/" --ca-file "$WORK/ca.pem"
if wait_until 20 file_has "$WORK/wss-to-plain.err" "closed the connection during the TLS handshake (does it serve wss?" &&
    file_has "$WORK/plain.err" "it speaks TLS, but this port serves plain ws://"; then
    pass "wss:// at a plain port: both ends say so at once"
else
    fail "wss:// at a plain port: no clear message"
fi
stop_client

log "mutual TLS"
start_remote mtls --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" \
    --client-ca "$WORK/ca.pem"
expect_tunnel mtls-good --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" \
    --client-cert "$WORK/client.pem" --client-key "$WORK/client.key"
expect_refusal mtls-none "requires a client certificate" \
    --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem"
expect_refusal mtls-other-ca "refused the client certificate .*intruder.pem" \
    --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" \
    --client-cert "$WORK/intruder.pem" --client-key "$WORK/intruder.key"
if grep -q "did not return a certificate" "$WORK/mtls.err" &&
    grep -q "during the TLS handshake: client certificate:" "$WORK/mtls.err"; then
    pass "the remote logs both refused clients"
else
    fail "the remote did not log the missing and the foreign client certificate"
fi

log "certificate reload on SIGHUP keeps sessions"
cp "$WORK/server.pem" "$WORK/live.pem"
cp "$WORK/server.key" "$WORK/live.key"
start_remote reload --tls-cert "$WORK/live.pem" --tls-key "$WORK/live.key"
start_client kept --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem"
wait_until 20 echo_through "$FORWARD_PORT" "before" || fail "reload: no tunnel before the reload"
make_cert renewed ca "DNS:localhost,IP:127.0.0.1" serverAuth
cp "$WORK/renewed.pem" "$WORK/live.pem"
cp "$WORK/renewed.key" "$WORK/live.key"
kill -HUP "$REMOTE_PID"
if wait_until 10 file_has "$WORK/reload.err" "reloaded the TLS certificate"; then
    pass "remote reloaded its certificate"
else
    fail "remote did not report the reload"
fi
if echo_through "$FORWARD_PORT" "after" && [ "$(grep -c "session from" "$WORK/reload.err")" -eq 1 ]; then
    pass "the session from before the reload still carries data"
else
    fail "the session did not survive the reload"
fi
stop_client
expect_tunnel renewed-pin --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" \
    --pin-sha256 "$(public_key_pin "$WORK/renewed.pem")"
expect_refusal old-pin "does not match --pin-sha256" --remote "$REMOTE_URL" \
    --ca-file "$WORK/ca.pem" --pin-sha256 "$(public_key_pin "$WORK/server.pem")"

log "SIGHUP with a broken certificate file keeps the one in use"
echo "not a certificate" >"$WORK/live.pem"
kill -HUP "$REMOTE_PID"
if wait_until 10 file_has "$WORK/reload.err" "kept the previous TLS certificate: .*live.pem"; then
    pass "remote reports the broken file and keeps its certificate"
else
    fail "remote did not report the broken certificate file: $(tail -n 3 "$WORK/reload.err")"
fi
expect_tunnel after-broken-reload --remote "$REMOTE_URL" --ca-file "$WORK/ca.pem" \
    --pin-sha256 "$(public_key_pin "$WORK/renewed.pem")"

finish
