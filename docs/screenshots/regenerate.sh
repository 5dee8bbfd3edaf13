#!/usr/bin/env bash
# Regenerates the README screenshots (main window, mapping editor, tray menu) from the real app
# under Xvfb, with a system tray (trayer) and demo traffic on loopback.
# Usage: docs/screenshots/regenerate.sh [BUILD_DIR]   (default: build)
# Needs: xvfb trayer xdotool x11-utils imagemagick python3 (scripts/install-deps.sh test)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "${1:-$here/../../build}" && pwd)
if [ -z "${WSTUNNEL_UNDER_XVFB:-}" ]; then
    exec env WSTUNNEL_UNDER_XVFB=1 "$here/../../tests/support/with-xvfb.sh" 1400x860x24 "$0" "$build_dir"
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # The app saves on its way out: let it finish before its config goes.
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
export XDG_RUNTIME_DIR=$work/run WSTUNNEL_SECRET_BACKEND=file QT_QPA_PLATFORM=xcb LANG=C.UTF-8
mkdir -p -m 700 "$work/run" "$work/config/wstunnel"
unset DBUS_SESSION_BUS_ADDRESS

wait_for() {
    for _ in $(seq 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for: $*" >&2
    return 1
}

python3 "$here/traffic.py" serve "$work/echo-port" &
pids+=($!)
wait_for test -s "$work/echo-port"
echo_port=$(cat "$work/echo-port")

cat >"$work/config/wstunnel/profile.json" <<JSON
{
  "format": "wstunnel-profile", "version": 1,
  "remotes": [
    {"id": "this-computer", "name": "This computer", "builtIn": true},
    {"id": "dev", "name": "Dev server", "url": "wss://devbox.invalid/tunnel",
     "proxy": {"mode": "manual", "url": "http://proxy.corp.invalid:3128"}}
  ],
  "mappings": [
    {"id": "m1", "name": "Echo service", "remote": "this-computer", "direction": "local",
     "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 17007, "targetHost": "127.0.0.1",
     "targetPort": $echo_port, "enabled": true},
    {"id": "m2", "name": "Web preview", "remote": "this-computer", "direction": "local",
     "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 18080, "targetHost": "localhost",
     "targetPort": 8080, "enabled": true},
    {"id": "m6", "name": "Debug callback", "remote": "this-computer",
     "direction": "reverse", "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 19000,
     "targetHost": "127.0.0.1", "targetPort": 8080, "enabled": true},
    {"id": "m3", "name": "PostgreSQL (dev)", "remote": "dev", "direction": "local",
     "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 15432, "targetHost": "db.internal",
     "targetPort": 5432, "enabled": true},
    {"id": "m4", "name": "Redis (dev)", "remote": "dev", "direction": "local",
     "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 16379, "targetHost": "redis.internal",
     "targetPort": 6379, "enabled": false},
    {"id": "m5", "name": "Kafka (dev)", "remote": "dev", "direction": "local",
     "protocol": "tcp", "bindHost": "127.0.0.1", "bindPort": 19092, "targetHost": "kafka.internal",
     "targetPort": 9092, "enabled": false}
  ]
}
JSON

trayer --edge top --align right --widthtype pixel --width 120 --height 28 \
    --transparent false >/dev/null 2>&1 &
pids+=($!)
wait_for xdotool search --class trayer

"$build_dir/bin/wstunnel" >"$work/app.log" 2>&1 &
app=$!
pids+=($app)
wait_for xdotool search --onlyvisible --name '^WSTunnel$'
window=$(xdotool search --onlyvisible --name '^WSTunnel$' | head -1)
xdotool windowmove "$window" 10 40
wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/17007"

python3 "$here/traffic.py" send 17007 40 &
pids+=($!)
sleep 4
# The first mapping, the busy one, is selected: the connections view and graph show its traffic.
xdotool windowfocus --sync "$window"
sleep 12
import -window "$window" "$here/main-window.png"

xdotool key --clearmodifiers F2
wait_for xdotool search --onlyvisible --name '^Edit Mapping'
dialog=$(xdotool search --onlyvisible --name '^Edit Mapping' | head -1)
# Point the listening port at one that is taken, to show the inline check and its suggestion.
xdotool key --clearmodifiers Tab Tab Tab Tab ctrl+a
xdotool type --delay 20 "127.0.0.1:$echo_port"
sleep 0.5
import -window "$dialog" "$here/mapping-editor.png"
xdotool key --clearmodifiers Escape

# The tray icon is the "wstunnel" window inside trayer's panel; right-click opens its menu.
read -r x y < <(xwininfo -root -tree | awk '/\("wstunnel" "wstunnel"\)/ {
    split($0, parts, "+"); split(parts[1], size, " "); split(size[length(size)], wh, "x");
    if (wh[1] <= 64) { print parts[4] + 8, parts[5] + 8; exit } }')
xdotool windowunmap "$window"
xdotool mousemove "$x" "$y" click 3
sleep 1
import -window root -crop 520x240+880+0 +repage "$here/tray-menu.png"
xdotool key Escape

# The same window in German at its default size: the whole tool bar fits, nothing in its overflow.
kill "$app"
wait "$app" || true
rm -f "$work/config/wstunnel/settings.ini"
LANG=de_DE.UTF-8 LANGUAGE=de "$build_dir/bin/wstunnel" >"$work/app-de.log" 2>&1 &
pids+=($!)
wait_for xdotool search --onlyvisible --name '^WSTunnel$'
window=$(xdotool search --onlyvisible --name '^WSTunnel$' | head -1)
xdotool windowmove "$window" 10 40
sleep 3
import -window "$window" "$here/main-window-de.png"
echo "screenshots written to $here"
