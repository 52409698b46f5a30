#!/usr/bin/env bash
# End-to-end benchmarks: every server under test x every scenario, in one go, on this
# machine: the server pinned to one core (SERVER_CORE, default 0), the load generator to the
# other (LOAD_CORE, default 1). Writes benches/results/<date>.json, PNG charts and a
# markdown table (benches/results/<date>.md), which BENCHMARKS.md quotes.
#
#   benches/run.sh                      # everything, ~12 min with the defaults
#   DURATION=2 WARMUP=0.5 benches/run.sh
#   SERVERS="ws-tokio peer_fastwebsockets" SCENARIOS="echo-20B" benches/run.sh
#
# Environment:
#   DURATION   measured seconds per run (default 4)     WARMUP   seconds before it (default 1)
#   SERVERS    space-separated names to run (default: all that exist)
#   SCENARIOS  space-separated name prefixes to run (default: all)
#   ROUNDS     run every echo scenario (compressed ones too) this many times (default 1),
#              the servers taking turns within each round, so that drift on the machine
#              reaches all of them alike; the report shows each cell's median round and the
#              spread
#   IDLE_CONNECTIONS  (default 10000)   BROADCAST_RECEIVERS (default 1000)
#   STRACE=0   skip the syscall count runs          CHARTS=0  skip charts (no pip)
#   NICE=-10   run server and load generator at this nice level (root only), so that other
#              work on a shared machine takes less from the two cores under test
#   OUT        results file stem (default benches/results/<UTC date-time>)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
BROADCAST_RECEIVERS=${BROADCAST_RECEIVERS:-1000}
STRACE=${STRACE:-1}
CHARTS=${CHARTS:-1}
NICE=${NICE:-0}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=${OUT:-$ROOT/benches/results/$STAMP}
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d /tmp/ws-bench.XXXXXX)
BIN=$ROOT/target/bench-bin
mkdir -p "$BIN"
PORT=${PORT:-19100}
COMMAND="$0${*:+ $*} (DURATION=$DURATION WARMUP=$WARMUP NICE=$NICE${ROUNDS:+ ROUNDS=$ROUNDS}${SERVERS:+ SERVERS=\"$SERVERS\"}${SCENARIOS:+ SCENARIOS=\"$SCENARIOS\"})"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# 10,000 idle connections need that many descriptors on each side, and a few more.
ulimit -n "$(ulimit -Hn)" || true
if [ "$(ulimit -n)" -lt $((IDLE_CONNECTIONS + 200)) ]; then
    log "ulimit -n is $(ulimit -n): idle memory runs with $((($(ulimit -n) - 200))) connections"
    IDLE_CONNECTIONS=$(($(ulimit -n) - 200))
fi

# --- build ------------------------------------------------------------------------------
log "building (release)"
cargo build --release -q -p ws-benches --bins
cp target/release/{load,raw_tcp_echo,peer_tungstenite,peer_fastwebsockets,peer_tokio_websockets} "$BIN/"
cargo build --release -q -p ws-proto --example blocking_echo
cp target/release/examples/blocking_echo "$BIN/blocking_echo"
NOTES=()
OURS=()
for adapter in ws-tokio ws-async-std ws-smol; do
    if [ -f "$adapter/examples/echo.rs" ]; then
        # The three examples share a name: build and copy one at a time.
        if cargo build --release -q -p "$adapter" --example echo; then
            cp target/release/examples/echo "$BIN/$adapter-echo"
            OURS+=("$adapter")
        else
            NOTES+=("$adapter: echo example failed to build; skipped")
        fi
    else
        NOTES+=("$adapter: no echo example yet; skipped")
    fi
done
for n in "${NOTES[@]}"; do log "$n"; done

# name -> command line (without --listen)
declare -A CMD KIND
for a in "${OURS[@]}"; do CMD[$a]="$BIN/$a-echo --workers 1"; KIND[$a]=ours; done
CMD[blocking_echo]="$BIN/blocking_echo"; KIND[blocking_echo]=ours-extra
CMD[peer_fastwebsockets]="$BIN/peer_fastwebsockets"; KIND[peer_fastwebsockets]=peer
CMD[peer_tokio_websockets]="$BIN/peer_tokio_websockets"; KIND[peer_tokio_websockets]=peer
CMD[peer_tungstenite]="$BIN/peer_tungstenite"; KIND[peer_tungstenite]=peer
CMD[raw_tcp_echo]="$BIN/raw_tcp_echo"; KIND[raw_tcp_echo]=raw
ALL_SERVERS=("${OURS[@]}" blocking_echo peer_fastwebsockets peer_tokio_websockets peer_tungstenite raw_tcp_echo)
SERVERS=(${SERVERS:-${ALL_SERVERS[@]}})

wanted() { # scenario name
    [ -z "${SCENARIOS:-}" ] && return 0
    local p
    for p in $SCENARIOS; do [[ $1 == $p* ]] && return 0; done
    return 1
}

SERVER_PID=
start_server() { # name [extra args]
    local name=$1
    shift
    PORT=$((PORT + 1))
    : >"$WORK/server.log"
    # shellcheck disable=SC2086
    nice -n "$NICE" taskset -c "$SERVER_CORE" ${CMD[$name]} "$@" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q listening "$WORK/server.log" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    log "$name did not print 'listening':"
    cat "$WORK/server.log" >&2
    stop_server
    return 1
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap 'stop_server; rm -rf "$WORK"' EXIT

RESULTS=$WORK/runs.jsonl
: >"$RESULTS"

run() { # server scenario mode connections size inflight [load args...] [-- server args]
    local server=$1 scenario=$2 mode=$3 conns=$4 size=$5 inflight=$6
    shift 6
    local load_args=() server_args=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then shift; server_args=("$@"); break; fi
        load_args+=("$1")
        shift
    done
    wanted "$scenario" || return 0
    [ "${KIND[$server]}" = raw ] && load_args+=(--raw)
    start_server "$server" "${server_args[@]}" || {
        echo "{\"server\":\"$server\",\"scenario\":\"$scenario\",\"ok\":false,\"first_error\":\"server did not start\"}" >>"$RESULTS"
        return 0
    }
    local loadavg
    loadavg=$(cut -d' ' -f1 /proc/loadavg)
    local line
    line=$(nice -n "$NICE" taskset -c "$LOAD_CORE" "$BIN/load" --target "127.0.0.1:$PORT" --mode "$mode" \
        --connections "$conns" --size "$size" --inflight "$inflight" \
        --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
        --server "$server" --scenario "$scenario" "${load_args[@]}" 2>"$WORK/load.err") || true
    [ -n "$line" ] || line="{\"server\":\"$server\",\"scenario\":\"$scenario\",\"ok\":false,\"first_error\":\"load generator printed nothing\"}"
    echo "${line%\}},\"kind\":\"${KIND[$server]}\",\"loadavg_before\":$loadavg}" >>"$RESULTS"
    log "$server $scenario: $(tail -1 "$WORK/load.err")"
    stop_server
}

# --- scenarios --------------------------------------------------------------------------
# name  connections  size  (each at 1 and 16 messages in flight)
ECHO=(
    "20B-c100 100 20"
    "1KiB-c200 200 1024"
    "1KiB-c500 500 1024"
    "16KiB-c200 200 16384"
    "16KiB-c500 500 16384"
    "1MiB-c10 10 1048576"
)
# Compressed echo: ours only (the peers have no permessage-deflate). With ROUNDS, part of
# every round, beside the uncompressed runs its extra CPU is measured against.
deflate_runs() {
    local server spec name conns size k
    for server in "${OURS[@]}" blocking_echo; do
        [[ " ${SERVERS[*]} " == *" $server "* ]] || continue
        for spec in "1KiB-c200 200 1024 1" "16KiB-c200 200 16384 1" "16KiB-c200 200 16384 16"; do
            read -r name conns size k <<<"$spec"
            run "$server" "deflate-$name-k$k" echo "$conns" "$size" "$k" --compression -- --compression
        done
    done
}

ROUNDS=${ROUNDS:-1}
if [ "$ROUNDS" -le 1 ]; then
    for server in "${SERVERS[@]}"; do
        for spec in "${ECHO[@]}"; do
            read -r name conns size <<<"$spec"
            for k in 1 16; do
                run "$server" "echo-$name-k$k" echo "$conns" "$size" "$k"
            done
        done
    done
else
    for round in $(seq 1 "$ROUNDS"); do
        log "round $round of $ROUNDS"
        for spec in "${ECHO[@]}"; do
            read -r name conns size <<<"$spec"
            for k in 1 16; do
                for server in "${SERVERS[@]}"; do
                    run "$server" "echo-$name-k$k" echo "$conns" "$size" "$k"
                done
            done
        done
        deflate_runs
    done
fi

for server in "${SERVERS[@]}"; do
    run "$server" connrate-c32 connrate 32 0 1
done

for server in "${SERVERS[@]}"; do
    [ "${KIND[$server]}" = raw ] && continue
    run "$server" "idle-c$IDLE_CONNECTIONS" idle "$IDLE_CONNECTIONS" 0 1
done

# Broadcast needs a server that knows the `broadcast:` contract of API.md: our adapters.
for server in "${OURS[@]}"; do
    [[ " ${SERVERS[*]} " == *" $server "* ]] || continue
    run "$server" "broadcast-c$BROADCAST_RECEIVERS" broadcast "$BROADCAST_RECEIVERS" 64 16
done

if [ "$ROUNDS" -le 1 ]; then
    deflate_runs
fi

# --- syscalls per echo (strace -c -f), a short pipelined and a 1-in-flight run --------------
STRACE_OUT=$WORK/strace.jsonl
: >"$STRACE_OUT"
if [ "$STRACE" = 1 ] && command -v strace >/dev/null; then
    for server in "${SERVERS[@]}"; do
        for k in 1 16; do
            start_server "$server" || continue
            strace -c -f -q -o "$WORK/strace.txt" -p "$SERVER_PID" &
            STRACE_PID=$!
            sleep 0.5
            raw=()
            [ "${KIND[$server]}" = raw ] && raw=(--raw)
            line=$(taskset -c "$LOAD_CORE" "$BIN/load" --target "127.0.0.1:$PORT" --mode echo \
                --connections 100 --size 20 --inflight "$k" --duration 2 --warmup 0 "${raw[@]}" 2>/dev/null) || true
            kill -INT "$STRACE_PID" 2>/dev/null || true
            wait "$STRACE_PID" 2>/dev/null || true
            python3 - "$server" "$k" "$WORK/strace.txt" "$line" >>"$STRACE_OUT" <<'EOF'
import json, re, sys
server, k, path, line = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
calls = {}
for l in open(path):
    m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', l)
    if m and m.group(2) != 'total':
        calls[m.group(2)] = int(m.group(1))
try:
    run = json.loads(line)
except Exception:
    run = {}
# total = every echo of the run, drain included: the divisor for the calls.
msgs = run.get('total', 0) or 1
sock_w = sum(v for c, v in calls.items() if c in ('writev', 'sendto', 'sendmsg'))
sock_r = sum(v for c, v in calls.items() if c in ('recvfrom', 'recvmsg', 'readv'))
polls = sum(v for c, v in calls.items() if c.startswith('epoll_wait') or c.startswith('epoll_pwait'))
# Calls made once per connection (accept, socket options, close) are not per message.
setup = ('accept4', 'accept', 'setsockopt', 'close', 'shutdown', 'ioctl', 'getsockname', 'getpeername')
total = sum(v for c, v in calls.items() if c not in setup)
print(json.dumps({'server': server, 'inflight': k, 'messages': msgs, 'calls': calls,
                  'writes_per_msg': sock_w / msgs, 'reads_per_msg': sock_r / msgs,
                  'epoll_per_msg': polls / msgs, 'syscalls_per_msg': total / msgs}))
EOF
            log "strace $server k=$k: $(tail -1 "$STRACE_OUT")"
            stop_server
        done
    done
fi

# --- results ----------------------------------------------------------------------------
python3 - "$RESULTS" "$STRACE_OUT" "$OUT.json" "$COMMAND" "${NOTES[@]}" <<'EOF'
import json, os, subprocess, sys, datetime
runs_path, strace_path, out, command, *notes = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
strace = [json.loads(l) for l in open(strace_path) if l.strip()]
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
rev = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
# Uncommitted changes outside benches/ were built into the servers under test: name them.
dirty = [l[3:] for l in subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                                       capture_output=True, text=True).stdout.splitlines()
         if not l[3:].startswith('benches/') and l[3:] != 'Cargo.lock']
doc = {
    'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
    'commit': rev,
    'uncommitted': dirty,
    'machine': {'nproc': os.cpu_count(), 'cpu': cpu, 'kernel': os.uname().release},
    'command': command,
    'notes': notes,
    'runs': runs,
    'strace': strace,
}
json.dump(doc, open(out, 'w'), indent=1)
print(out)
EOF
log "wrote $OUT.json"

if [ "$CHARTS" = 1 ]; then
    VENV=$ROOT/target/bench-venv
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib || log "matplotlib install failed: no charts"
    fi
    if [ -x "$VENV/bin/python" ]; then
        "$VENV/bin/python" benches/report.py "$OUT.json"
    fi
else
    python3 benches/report.py --no-charts "$OUT.json"
fi
log "done: $OUT.json, $OUT.md"
