"""Talks to a WebSocket echo server with the third-party `websockets` client and checks
every echo. Usage: echo_client.py ws://127.0.0.1:PORT/ [--compression] [--subprotocol NAME]
(with --subprotocol, the server must agree NAME out of an offer of two).
Exits non-zero on the first mismatch."""
import sys

from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed


def main() -> int:
    url = sys.argv[1]
    compression = "deflate" if "--compression" in sys.argv else None
    protocol = sys.argv[sys.argv.index("--subprotocol") + 1] if "--subprotocol" in sys.argv else None
    offer = ["not-this-one", protocol] if protocol else None
    with connect(url, compression=compression, subprotocols=offer, max_size=None, open_timeout=10, close_timeout=10) as ws:
        assert ws.subprotocol == protocol, (ws.subprotocol, protocol)
        if compression:
            agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
            assert "permessage-deflate" in agreed, agreed
        for text in ["hello", "", "κόσμε €𝄞", "x" * 70000]:
            ws.send(text)
            got = ws.recv(timeout=10)
            assert got == text, (len(got), len(text))
        every_byte = bytes(range(256)) * 4
        ws.send(every_byte)
        assert ws.recv(timeout=10) == every_byte
        big = bytes((i * 7) % 251 for i in range(1 << 20))
        ws.send(big)
        assert ws.recv(timeout=20) == big
        # Fragmented message from an iterable.
        ws.send(["frag", "mented", " ✓"])
        assert ws.recv(timeout=10) == "fragmented ✓"
        pong = ws.ping(b"are you there")
        assert pong.wait(10), "no pong"
        ws.close(code=4000, reason="bye now")
        try:
            ws.recv(timeout=10)
        except ConnectionClosed:
            pass
        assert ws.close_code == 4000, ws.close_code
        assert ws.close_reason == "", ws.close_reason
    print("ok: python websockets client checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
