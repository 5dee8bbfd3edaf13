#!/usr/bin/env bash
# Published ports of a hub (--publish): plain TCP clients of a port on the hub reach a server
# behind an agent. HTTP/2 from nghttp to nghttpd (the shape of gRPC: one long connection, many
# streams, both directions at once), with the bodies checked, and plain echo. The hub starts
# before the agent: a published port waits for its agent, then follows the active one.
source "$(dirname "$0")/lib.sh"
need socat ss nghttp nghttpd sha256sum

echo "net-desktop-token" >"$WORK/token"
echo "net-agent-token" >"$WORK/agent.token"
echo "net-agent-token devbox" >"$WORK/agents.tokens"
start_echo

log "nghttpd (h2c) with a 3 MiB and a small file"
mkdir -p "$WORK/docroot"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/docroot/large.bin"
echo "hello over h2" >"$WORK/docroot/hello.txt"
H2_PORT=$(free_port)
nghttpd --no-tls --address=127.0.0.1 -d "$WORK/docroot" "$H2_PORT" \
    >"$WORK/nghttpd.out" 2>"$WORK/nghttpd.err" &
track $!
wait_until 10 port_listening "$H2_PORT" || { echo "nghttpd did not start"; exit 1; }

log "hub publishing both, then the agent"
H2_PUBLIC=$(free_port)
ECHO_PUBLIC=$(free_port)
start_remote hub hub --agent-token-file "$WORK/agents.tokens" \
    --publish "127.0.0.1:$H2_PUBLIC:devbox:127.0.0.1:$H2_PORT" \
    --publish "$ECHO_PUBLIC:devbox:127.0.0.1:$ECHO_PORT"
for port in "$H2_PUBLIC" "$ECHO_PUBLIC"; do
    if file_has "$WORK/hub.out" "^publishing 127.0.0.1:$port -> "; then
        pass "the hub prints 'publishing 127.0.0.1:$port -> …'"
    else
        fail "no publishing line for port $port:"
        sed 's/^/    /' "$WORK/hub.out"
    fi
done
"$REMOTE_BIN" agent --hub "$REMOTE_URL" --name devbox --token-file "$WORK/agent.token" \
    --allow "127.0.0.1:$H2_PORT" --allow "127.0.0.1:$ECHO_PORT" \
    >"$WORK/agent.out" 2>"$WORK/agent.err" &
track $!
wait_until 20 file_has "$WORK/agent.out" "^registered with $REMOTE_URL as devbox (active)$" || {
    echo "the agent did not register:"
    cat "$WORK/agent.err"
    exit 1
}

log "HTTP/2 through the published port"
if nghttp -ns -m 4 "http://127.0.0.1:$H2_PUBLIC/large.bin" \
    >"$WORK/nghttp.out" 2>"$WORK/nghttp.err"; then
    pass "nghttp fetched large.bin four times on one HTTP/2 connection"
else
    fail "nghttp failed:"
    tail -n 20 "$WORK/nghttp.err" | sed 's/^/    /'
fi
# nghttp -s prints a line per stream: id, responseEnd, requestStart, process, code, size, path.
ok_streams=$(grep -cE '^ *[0-9]+ +\+[0-9.]+[mu]?s +\+[0-9.]+[mu]?s +[0-9.]+[mu]?s +200 .*/large\.bin$' \
    "$WORK/nghttp.out" || true)
if [ "$ok_streams" -eq 4 ]; then
    pass "four streams answered 200"
else
    fail "expected four streams with status 200, got $ok_streams:"
    sed 's/^/    /' "$WORK/nghttp.out"
fi
expected=$(sha256sum <"$WORK/docroot/large.bin" | cut -d' ' -f1)
got=$(nghttp "http://127.0.0.1:$H2_PUBLIC/large.bin" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$got" = "$expected" ]; then
    pass "the body of large.bin keeps its SHA-256 through the hub"
else
    fail "large.bin arrived with SHA-256 $got, expected $expected"
fi
answer=$(nghttp "http://127.0.0.1:$H2_PUBLIC/hello.txt" 2>/dev/null || true)
if [ "$answer" = "hello over h2" ]; then
    pass "hello.txt over HTTP/2"
else
    fail "hello.txt came back as '$answer'"
fi

log "plain echo through the published port"
if wait_until 10 echo_through "$ECHO_PUBLIC" "hello published"; then
    pass "echo through the published port"
else
    fail "no echo through 127.0.0.1:$ECHO_PUBLIC"
fi

finish
