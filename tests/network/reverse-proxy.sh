#!/usr/bin/env bash
# The tunnel behind nginx and HAProxy running packaging/examples: TLS terminated by the proxy,
# the tunnel under --path /tunnel, a gateway header required, and a 5 s idle timeout that the
# keepalive pings outlast.
source "$(dirname "$0")/lib.sh"
need openssl socat ss nginx haproxy

make_ca ca
make_cert server ca "DNS:localhost,IP:127.0.0.1" serverAuth
cat "$WORK/server.pem" "$WORK/server.key" >"$WORK/server-with-key.pem"
echo "net-test-token" >"$WORK/token"
GATEWAY_KEY="gateway-$RANDOM$RANDOM"
start_echo
start_remote behind --path /tunnel
BACKEND_PORT=$REMOTE_PORT

# Substitutes this test's ports, files and key into an example config; the idle timeout drops to
# 5 s so that a silent tunnel would be cut within the test.
instantiate() {
    sed -e "s#listen 443 ssl;#listen 127.0.0.1:$2 ssl;#" \
        -e "s#bind :443 ssl#bind 127.0.0.1:$2 ssl#" \
        -e "s#/etc/ssl/wstunnel/#$WORK/#g" \
        -e "s#127\.0\.0\.1:8080#127.0.0.1:$BACKEND_PORT#" \
        -e "s#change-me#$GATEWAY_KEY#" \
        -e "s#proxy_read_timeout 60s#proxy_read_timeout 5s#" \
        -e "s#timeout tunnel 60s#timeout tunnel 5s#" \
        "$EXAMPLES_DIR/$1"
}

start_nginx() {
    local dir="$WORK/nginx"
    mkdir -p "$dir/tmp"
    NGINX_PORT=$(free_port)
    instantiate nginx-wstunnel.conf "$NGINX_PORT" >"$dir/wstunnel.conf"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/wstunnel.conf;
}
CONF
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout" 2>&1 &
    track $!
    if ! wait_until 20 port_listening "$NGINX_PORT"; then
        echo "nginx did not start:"
        cat "$dir/stdout" "$dir/error.log"
        exit 1
    fi
}

start_haproxy() {
    HAPROXY_PORT=$(free_port)
    instantiate haproxy-wstunnel.cfg "$HAPROXY_PORT" >"$WORK/haproxy.cfg"
    haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
    track $!
    if ! wait_until 20 port_listening "$HAPROXY_PORT"; then
        echo "haproxy did not start:"
        cat "$WORK/haproxy.log"
        exit 1
    fi
}

# idle_connection NAME KEEPALIVE_SECONDS URL [CLIENT_OPTION...]: a client and one forwarded
# connection through it that has echoed once; its descriptor goes to IDLE_FDS.
idle_connection() {
    local name=$1 keepalive=$2 url=$3 fd line
    start_client "$name" --remote "$url" --ca-file "$WORK/ca.pem" \
        --header "X-Gateway-Key: $GATEWAY_KEY" --keepalive "$keepalive" "${@:4}"
    wait_until 20 echo_through "$FORWARD_PORT" warmup || fail "$name: no tunnel before idling"
    exec {fd}<>"/dev/tcp/127.0.0.1/$FORWARD_PORT"
    IDLE_FDS+=("$fd")
    printf 'before idle\n' >&"$fd"
    read -r -t 10 line <&"$fd" || line=""
    [ "$line" = "before idle" ] || fail "$name: no echo before idling"
}

# After the idle period: true when the connection on fd still echoes.
still_echoes() {
    local fd=$1 line=""
    (printf 'after idle\n' >&"$fd") 2>/dev/null || return 1
    read -r -t 10 line <&"$fd" || return 1
    [ "$line" = "after idle" ]
}

run_behind() {
    local proxy=$1 url=$2
    log "$proxy: header, path and refusals"
    expect_tunnel "$proxy-with-header" --remote "$url" --ca-file "$WORK/ca.pem" \
        --header "X-Gateway-Key: $GATEWAY_KEY"
    expect_refusal "$proxy-without-header" "refused the upgrade \(HTTP 403 Forbidden\).*--header" \
        --remote "$url" --ca-file "$WORK/ca.pem"
    expect_refusal "$proxy-wrong-header" "HTTP 403" --remote "$url" --ca-file "$WORK/ca.pem" \
        --header "X-Gateway-Key: guessed"
}

log "the remote serves only its --path"
expect_refusal wrong-path "no tunnel at this path \(HTTP 404\)" \
    --remote "ws://127.0.0.1:$BACKEND_PORT/elsewhere"
expect_tunnel right-path --remote "ws://127.0.0.1:$BACKEND_PORT/tunnel"

start_nginx
start_haproxy
run_behind nginx "wss://127.0.0.1:$NGINX_PORT/tunnel"
run_behind haproxy "wss://127.0.0.1:$HAPROXY_PORT/tunnel"

log "idle for 15 s behind proxies that cut tunnels silent for 5 s"
IDLE_FDS=()
idle_connection nginx-keepalive 2 "wss://127.0.0.1:$NGINX_PORT/tunnel"
idle_connection nginx-no-keepalive 60 "wss://127.0.0.1:$NGINX_PORT/tunnel" --resume-timeout 0
idle_connection haproxy-keepalive 2 "wss://127.0.0.1:$HAPROXY_PORT/tunnel"
idle_connection nginx-resume 20 "wss://127.0.0.1:$NGINX_PORT/tunnel"
# The idle period is what is being tested, not a wait for anything.
sleep 15
if still_echoes "${IDLE_FDS[0]}"; then
    pass "nginx: a connection idle for 15 s still works with --keepalive 2"
else
    fail "nginx: the connection died while idle despite --keepalive 2"
fi
if still_echoes "${IDLE_FDS[1]}"; then
    fail "nginx: with --keepalive 60 the idle connection survived; the 5 s timeout is not tested"
else
    pass "nginx: without frequent pings or resume the same idle connection is cut (control)"
fi
if still_echoes "${IDLE_FDS[2]}"; then
    pass "haproxy: a connection idle for 15 s still works with --keepalive 2"
else
    fail "haproxy: the connection died while idle despite --keepalive 2"
fi
if still_echoes "${IDLE_FDS[3]}"; then
    pass "nginx: at the default --keepalive the WebSocket cut while idle is resumed, and the \
connection idle for 15 s still works"
else
    fail "nginx: the connection died while idle although its session could be resumed"
fi

finish
