# Shared by the script tests: result lines, logs, free ports and readiness lines. A script sets
# SCRIPT_NAME, STEP (what it is doing, for a failure) and RESULT (0 once it passed) first.

summary() {
    if [ "$RESULT" -eq 0 ]; then
        echo "$SCRIPT_NAME: PASS: $*"
    else
        echo "$SCRIPT_NAME: FAIL while $STEP: $*"
    fi
}
die() {
    summary "$*"
    exit 1
}
show_log() {
    local file=$1
    if [ -s "$file" ]; then
        echo "---- last lines of $(basename "$file") ----"
        tail -n 25 "$file"
    fi
}

# A port no TCP or UDP socket uses right now, below Linux's ephemeral range so that outgoing
# connections do not take it meanwhile.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000))
        if [ -z "$(ss -Htuan "sport = :$port")" ]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# wait_for_line FILE REGEX SECONDS PID: prints the first line of FILE matching REGEX (extended)
# once it appears; fails when SECONDS pass or the process PID ends first.
wait_for_line() {
    local file=$1 regex=$2 limit=$3 pid=$4 line
    for _ in $(seq 1 $((limit * 10))); do
        line=$(grep -E -m1 "$regex" "$file" 2>/dev/null || true)
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# not_ready NAME PID WHAT: the reason a readiness line did not come.
not_ready() {
    local name=$1 pid=$2 what=$3 status=0
    if kill -0 "$pid" 2>/dev/null; then
        die "$name printed no $what line within 15 s"
    fi
    wait "$pid" || status=$?
    die "$name exited with status $status before printing a $what line"
}

# stop_processes PID...: SIGTERM to each (empty arguments are skipped), then up to 5 s for each
# to end before SIGKILL, so that a process ignoring SIGTERM cannot hold the test up.
stop_processes() {
    local pid
    for pid in "$@"; do
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null
        fi
    done
    for pid in "$@"; do
        if [ -n "$pid" ]; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    return 0
}

# remove_work STATUS LOG...: after a failure (STATUS not 0) the last lines of each LOG; then
# $WORK is removed, unless KEEP_WORK is set.
remove_work() {
    local status=$1 log
    shift
    if [ -z "$WORK" ] || [ ! -d "$WORK" ]; then
        return 0
    fi
    if [ "$status" -ne 0 ]; then
        for log in "$@"; do
            show_log "$log"
        done
    fi
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
