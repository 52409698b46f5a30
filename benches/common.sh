# Shared by benches/callgrind.sh and benches/syscalls.sh (sourced from the repository
# root): where benches/run.sh puts the binaries, and how to start one echo server.
BIN=$PWD/target/bench-bin

# server_cmd NAME: sets the array `cmd` to echo server NAME's command line (our adapters'
# `echo` example on one worker, or a peer's binary); fails, saying so, if it is not built.
server_cmd() {
    case $1 in
        ws-*) cmd=("$BIN/$1-echo" --workers 1) ;;
        *) cmd=("$BIN/$1") ;;
    esac
    [ -x "${cmd[0]}" ] || { echo "skipping $1: ${cmd[0]} not built" >&2; return 1; }
}

# wait_port PORT: waits (up to 20 s) until something accepts on 127.0.0.1:PORT.
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
