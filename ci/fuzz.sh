#!/bin/sh
# Runs each libFuzzer target given (build/fuzz/fuzz_NAME) for FUZZ_SECS seconds (default 60),
# one after the other, from its seed corpus tests/fuzz/corpus/NAME/ (read only: what a run
# finds goes to build/fuzz/corpus/NAME/), with tests/fuzz/NAME.dict when there is one. A crash,
# a leak, a sanitizer report or a timeout fails the run, after the other targets, with the
# reproducer's path; `build/fuzz/fuzz_NAME REPRODUCER` replays it.
set -u
cd "$(dirname "$0")/.."
secs="${FUZZ_SECS:-60}"
failed=""
for bin in "$@"; do
    name="${bin##*/fuzz_}"
    seeds="tests/fuzz/corpus/$name"
    work="build/fuzz/corpus/$name"
    art="build/fuzz/artifacts/$name"
    mkdir -p "$work" "$art"
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/"
    [ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
    [ -d "$seeds" ] || seeds=""
    log="build/fuzz/$name.log"
    echo "fuzz: $name for ${secs}s" >&2
    if ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$bin" "$@" "$work" $seeds > "$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -1 >&2
    else
        repro="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
        tail -40 "$log" >&2
        echo "fuzz: $name FAILED; reproducer: ${repro:-none written (see $log)}" >&2
        failed="$failed $name"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed" >&2
    exit 1
fi
echo "fuzz: every target ran ${secs}s without a finding" >&2
