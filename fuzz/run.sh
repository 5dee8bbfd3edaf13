#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a given time each, starting from the seed corpus
# in fuzz/corpus/TARGET. New inputs go to BUILD_DIR/fuzz-corpus/TARGET, so the repository's corpus
# changes only by hand; a crash, leak or violated property fails the run and leaves the input in
# BUILD_DIR/fuzz-artifacts.
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
failed=()
for target in "${targets[@]}"; do
    binary="$build_dir/bin/fuzz_$target"
    work_corpus="$build_dir/fuzz-corpus/$target"
    mkdir -p "$work_corpus"
    options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build_dir/fuzz-artifacts/$target-")
    [ -f "fuzz/$target.dict" ] && options+=(-dict="fuzz/$target.dict")
    echo "== fuzz_$target for ${seconds}s"
    # Quiet: the interesting lines are the final stats and any report.
    if ! "$binary" "${options[@]}" "$work_corpus" "fuzz/corpus/$target" \
        >"$build_dir/fuzz-artifacts/$target.log" 2>&1; then
        failed+=("$target")
        tail -n 60 "$build_dir/fuzz-artifacts/$target.log"
    else
        grep -E '^stat::(number_of_executed_units|new_units_added)' \
            "$build_dir/fuzz-artifacts/$target.log" | tr '\n' ' '
        echo
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (inputs in $build_dir/fuzz-artifacts)" >&2
    exit 1
fi
