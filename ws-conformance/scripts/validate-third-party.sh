#!/usr/bin/env bash
# Validates ws-conformance against implementations nobody here wrote: every family against
# the Python `websockets` and Node `ws` echo servers, and the server mode against their
# echo clients. Installs what it needs. Exits non-zero only if the suite itself crashes
# (exit status other than 0 = all fine / 1 = some case FAILED) or a report is missing:
# the third-party verdicts are recorded in README.md, not enforced here.
#
# usage: ws-conformance/scripts/validate-third-party.sh [OUT_DIR]   (default target/conformance)
set -uo pipefail
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$SCRIPTS/../.." && pwd)"
OUT="${1:-$ROOT/target/conformance}"
mkdir -p "$OUT"

python3 -m pip install --quiet --disable-pip-version-check websockets || exit 1
(cd "$SCRIPTS" && npm install --no-audit --no-fund --silent ws) || exit 1
(cd "$ROOT" && cargo build --release -p ws-conformance) || exit 1
BIN="$ROOT/target/release/ws-conformance"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    return 1
}

STATUS=0
check() { # name rc
    if [ "$2" -gt 1 ]; then
        echo "!! $1: ws-conformance exited with $2 (crash or usage error)" >&2
        STATUS=1
    fi
}

run_server() { # name command... (the port is appended)
    local name=$1 port
    shift
    port=$(free_port)
    "$@" "$port" 2>/dev/null &
    PIDS+=($!)
    wait_port "$port" || { STATUS=1; return; }
    echo "== $name (ws://127.0.0.1:$port/)"
    timeout 1800 "$BIN" "ws://127.0.0.1:$port/" --report-dir "$OUT/$name" 2>/dev/null | tee "$OUT/$name.txt"
    check "$name" "${PIPESTATUS[0]}"
    [ -s "$OUT/$name/report.json" ] || { echo "!! $name: no report" >&2; STATUS=1; }
}

run_server python-websockets python3 "$SCRIPTS/echo_server.py"
run_server node-ws node "$SCRIPTS/echo_server.js"

port=$(free_port)
"$BIN" serve --listen "127.0.0.1:$port" --report-dir "$OUT/clients" 2>"$OUT/serve.log" &
SERVE=$!
PIDS+=($SERVE)
wait_port "$port" || STATUS=1
echo "== clients (ws://127.0.0.1:$port/)"
timeout 1800 python3 "$SCRIPTS/echo_client.py" "ws://127.0.0.1:$port" python-websockets
timeout 1800 node "$SCRIPTS/echo_client.js" "ws://127.0.0.1:$port" node-ws
kill "$SERVE" 2>/dev/null
wait "$SERVE" 2>/dev/null
for agent in python-websockets node-ws; do
    if [ -s "$OUT/clients/$agent/report.json" ]; then
        python3 - "$OUT/clients/$agent/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["peer"], dict((v, n) for v, n in r["counts"]))
for c in r["results"]:
    if c["verdict"] not in ("OK", "INFORMATIONAL"):
        print(f'  {c["id"]:<8} {c["verdict"]:<13} {c["reason"]}')
PY
    else
        echo "!! client $agent: no report" >&2
        STATUS=1
    fi
done
if grep -q "panicked" "$OUT/serve.log"; then
    echo "!! serve mode panicked" >&2
    STATUS=1
fi
exit $STATUS
