#!/usr/bin/env bash
# User-space instructions per echo, counted by callgrind: a measure that the noise of a
# shared VM does not move (timings here spread by ±15% from run to run; these counts by
# under 1%). It counts only user space (the kernel's TCP work, most of an echo's cost, is
# not in it) and instructions are not time, so it guides work on our own code and does not
# replace benches/run.sh.
#
#   benches/callgrind.sh                     # every echo server, 20 B, one connection
#   SERVERS="ws-tokio peer_tokio_websockets" SIZE=1024 benches/callgrind.sh
#   MODE=broadcast benches/callgrind.sh      # our adapters, per broadcast delivery
#   MODE=connrate benches/callgrind.sh       # per connection: connect, upgrade, close
#
# One connection with one message in flight: every echo is one wake-up, one read and one
# write for every server, so that batching (which a slower server under callgrind would get
# more of) does not enter. Needs valgrind (callgrind_control, callgrind_annotate) and the
# binaries benches/run.sh builds (target/bench-bin).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/common.sh
. benches/common.sh
SIZE=${SIZE:-20}
SECONDS_RUN=${SECONDS_RUN:-4}
# MODE=broadcast: instructions per delivery of benches/run.sh's broadcast load (1,000
# receivers, 64 B, 16 in flight), counted from the moment every connection is up; our
# adapters only (the peers have no broadcast).
# MODE=connrate: instructions per connection cycle of the connrate load (connect, upgrade,
# close handshake, RST), four at a time, counted from the load generator's start.
MODE=${MODE:-echo}
SETTLE=${SETTLE:-8}
# peer_tungstenite is left out: with one connection it echoes only ~200 messages/s under
# callgrind, so its count is not comparable.
if [ "$MODE" = broadcast ]; then
    SERVERS=${SERVERS:-"ws-tokio ws-async-std ws-smol"}
else
    SERVERS=${SERVERS:-"ws-tokio ws-async-std ws-smol peer_fastwebsockets peer_tokio_websockets"}
fi
WORK=$(mktemp -d /tmp/ws-callgrind.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
[ -x "$BIN/load" ] || { echo "run benches/run.sh first (it builds $BIN)" >&2; exit 1; }

port=19700
what=echo whats=echoes
[ "$MODE" = broadcast ] && what=delivery whats=deliveries
[ "$MODE" = connrate ] && what=cycle whats=cycles
printf '| server | %s | instructions | instructions per %s |\n|---|---|---|---|\n' "$whats" "$what"
for name in $SERVERS; do
    server_cmd "$name" || continue
    port=$((port + 1))
    # Instrumentation starts off: start-up and the handshake are not counted.
    # Pinned as in benches/run.sh (server on core 0, load on core 1): how many broadcasts a
    # receiver collects per write depends on the two not sharing a core.
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/$name.out" \
        "${cmd[@]}" --listen "127.0.0.1:$port" >/dev/null 2>"$WORK/$name.log" &
    pid=$!
    wait_port "$port" || true
    sleep 1
    if [ "$MODE" = broadcast ]; then
        # Counted over the load generator's own window: from 3 s after every connection is
        # up (how many broadcasts a receiver collects per write settles by then) for
        # SECONDS_RUN, divided by the deliveries it counted in that window. The switches
        # follow its "connected" line within ~0.1 s, a few percent of the window.
        taskset -c 1 "$BIN/load" --target "127.0.0.1:$port" --mode broadcast --connections 1000 --size 64 \
            --inflight 16 --duration "$SECONDS_RUN" --warmup "$SETTLE" >"$WORK/load.out" 2>"$WORK/load.err" &
        load=$!
        for _ in $(seq 1200); do grep -q connected "$WORK/load.err" && break; sleep 0.05; done
        sleep "$SETTLE"
        callgrind_control -i on "$pid" >/dev/null 2>&1
        sleep "$SECONDS_RUN"
        callgrind_control -i off "$pid" >/dev/null 2>&1
        wait "$load" || true
        out=$(cat "$WORK/load.out")
    elif [ "$MODE" = connrate ]; then
        # No warm-up: the cycles counted are all those made while counting.
        callgrind_control -i on "$pid" >/dev/null 2>&1
        out=$(taskset -c 1 "$BIN/load" --target "127.0.0.1:$port" --mode connrate --connections 4 \
            --duration "$SECONDS_RUN" --warmup 0 2>/dev/null)
    else
        callgrind_control -i on "$pid" >/dev/null 2>&1
        out=$(taskset -c 1 "$BIN/load" --target "127.0.0.1:$port" --mode echo --connections 1 --size "$SIZE" \
            --inflight 1 --duration "$SECONDS_RUN" --warmup 0.5 2>/dev/null)
    fi
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    field=total
    [ "$MODE" = echo ] || field=count
    echoes=$(printf '%s\n' "$out" | python3 -c "import json,sys; print(next(json.loads(l) for l in sys.stdin if l.startswith('{'))['$field'])")
    total=0
    for f in "$WORK/$name.out".*; do
        n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' | head -1)
        [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt "$total" ] && total=$n
    done
    printf '| %s | %s | %s | %s |\n' "$name" "$echoes" "$total" "$((total / echoes))"
done
