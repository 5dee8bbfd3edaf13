#!/usr/bin/env bash
# Runs a command under an X server of its own and stops the server afterwards. The display number
# is drawn at random from a wide range: `xvfb-run -a` and Xvfb's own search take the lowest free
# number, which concurrent runs race for, and a server exiting on a number that a new one has
# just taken removes the new one's socket. Xvfb reports the number (-displayfd) once it accepts
# clients; a number that turns out to be taken is retried with another.
# Usage: with-xvfb.sh WIDTHxHEIGHTxDEPTH COMMAND [ARGS...]
set -euo pipefail

screen=${1:?usage: $0 WIDTHxHEIGHTxDEPTH COMMAND [ARGS...]}
shift
command -v Xvfb >/dev/null || { echo "Xvfb is not installed" >&2; exit 77; }

log=$(mktemp)
xvfb_pid=""
stop_xvfb() {
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
    rm -f "$log"
}
trap stop_xvfb EXIT

display=""
for _ in 1 2 3 4 5; do
    candidate=$((200 + RANDOM % 20000))
    coproc XVFB {
        exec Xvfb ":$candidate" -displayfd 1 -screen 0 "$screen" -nolisten tcp -noreset 2>"$log"
    }
    xvfb_pid=$XVFB_PID
    if read -r -t 30 display <&"${XVFB[0]}" && [ "$display" = "$candidate" ]; then
        break
    fi
    display=""
    kill "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
    xvfb_pid=""
done
if [ -z "$display" ]; then
    echo "Xvfb did not start:" >&2
    cat "$log" >&2
    exit 1
fi
# Under load the first connection right after that report can still be turned away; a client
# that got through proves the server serves.
for _ in $(seq 100); do
    DISPLAY=":$display" xdpyinfo >/dev/null 2>&1 && break
    sleep 0.1
done
status=0
DISPLAY=":$display" "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -s "$log" ]; then
    echo "--- Xvfb :$display log" >&2
    cat "$log" >&2
fi
exit "$status"
