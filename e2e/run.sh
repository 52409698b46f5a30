#!/usr/bin/env bash
# End-to-end checks against every adapter's examples, over real TCP on 127.0.0.1:
#   - Python `websockets` and Node `ws` clients against `echo`, with and without compression;
#   - the rest of `echo`'s contract (broadcast:, --max-message-size, a clean stop with 1001
#     on SIGTERM and SIGINT, echoes compressed whenever deflate was agreed) and chat's close
#     with code and reason (e2e/echo_contract.py);
#   - ws-conformance (every family, --strict) against `echo --compression`;
#   - Chromium (playwright-core) against `chat`; Node `ws` against chat's server-side close;
#   - our Client (`conformance_client`) judged by `ws-conformance serve`;
#   - once (ws-tokio's build): Chromium against `cluster_chat` on two nodes sharing a
#     redis-server that the test starts on a free port.
# Needs: python3 with `websockets`, node with e2e/node_modules (npm install in e2e/),
# /usr/bin/chromium, redis-server. Exits non-zero on the first failure; kills every process it starts.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# start NAME BINARY ARGS...: runs a server on a free port and sets $addr to where it listens.
start() {
  local log="target/e2e/$1.log"; shift
  "$@" --listen 127.0.0.1:0 >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    if addr=$(grep -m1 -oE 'listening[^0-9]*[0-9.]+:[0-9]+' "$log" | grep -oE '[0-9.]+:[0-9]+$'); then return 0; fi
    sleep 0.05
  done
  echo "server $* did not start:"; cat "$log"; return 1
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (at most 10 s).
wait_port() {
  for _ in $(seq 1 200); do
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1"; return 1
}

mkdir -p target/e2e
cargo build -q -p ws-conformance
adapters=()
for adapter in ws-tokio ws-async-std ws-smol; do
  if [ -f "$adapter/examples/echo.rs" ] && [ -f "$adapter/examples/chat.rs" ] && [ -f "$adapter/examples/conformance_client.rs" ]; then
    # Each adapter's examples share names: build one adapter at a time and keep copies.
    cargo build -q -p "$adapter" --example echo --example chat --example conformance_client
    mkdir -p "target/e2e/$adapter"
    cp target/debug/examples/{echo,chat,conformance_client} "target/e2e/$adapter/"
    adapters+=("$adapter")
  else
    echo "== $adapter: no echo/chat example yet, skipped"
  fi
done

passed=0
for adapter in "${adapters[@]}"; do
  bin="target/e2e/$adapter"
  echo "== $adapter: Python websockets and Node ws against echo (compression off)"
  start "$adapter-echo-plain" "$bin/echo"
  python3 ws-proto/tests/python/echo_client.py "ws://$addr/"
  ECHO_URL="ws://$addr/" ECHO_COMPRESSION=0 node --test e2e/ws-client.test.mjs
  passed=$((passed + 2))

  echo "== $adapter: the same with compression and a subprotocol, and a server-side close from chat"
  start "$adapter-echo-deflate" "$bin/echo" --compression --subprotocol chat
  echo_addr=$addr
  start "$adapter-chat" "$bin/chat"
  python3 ws-proto/tests/python/echo_client.py "ws://$echo_addr/" --compression --subprotocol chat
  ECHO_URL="ws://$echo_addr/" ECHO_COMPRESSION=1 ECHO_SUBPROTOCOL=chat CHAT_URL="ws://$addr/chat" node --test e2e/ws-client.test.mjs
  passed=$((passed + 2))

  echo "== $adapter: echo's contract (broadcast:, message limit, SIGTERM/SIGINT) and chat's /bye"
  python3 e2e/echo_contract.py "$bin/echo" --chat "$bin/chat"
  passed=$((passed + 1))

  echo "== $adapter: ws-conformance --strict against echo --compression"
  # --strict: FAILED, NON-STRICT and UNIMPLEMENTED all fail; the summary lists each such case.
  target/debug/ws-conformance "ws://$echo_addr/" --strict --report-dir "target/e2e/$adapter-conformance"
  passed=$((passed + 1))

  echo "== $adapter: our Client judged by ws-conformance serve"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  target/debug/ws-conformance serve --listen "127.0.0.1:$port" --report-dir "target/e2e/serve" >"target/e2e/$adapter-serve.log" 2>&1 &
  pids+=($!)
  wait_port "$port"
  "$bin/conformance_client" --server "127.0.0.1:$port" --agent "$adapter" --compression
  python3 - "target/e2e/serve/$adapter/report.json" "target/e2e/$adapter-serve.log" <<'PY'
import json, os, sys, time
path = sys.argv[1]
# The judge writes the report after each case's closing handshake: wait for it to settle.
deadline = time.time() + 10
while time.time() < deadline and not os.path.exists(path):
    time.sleep(0.1)
report = json.load(open(path))
results = report["results"]
bad = [r for r in results if r["verdict"] in ("FAILED", "NON-STRICT", "UNIMPLEMENTED")]
for r in bad:
    print(f"{r['id']} {r['verdict']}: {r['reason']}")
print("client conformance:", dict(report["counts"]), "cases judged:", len(results))
# Every case must have been run: a client that skips cases (a failed upgrade) fails here.
sys.exit(1 if bad or len(results) < 281 else 0)
PY
  passed=$((passed + 1))

  echo "== $adapter: Chromium against chat"
  CHAT_BIN="$bin/chat" node --test e2e/chat.browser.test.mjs
  passed=$((passed + 1))
  cleanup; pids=()
done

# The cluster is the same shared core on every adapter: one build is enough.
echo "== ws-tokio: Chromium against cluster_chat, two nodes sharing one redis-server"
cargo build -q -p ws-tokio --example cluster_chat
mkdir -p target/e2e/cluster
cp target/debug/examples/cluster_chat target/e2e/cluster/
# The test starts (and kills) redis-server and both nodes itself; the trap covers node.
CLUSTER_CHAT_BIN=target/e2e/cluster/cluster_chat node --test e2e/cluster_chat.browser.test.mjs &
pids+=($!)
wait "${pids[-1]}"
passed=$((passed + 1))
cleanup; pids=()

echo "e2e: ${passed} passed, 0 failed"
