"""The `echo` example's contract (API.md), checked with the third-party `websockets` client
against a binary this script starts and stops itself, on 127.0.0.1 only:

- it prints a `listening` line, with the address, once it accepts connections;
- a text message starting with `broadcast:` goes to every established connection (the
  sender included, compressed or not as each agreed) and is not echoed otherwise; any other
  message is echoed to its sender only;
- `--max-message-size BYTES`: a larger message closes the connection with 1009;
- SIGINT and SIGTERM stop it cleanly: every client gets a close frame with 1001, and the
  process exits with status 0;
- a server-side close with code and reason (chat's `/bye`, `--chat BINARY`) reaches the
  client as 4000 "bye".

Usage: echo_contract.py ECHO_BINARY [--chat CHAT_BINARY]. Exits non-zero on the first
failure and kills what it started.
"""
import contextlib
import re
import signal
import subprocess
import sys
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

TIMEOUT = 10


def start(binary, *args):
    """Starts `binary` on a free port; returns (process, ws:// URL)."""
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"listening\D*?([\d.]+:\d+)", line)
        if found:
            return proc, f"ws://{found.group(1)}/"
    proc.kill()
    raise SystemExit(f"{binary} printed no listening line")


def expect_nothing(ws, seconds=0.3):
    try:
        got = ws.recv(timeout=seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message {got!r}")


def expect_close(ws, code, reason=None):
    try:
        got = ws.recv(timeout=TIMEOUT)
        raise AssertionError(f"expected close {code}, got message {got!r}")
    except ConnectionClosed:
        pass
    assert ws.close_code == code, (ws.close_code, code)
    if reason is not None:
        assert ws.close_reason == reason, (ws.close_reason, reason)


def broadcast_and_signals(echo, sig):
    proc, url = start(echo, "--compression")
    try:
        with contextlib.ExitStack() as stack:
            broadcast_then_stop(proc, sig, *(
                stack.enter_context(connect(url, compression=c, open_timeout=TIMEOUT)) for c in (None, "deflate", None)
            ))
    finally:
        proc.kill()
        proc.wait()


def broadcast_then_stop(proc, sig, plain, deflate, third):
    clients = [plain, deflate, third]
    assert "permessage-deflate" in deflate.response.headers.get("Sec-WebSocket-Extensions", "")
    # An ordinary message is echoed to its sender only.
    plain.send("just for me")
    assert plain.recv(timeout=TIMEOUT) == "just for me"
    for other in (deflate, third):
        expect_nothing(other)
    # broadcast: reaches everyone, once, and is not echoed besides.
    deflate.send("broadcast: hello all ✓")
    for ws in clients:
        assert ws.recv(timeout=TIMEOUT) == "broadcast: hello all ✓"
    for ws in clients:
        expect_nothing(ws, 0.1)
    # A binary message starting with the same bytes is an ordinary echo.
    third.send(b"broadcast: not text")
    assert third.recv(timeout=TIMEOUT) == b"broadcast: not text"
    expect_nothing(plain, 0.1)
    proc.send_signal(sig)
    for ws in clients:
        expect_close(ws, 1001)
    assert proc.wait(TIMEOUT) == 0, f"exit status {proc.returncode} after {sig.name}"


def message_limit(echo):
    proc, url = start(echo, "--max-message-size", "1000")
    try:
        with connect(url, open_timeout=TIMEOUT) as ws:
            ws.send(b"x" * 1000)
            assert ws.recv(timeout=TIMEOUT) == b"x" * 1000
            ws.send(b"x" * 1001)
            expect_close(ws, 1009)
    finally:
        proc.kill()
        proc.wait()


def server_close_with_reason(chat):
    proc, url = start(chat)
    try:
        with connect(url + "chat", open_timeout=TIMEOUT) as ws:
            ws.send("/bye")
            while True:
                try:
                    ws.recv(timeout=TIMEOUT)  # the chat's own notices come first
                except ConnectionClosed:
                    break
            assert (ws.close_code, ws.close_reason) == (4000, "bye"), (ws.close_code, ws.close_reason)
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    echo = sys.argv[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        broadcast_and_signals(echo, sig)
    message_limit(echo)
    if "--chat" in sys.argv:
        server_close_with_reason(sys.argv[sys.argv.index("--chat") + 1])
    print("ok: echo contract checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
