#!/usr/bin/env bash
# System calls per echo, counted by the kernel's tracepoints (`perf stat`), without strace:
# strace stops the server at every call, which changes how an executor and its reactor
# thread take turns (the async-io adapters make ~2 more calls per echo under strace).
#
#   benches/syscalls.sh                                  # our adapters, 100 connections, 20 B
#   SERVERS="ws-smol peer_fastwebsockets" INFLIGHT=16 benches/syscalls.sh
#
# Needs perf with the syscalls tracepoints (root) and the binaries benches/run.sh builds.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/common.sh
. benches/common.sh
SIZE=${SIZE:-20}
CONNECTIONS=${CONNECTIONS:-100}
INFLIGHT=${INFLIGHT:-1}
SERVERS=${SERVERS:-"ws-tokio ws-async-std ws-smol peer_fastwebsockets peer_tokio_websockets"}
CALLS=(recvfrom sendto writev epoll_ctl epoll_wait epoll_pwait futex read)
[ -x "$BIN/load" ] || { echo "run benches/run.sh first (it builds $BIN)" >&2; exit 1; }
events=$(printf 'syscalls:sys_enter_%s,' "${CALLS[@]}")
WORK=$(mktemp -d /tmp/ws-syscalls.XXXXXX)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

port=19800
printf '| server | echoes/s |'; printf ' %s |' "${CALLS[@]}"; printf ' all |\n'
printf '|---|---|'; printf -- '---|%.0s' "${CALLS[@]}"; printf -- '---|\n'
for name in $SERVERS; do
    server_cmd "$name" || continue
    port=$((port + 1))
    taskset -c 0 "${cmd[@]}" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    wait_port "$port" || true
    taskset -c 1 "$BIN/load" --target "127.0.0.1:$port" --mode echo --connections "$CONNECTIONS" \
        --size "$SIZE" --inflight "$INFLIGHT" --duration 4 --warmup 0.5 >"$WORK/load.json" 2>/dev/null &
    load=$!
    sleep 1.5
    # Two seconds inside the load generator's measured window.
    perf stat -x, -e "${events%,}" -p "$pid" -- sleep 2 2>"$WORK/perf.csv"
    wait "$load"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    python3 - "$name" "$WORK/load.json" "$WORK/perf.csv" "${CALLS[@]}" <<'PY'
import json, sys
name, load, perf, calls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rate = next(json.loads(l) for l in open(load) if l.startswith("{"))["rate"]
counts = {}
for line in open(perf):
    fields = line.split(",")
    if len(fields) > 2 and fields[0].strip().isdigit():
        counts[fields[2].rsplit("sys_enter_", 1)[-1]] = int(fields[0]) / 2 / rate
cells = " | ".join("%.2f" % counts.get(c, 0) for c in calls)
print("| %s | %.0f | %s | %.2f |" % (name, rate, cells, sum(counts.values())))
PY
done
