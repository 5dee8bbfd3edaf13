#!/usr/bin/env bash
# `make sanitize`, the CI's hardening step. One clang build without the GUI (WSTUNNEL_FUZZ=ON:
# AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage, tests on) serves three
# checks that would otherwise take a build each:
#   - its wstunnel and wstunnel-remote, and the GUI build's wstunnel-remote if there is one, load
#     no desktop library (the check of `make test-nogui`);
#   - the unit, integration and end-to-end tests, and the no-GUI build's gui-labelled ones, pass
#     with no sanitizer report;
#   - every fuzz target runs FUZZ_SECONDS from its corpus (fuzz/run.sh; 0 leaves them out).
# Then the tests that run the engine on its own thread, in a build with ThreadSanitizer.
# Both builds leave the GUI out: its widget tests would take longer than the rest together, and
# the engine's thread runs the same without them (`wstunnel --headless --profile`).
# Reports of the test binaries and of every binary they start go to log files, so a report in a
# child process fails the run even when its test would not notice.
# Usage: scripts/sanitize.sh [address|thread]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
build_type=${BUILD_TYPE:-RelWithDebInfo}
asan_dir=${ASAN_BUILD_DIR:-build-asan}
tsan_dir=${TSAN_BUILD_DIR:-build-tsan}
gui_build_dir=${BUILD_DIR:-build}
fuzz_seconds=${FUZZ_SECONDS:-60}
asan_cxx=${FUZZ_CXX:-clang++}
suppressions=$PWD/tests/sanitizers
# The tests that run the engine on its own thread: TunnelEngine directly, its mailbox, and
# `wstunnel --headless --profile`.
tsan_tests=(tst_tunnelengine tst_enginemailbox tst_headlessprofile)
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(address thread)

step_start=0
step() {
    step_start=$SECONDS
    echo "== $*"
}
step_done() {
    echo "-- $1: $(((SECONDS - step_start) / 60)) min $(((SECONDS - step_start) % 60)) s"
}

# Fails when any sanitizer wrote a report into the log directory $1.
check_reports() {
    local reports
    reports=$(find "$1" -type f -size +0 2>/dev/null)
    if [ -n "$reports" ]; then
        for report in $reports; do
            echo "---- $report"
            head -n 80 "$report"
        done
        echo "sanitizer reports in $1" >&2
        return 1
    fi
}

for kind in "${kinds[@]}"; do
    case "$kind" in
    address)
        step "ASan + UBSan + fuzzers, no GUI: build ($asan_dir, $asan_cxx)"
        cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
            -DCMAKE_CXX_COMPILER="$asan_cxx" -DWSTUNNEL_GUI=OFF -DWSTUNNEL_FUZZ=ON \
            -DWSTUNNEL_TESTS=ON
        cmake --build "$asan_dir" --parallel "$jobs"
        step_done "ASan build"
        step "Server binaries without desktop libraries"
        server_binaries=("$asan_dir/bin/wstunnel" "$asan_dir/bin/wstunnel-remote")
        [ -x "$gui_build_dir/bin/wstunnel-remote" ] &&
            server_binaries+=("$gui_build_dir/bin/wstunnel-remote")
        bash scripts/check-server-deps.sh "${server_binaries[@]}"
        step "ASan + UBSan: unit, integration and e2e tests"
        logs=$PWD/$asan_dir/sanitizer-reports
        rm -rf "$logs" && mkdir -p "$logs"
        # A small quarantine keeps the peak RSS that tst_udpflood bounds near an ordinary build's.
        # ASan and UBSan share one runtime and so one log_path.
        (cd "$asan_dir" &&
            ASAN_OPTIONS="log_path=$logs/report:detect_leaks=1:strict_string_checks=1:quarantine_size_mb=4" \
                LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0" \
                UBSAN_OPTIONS="log_path=$logs/report:print_stacktrace=1:halt_on_error=1:suppressions=$suppressions/ubsan.supp" \
                ctest -L 'unit|integration|e2e|gui' --output-on-failure --timeout 900 --parallel "$jobs")
        check_reports "$logs"
        step_done "ASan tests"
        if [ "$fuzz_seconds" -gt 0 ]; then
            step "Fuzz targets, ${fuzz_seconds} s each"
            bash fuzz/run.sh "$asan_dir" "$fuzz_seconds"
            step_done "fuzzing"
        fi
        ;;
    thread)
        step "ThreadSanitizer: build ($tsan_dir)"
        cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DWSTUNNEL_GUI=OFF \
            -DWSTUNNEL_SANITIZE=thread
        cmake --build "$tsan_dir" --parallel "$jobs" --target wstunnel wstunnel-remote \
            "${tsan_tests[@]}"
        step_done "TSan build"
        step "ThreadSanitizer: the engine on its own thread (${tsan_tests[*]})"
        logs=$PWD/$tsan_dir/sanitizer-reports
        rm -rf "$logs" && mkdir -p "$logs"
        # die_after_fork=0: QProcess forks the multi-threaded tests (QtTest's watchdog is a thread)
        # and ThreadSanitizer would otherwise stop a child that starts a thread before its exec.
        (cd "$tsan_dir" &&
            TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:suppressions=$suppressions/tsan.supp" \
                ctest -R "^($(IFS='|' && echo "${tsan_tests[*]}"))\$" --output-on-failure \
                    --timeout 900 --parallel "$jobs")
        check_reports "$logs"
        step_done "TSan tests"
        ;;
    *)
        echo "usage: $0 [address|thread]..." >&2
        exit 2
        ;;
    esac
done
