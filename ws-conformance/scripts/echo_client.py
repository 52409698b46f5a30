#!/usr/bin/env python3
"""Echo client on Python `websockets` for `ws-conformance serve`: runs every case, echoing
every message, then asks for the report.

usage: echo_client.py ws://127.0.0.1:9002 AGENT
"""
import asyncio
import sys

from websockets.asyncio.client import connect


async def main():
    base, agent = sys.argv[1].rstrip("/"), sys.argv[2]
    async with connect(f"{base}/getCaseCount", compression=None) as ws:
        count = int(await ws.recv())
    for case in range(1, count + 1):
        try:
            url = f"{base}/runCase?case={case}&agent={agent}"
            # permessage-deflate offered (the default), so families 12 and 13 run.
            async with connect(url, max_size=None, compression="deflate") as ws:
                async for message in ws:
                    await ws.send(message)
        except Exception:
            pass
    async with connect(f"{base}/updateReports?agent={agent}", compression=None) as ws:
        try:
            await ws.recv()
        except Exception:
            pass


asyncio.run(main())
