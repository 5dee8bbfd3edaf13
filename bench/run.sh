#!/usr/bin/env bash
# WSTunnel benchmark: `bash bench/run.sh` (full, writes docs/PERFORMANCE.md) or
# `bash bench/run.sh --smoke` (tiny sizes, one round, no docs; exits non-zero if
# any path fails to start or to transfer). See bench/README.md.
#
# Does all set-up itself: installs dependencies (bench/install-deps.sh), builds
# our binaries in Release (build-release/) and the bench tools
# (build-release/bench-tools), then runs bench/bench.py. Everything runs on
# 127.0.0.1; every process started is stopped on exit.
#
# Options: --smoke, --skip-deps, --skip-build; --baseline-bin DIR (or the
# environment variable BENCH_BASELINE_BIN=DIR): DIR holds wstunnel and
# wstunnel-remote (and optionally tst_responsiveness) of an older build, measured
# as path ours-before next to ours and compared with it ("Before and after").
# Anything else goes to bench.py (e.g. --rounds 5, --paths direct,ours,
# --groups throughput,echo, --baseline-label TEXT).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
CALLER_DIR="$PWD"
cd "$ROOT"

SMOKE=0
SKIP_DEPS=0
SKIP_BUILD=0
BASELINE_DIR="${BENCH_BASELINE_BIN:-}"
PASS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1; PASS+=("$1") ;;
        --skip-deps) SKIP_DEPS=1 ;;
        --skip-build) SKIP_BUILD=1 ;;
        --baseline-bin)
            [ $# -ge 2 ] || { echo "bench/run.sh: --baseline-bin needs a directory" >&2; exit 2; }
            BASELINE_DIR="$2"; shift ;;
        --baseline-bin=*) BASELINE_DIR="${1#--baseline-bin=}" ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$HERE/run.sh"; exit 0 ;;
        *) PASS+=("$1") ;;
    esac
    shift
done

say() { printf '[bench/run.sh] %s\n' "$*"; }

if [ -n "$BASELINE_DIR" ]; then
    # A relative DIR is meant from where the script was called, not from the repository root.
    [ "${BASELINE_DIR#/}" != "$BASELINE_DIR" ] || BASELINE_DIR="$CALLER_DIR/$BASELINE_DIR"
    # Checked before the build, which can take minutes.
    for b in wstunnel-remote wstunnel; do
        [ -x "$BASELINE_DIR/$b" ] || { say "missing $BASELINE_DIR/$b (--baseline-bin)"; exit 1; }
    done
fi

WORK="$HERE/.work"
PIDFILE="$WORK/pids"
mkdir -p "$WORK"
DRIVER_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$DRIVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DRIVER_PID" 2>/dev/null || true
    fi
    # Backstop: process groups the driver started and did not stop (only those).
    if [ -f "$PIDFILE" ]; then
        while read -r pgid; do
            [[ "$pgid" =~ ^[0-9]+$ ]] || continue
            kill -KILL -- "-$pgid" 2>/dev/null || true
        done <"$PIDFILE"
        rm -f "$PIDFILE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# One benchmark at a time: runs share bench/.work and would disturb each other's
# figures. A second run waits for the first (bounded).
exec 9>"$WORK/run.lock"
if ! flock -n 9; then
    say "another benchmark run holds bench/.work/run.lock; waiting for it (at most 20 min)"
    flock -w 1200 9 || { say "gave up waiting for the other run"; exit 1; }
fi

# 1. dependencies
if [ "$SKIP_DEPS" -eq 0 ]; then
    bash "$HERE/install-deps.sh"
fi

# 2. builds
if [ "$SKIP_BUILD" -eq 0 ]; then
    say "building our binaries (Release) in build-release/"
    # The desktop app too: the GUI group measures its responsiveness at full speed. Only the
    # targets measured are built.
    cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSTUNNEL_GUI=ON -DWSTUNNEL_TESTS=ON >"$WORK/cmake-configure.log" 2>&1 \
        || { tail -n 30 "$WORK/cmake-configure.log"; say "configure failed (log: bench/.work/cmake-configure.log)"; exit 1; }
    cmake --build build-release --target wstunnel wstunnel-remote tst_responsiveness >"$WORK/cmake-build.log" 2>&1 \
        || { tail -n 40 "$WORK/cmake-build.log"; say "build failed (log: bench/.work/cmake-build.log)"; exit 1; }
    say "building bench tools in build-release/bench-tools/"
    cmake -S bench/tools -B build-release/bench-tools -G Ninja -DCMAKE_BUILD_TYPE=Release >"$WORK/tools-build.log" 2>&1 \
        && cmake --build build-release/bench-tools >>"$WORK/tools-build.log" 2>&1 \
        || { tail -n 30 "$WORK/tools-build.log"; say "bench tools build failed"; exit 1; }
fi
for b in build-release/bin/wstunnel-remote build-release/bin/wstunnel build-release/bin/tst_responsiveness build-release/bench-tools/benchtool; do
    [ -x "$b" ] || { say "missing $b"; exit 1; }
done
# Measure a snapshot: a build running meanwhile in build-release must not swap
# the binaries under a running benchmark.
rm -rf "$WORK/bin"
mkdir -p "$WORK/bin"
cp build-release/bin/wstunnel-remote build-release/bin/wstunnel build-release/bin/tst_responsiveness \
    build-release/bench-tools/benchtool "$WORK/bin/"
# The baseline is measured from a snapshot too, for the same reason.
rm -rf "$WORK/bin-baseline"
BASELINE_ARGS=()
if [ -n "$BASELINE_DIR" ]; then
    mkdir -p "$WORK/bin-baseline"
    cp "$BASELINE_DIR/wstunnel-remote" "$BASELINE_DIR/wstunnel" "$WORK/bin-baseline/"
    if [ -x "$BASELINE_DIR/tst_responsiveness" ]; then
        cp "$BASELINE_DIR/tst_responsiveness" "$WORK/bin-baseline/"
    else
        say "no tst_responsiveness in $BASELINE_DIR: the gui group measures ours only"
    fi
    say "baseline (ours-before): $BASELINE_DIR"
    # Before PASS, so a --baseline-label given on the command line wins.
    BASELINE_ARGS=(--baseline-bin "$WORK/bin-baseline" --baseline-label "$BASELINE_DIR")
fi

# 3. limits: 1,000 idle connections through forking socat need a few thousand fds
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
    ulimit -Hn 65536 2>/dev/null && ulimit -n 65536 || true
fi
say "open files limit: $(ulimit -n)"

# 4. measure
/usr/bin/python3 -B "$HERE/bench.py" --bin-dir "$WORK/bin" --benchtool "$WORK/bin/benchtool" \
    "${BASELINE_ARGS[@]}" "${PASS[@]}" &
DRIVER_PID=$!
set +e
wait "$DRIVER_PID"
rc=$?
set -e
DRIVER_PID=""
exit "$rc"
