#!/usr/bin/env bash
# Starts the real `wstunnel` under Xvfb with a system tray (trayer), checks that its tray icon is
# embedded and its window hidden (--minimized), that a second launch exits at once and makes the
# first show its window, that closing the window keeps the app in the tray, and that SIGTERM
# ends it cleanly.
# Usage: single_instance_test.sh BIN_DIR
set -euo pipefail

bin_dir=${1:?usage: $0 BIN_DIR}
if [ -z "${WSTUNNEL_UNDER_XVFB:-}" ]; then
    for tool in Xvfb trayer xdotool xwininfo python3; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
    done
    exec env WSTUNNEL_UNDER_XVFB=1 "$(dirname "$0")/../support/with-xvfb.sh" 1280x800x24 "$0" "$@"
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
export XDG_RUNTIME_DIR=$work/run WSTUNNEL_SECRET_BACKEND=file QT_QPA_PLATFORM=xcb
mkdir -m 700 "$work/run"
# Without a session bus Qt uses the XEmbed tray that trayer provides.
unset DBUS_SESSION_BUS_ADDRESS

fail() {
    echo "FAIL: $*"
    echo "--- first instance log"; cat "$work/first.log" 2>/dev/null || true
    echo "--- trayer log"; cat "$work/trayer.log" 2>/dev/null || true
    exit 1
}

# Polls a command for up to ten seconds.
wait_for() {
    for _ in $(seq 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

tray_has_icon() { xwininfo -root -tree | grep -q '("wstunnel" "wstunnel")'; }
window_visible() { xdotool search --onlyvisible --name '^WSTunnel$'; }

trayer --edge top --align right --widthtype pixel --width 120 --height 32 \
    --transparent false >"$work/trayer.log" 2>&1 &
pids+=($!)
wait_for xdotool search --class trayer || fail "trayer did not start"

"$bin_dir/wstunnel" --minimized >"$work/first.log" 2>&1 &
first=$!
pids+=("$first")
wait_for tray_has_icon || fail "no WSTunnel icon in the system tray"
echo "tray icon embedded"
window_visible && fail "the window shows although started with --minimized"

start=$(date +%s%N)
timeout 10 "$bin_dir/wstunnel" >"$work/second.log" 2>&1 || fail "second launch did not exit 0"
echo "second launch exited 0 after $((($(date +%s%N) - start) / 1000000)) ms"
wait_for window_visible || fail "the first instance did not show its window"
echo "first instance raised its window"
kill -0 "$first" || fail "the first instance is gone"

# Closing the window as a window manager would leaves the app running in the tray.
window=$(xdotool search --onlyvisible --name '^WSTunnel$' | head -1)
python3 "$(dirname "$0")/wm_close.py" "$window"
wait_for bash -c '! xdotool search --onlyvisible --name "^WSTunnel$"' ||
    fail "closing the window did not hide it"
kill -0 "$first" || fail "closing the window ended the app although it has a tray icon"
tray_has_icon || fail "the tray icon went away"
echo "closing the window keeps the app in the tray"
timeout 10 "$bin_dir/wstunnel" >>"$work/second.log" 2>&1 || fail "third launch did not exit 0"
wait_for window_visible || fail "the window did not come back from the tray"

kill -TERM "$first"
status=0
wait "$first" || status=$?
[ "$status" -eq 0 ] || fail "first instance exited with $status after SIGTERM"
echo "PASS"
