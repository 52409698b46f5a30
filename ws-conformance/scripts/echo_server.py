#!/usr/bin/env python3
"""Echo server on Python `websockets` (permessage-deflate on by default), for validating
ws-conformance against a server nobody here wrote.

usage: echo_server.py PORT [--no-compression]
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except Exception:
        pass


async def main():
    port = int(sys.argv[1])
    compression = None if "--no-compression" in sys.argv else "deflate"
    # max_size=None: the suite sends 16 MiB messages; websockets' default limit is 1 MiB.
    async with serve(echo, "127.0.0.1", port, max_size=None, compression=compression):
        print(f"websockets echo server on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.get_running_loop().create_future()


asyncio.run(main())
