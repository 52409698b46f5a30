"""The `echo` example's contract (API.md), checked with the third-party `websockets` client
against a binary this script starts and stops itself, on 127.0.0.1 only:

- it prints a `listening` line, with the address, once it accepts connections;
- a text message starting with `broadcast:` goes to every established connection (the
  sender included, compressed or not as each agreed) and is not echoed otherwise; any other
  message is echoed to its sender only;
- `--max-message-size BYTES`: a larger message closes the connection with 1009;
- SIGINT and SIGTERM stop it cleanly: every client gets a close frame with 1001, and the
  process exits with status 0;
- with `--compression`, an echo is compressed whenever the connection negotiated
  permessage-deflate, also for a message that arrived uncompressed (checked with a raw
  socket: RSV1 set on the echo, and its payload inflates to the message);
- a server-side close with code and reason (chat's `/bye`, `--chat BINARY`) reaches the
  client as 4000 "bye".

Usage: echo_contract.py ECHO_BINARY [--chat CHAT_BINARY]. Exits non-zero on the first
failure and kills what it started.
"""
import base64
import contextlib
import os
import re
import socket
import signal
import subprocess
import sys
import time
import zlib

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


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        more = sock.recv(n - len(data))
        if not more:
            raise AssertionError(f"connection closed after {len(data)} of {n} bytes")
        data += more
    return data


def uncompressed_message_echoed_compressed(echo):
    proc, url = start(echo, "--compression")
    host, port = re.match(r"ws://([\d.]+):(\d+)/", url).groups()
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += read_exact(sock, 1)
            assert head.startswith(b"HTTP/1.1 101"), head
            assert b"permessage-deflate" in head.lower(), head
            message = "plain in, compressed out: ✓".encode()
            mask = os.urandom(4)
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
            # FIN, text, no RSV1: sent uncompressed on a deflate connection (RFC 7692 allows it).
            sock.sendall(bytes([0x81, 0x80 | len(message)]) + mask + masked)
            b0, b1 = read_exact(sock, 2)
            assert b0 & 0x0F == 0x1 and b0 & 0x80, f"not a final text frame: {b0:#x}"
            assert b0 & 0x40, "the echo is not compressed (RSV1 clear)"
            assert b1 < 126, b1
            payload = read_exact(sock, b1)
            inflated = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
            assert inflated == message, inflated
    finally:
        proc.kill()
        proc.wait()


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
    uncompressed_message_echoed_compressed(echo)
    if "--chat" in sys.argv:
        server_close_with_reason(sys.argv[sys.argv.index("--chat") + 1])
    print("ok: echo contract checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
