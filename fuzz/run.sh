#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a given time each (FUZZ_JOBS of them at once,
# default one per core), starting from the seed corpus in fuzz/corpus/TARGET. New inputs go to
# BUILD_DIR/fuzz-corpus/TARGET, so the repository's corpus changes only by hand; a crash, leak or
# violated property fails the run and leaves the input in BUILD_DIR/fuzz-artifacts.
# Usage: fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$1
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for corpus in fuzz/corpus/*/; do
        targets+=("$(basename "$corpus")")
    done
fi

mkdir -p "$build_dir/fuzz-artifacts"
# Runs one target; its summary line or, on a finding, the end of its log goes to TARGET.result,
# and TARGET.failed marks a finding.
fuzz_one() {
    local target=$1
    local binary="$build_dir/bin/fuzz_$target"
    local work_corpus="$build_dir/fuzz-corpus/$target"
    local log="$build_dir/fuzz-artifacts/$target.log"
    local result="$build_dir/fuzz-artifacts/$target.result"
    mkdir -p "$work_corpus"
    rm -f "$build_dir/fuzz-artifacts/$target.failed"
    local options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build_dir/fuzz-artifacts/$target-")
    [ -f "fuzz/$target.dict" ] && options+=(-dict="fuzz/$target.dict")
    # Quiet: the interesting lines are the final stats and any report.
    if ! "$binary" "${options[@]}" "$work_corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
        touch "$build_dir/fuzz-artifacts/$target.failed"
        tail -n 60 "$log" >"$result"
    else
        { grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" | tr '\n' ' '; echo; } \
            >"$result"
    fi
}

# FUZZ_JOBS targets at a time (default: one per core); each gets its SECONDS on a core of its own.
parallel=${FUZZ_JOBS:-$(nproc)}
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
        wait -n || true
    done
    echo "== fuzz_$target for ${seconds}s"
    fuzz_one "$target" &
done
wait
failed=()
for target in "${targets[@]}"; do
    echo "-- fuzz_$target: $(head -c 2000 "$build_dir/fuzz-artifacts/$target.result")"
    [ -f "$build_dir/fuzz-artifacts/$target.failed" ] && failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (inputs in $build_dir/fuzz-artifacts)" >&2
    exit 1
fi
