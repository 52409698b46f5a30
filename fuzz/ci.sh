#!/usr/bin/env bash
# CI fuzzing: builds every target once, seeds the corpora, runs each target for a bounded
# time, one after another, and fails on any crash, leak, timeout or OOM, printing the
# reproducer's path, its bytes (xxd and base64) and its decoded form.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated subset of targets (default: all)
#   FUZZ_JOBS      unused by design: targets run one at a time (CI machines are small)
set -uo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ALL_TARGETS="frame_header frame_unpack_roundtrip handshake_request handshake_response extensions_header inflate server_bytes connection_ops"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
# -O: optimized; -a: with debug assertions (overflow checks, debug_assert!), as the
# invariants are asserts anyway. Same flags for build and run, so run does not rebuild.
FLAGS=(-O -a)
# Per-input timeout (a hang is a failure), memory caps (a single allocation over 512 MiB
# or a resident set over 2 GiB is a failure: every target runs with small limits).
LIBFUZZER=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1)

declare -A DICT=([handshake_request]=dict/http.dict [handshake_response]=dict/http.dict [server_bytes]=dict/http.dict [extensions_header]=dict/extensions.dict)

start=$(date +%s)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi

echo "== build (cargo +nightly fuzz build ${FLAGS[*]})"
cargo +nightly fuzz build "${FLAGS[@]}" || exit 1

echo "== seeds"
./seeds.sh || exit 1

failed=()
summary=()
marker=$(mktemp)
for target in $TARGETS; do
    echo "== fuzz $target for ${FUZZ_SECONDS}s"
    mkdir -p "corpus/$target" "artifacts/$target"
    extra=()
    [ -n "${DICT[$target]:-}" ] && extra+=("-dict=${DICT[$target]}")
    log=$(mktemp)
    touch "$marker"
    cargo +nightly fuzz run "${FLAGS[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" "${LIBFUZZER[@]}" "${extra[@]}" >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    summary+=("$(printf '%-24s %8s exec/s %12s execs %6s corpus  exit %s' "$target" "${rate:-?}" "${execs:-?}" "$corpus" "$status")")
    grep -E '^#[0-9]+ +DONE|^Done [0-9]+ runs' "$log" | tail -2
    # Reproducers written by this run (slow-unit-* are not failures).
    mapfile -t repros < <(find "artifacts/$target" -type f -newer "$marker" ! -name 'slow-unit-*' 2>/dev/null)
    if [ "$status" -ne 0 ] || [ "${#repros[@]}" -gt 0 ]; then
        failed+=("$target")
        echo "!! $target FAILED (exit $status); libFuzzer's report:"
        grep -v -E '^#[0-9]+ +(pulse|NEW|REDUCE|INITED)|^INFO:' "$log" | tail -60
        for repro in "${repros[@]}"; do
            echo "!! reproducer: fuzz/$repro ($(wc -c <"$repro") bytes)"
            echo "-- xxd:"
            if command -v xxd >/dev/null; then xxd "$repro" | head -64; else od -A x -t x1z "$repro" | head -64; fi
            echo "-- base64:"
            base64 -w 0 "$repro"
            echo
            echo "-- as the target reads it (cargo fuzz fmt):"
            cargo +nightly fuzz fmt "${FLAGS[@]}" "$target" "$repro" 2>&1 | grep -v -E '^\s+(Compiling|Finished|Running)' | head -80
            echo "-- reproduce: cd fuzz && cargo +nightly fuzz run ${FLAGS[*]} $target $repro"
        done
    fi
    rm -f "$log"
done
rm -f "$marker"

echo "== summary ($(($(date +%s) - start))s in all, ${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "!! failed: ${failed[*]}"
    exit 1
fi
echo "== all targets passed"
