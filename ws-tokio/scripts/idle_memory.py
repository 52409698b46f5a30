#!/usr/bin/env python3
"""Resident memory of a server per idle established WebSocket connection.

Usage: idle_memory.py PID HOST:PORT [N]   (default N = 10000; needs `ulimit -n` > N)

Opens N connections, upgrades each (raw HTTP, no compression), waits until all have their
101, lets the server settle, and prints the server's VmRSS before and after and the
difference per connection.
"""
import asyncio, sys, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

REQUEST = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")

async def open_one(host, port, sem, conns):
    async with sem:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        # one message round trip, so the connection has done real work before it idles
        writer.write(b"\x81\x82\x00\x00\x00\x00hi")
        frame = await reader.readexactly(4)
        assert frame == b"\x81\x02hi", frame
        conns.append((reader, writer))

async def main():
    pid, addr = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    host, port = addr.rsplit(":", 1)
    conns = []
    # warm up: the runtime's threads, scratch buffers and tables exist before we measure
    await asyncio.gather(*(open_one(host, int(port), asyncio.Semaphore(50), conns) for _ in range(50)))
    await asyncio.sleep(1)
    before = rss_kib(pid)
    sem = asyncio.Semaphore(500)
    await asyncio.gather(*(open_one(host, int(port), sem, conns) for _ in range(n)))
    await asyncio.sleep(2)
    after = rss_kib(pid)
    print(f"connections {n}: RSS before {before} KiB, after {after} KiB, "
          f"{(after - before) * 1024 / n:.0f} bytes per idle connection")
    for _, w in conns:
        w.close()

asyncio.run(main())
