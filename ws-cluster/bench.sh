#!/usr/bin/env bash
# Fan-out bench: publish to SUBSCRIBERS connections (default 10,000) of one topic,
#   1. on one node (no Redis);
#   2. across three nodes sharing a redis-server (SUBSCRIBERS/3 on each, round-robin),
#      published on the first node.
# The servers are ws-cluster's `fanout_server` example (ws-tokio), one process per node;
# the clients are the `fanout_client` example, one single-threaded process of raw
# WebSocket connections. For each scenario: p50/p99/max over ROUNDS publishes, one at a
# time, of the time from sending `publish:` to the last subscriber having the message, and
# delivered messages per second over a burst of BURST publishes written at once.
#
#   ws-cluster/bench.sh                      # SUBSCRIBERS=10000 ROUNDS=200 BURST=100 SIZE=64
#   SUBSCRIBERS=1000 ROUNDS=50 ws-cluster/bench.sh
#
# Builds in release. Needs redis-server and python3 (free ports). Everything listens on
# 127.0.0.1; every process started is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SUBSCRIBERS=${SUBSCRIBERS:-10000}
ROUNDS=${ROUNDS:-200}
BURST=${BURST:-100}
SIZE=${SIZE:-64}

# 10,000 sockets in one process: raise the soft limit on open files to the hard one (the
# servers and the client inherit it).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SUBSCRIBERS + 100)) ]; then
  echo "open files limited to $(ulimit -n): too few for $SUBSCRIBERS connections" >&2
  exit 1
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build -q --release -p ws-cluster --example fanout_server --example fanout_client
bin=target/release/examples
logs=target/fanout-bench
mkdir -p "$logs"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# node NAME ARGS...: starts a fanout_server on a free port; sets $addr.
node() {
  local log="$logs/$1.log"; shift
  "$bin/fanout_server" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    if addr=$(grep -m1 -oE 'listening on [0-9.]+:[0-9]+' "$log" 2>/dev/null | grep -oE '[0-9.]+:[0-9]+$'); then return 0; fi
    sleep 0.05
  done
  echo "fanout_server $* did not start:" >&2; cat "$log" >&2; return 1
}

# client ADDRS: runs the load client against the comma-separated nodes; prints its line.
client() {
  "$bin/fanout_client" --connect "$1" --subscribers "$SUBSCRIBERS" --rounds "$ROUNDS" --burst "$BURST" --size "$SIZE"
}

results=()
# The machine may be shared: say how busy it was.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "== one node, $SUBSCRIBERS subscribers" >&2
node one
results+=("$(client "$addr")")
echo "${results[-1]}" >&2
cleanup; pids=()

echo "== three nodes sharing a redis-server, $SUBSCRIBERS subscribers in all" >&2
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$logs/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then break; fi
  sleep 0.05
done
addrs=()
for i in 1 2 3; do
  node "node$i" --redis "redis://127.0.0.1:$redis_port/"
  addrs+=("$addr")
done
results+=("$(client "$(IFS=,; echo "${addrs[*]}")")")
echo "${results[-1]}" >&2
cleanup; pids=()

echo
echo "$(date -u '+%F %T UTC'), $(nproc) CPUs, load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| scenario | subscribers | payload | p50 to last subscriber | p99 | max | burst of $BURST: delivered/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for line in "${results[@]}"; do
  # shellcheck disable=SC2086 # key=value words
  declare $line
  # shellcheck disable=SC2154 # set by declare
  label=$([ "$nodes" = 1 ] && echo "1 node" || echo "$nodes nodes + Redis")
  # shellcheck disable=SC2154
  printf '| %s | %s | %s B | %s ms | %s ms | %s ms | %s (%s ms) |\n' "$label" "$subscribers" "$size" \
    "$p50_ms" "$p99_ms" "$max_ms" "$(printf "%'d" "$delivered_per_s" 2>/dev/null || echo "$delivered_per_s")" "$burst_ms"
done
