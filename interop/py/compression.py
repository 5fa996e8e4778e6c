"""WebSocket compression with Python: Debian's python3-websockets (10.x)
speaking Engine.IO and Socket.IO by hand to the Go server, whose address is
in SERVER_URL. Run by compression_test.go (go test ./interop/), which checks
the frames on the wire. Python's zlib keeps strictly to the window that was
negotiated, so the session that asks for server_max_window_bits=10 checks
that the server never refers farther back.

Exit status 0 when every session's large echo came back whole."""

import asyncio
import json
import os
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate

BIG = "a large and repetitive payload; " * 4000  # 128 KB
URL = os.environ["SERVER_URL"].replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"


async def recv_packet(ws):
    """The next Engine.IO packet that is not a ping (pings are answered)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), 5)
        if msg == "2":
            await ws.send("3")
            continue
        return msg


async def session(name, factory):
    extensions = [factory] if factory else None
    async with websockets.connect(URL, extensions=extensions, max_size=1 << 22, open_timeout=5, close_timeout=2) as ws:
        deflate = [e for e in ws.extensions if isinstance(e, PerMessageDeflate)]
        if not deflate:
            raise SystemExit(f"{name}: permessage-deflate was not negotiated")
        d = deflate[0]
        params = {
            "server_no_context_takeover": d.remote_no_context_takeover,
            "client_no_context_takeover": d.local_no_context_takeover,
            "server_max_window_bits": d.remote_max_window_bits,
        }
        opened = await recv_packet(ws)
        if not opened.startswith("0{"):
            raise SystemExit(f"{name}: expected the open packet, got {opened[:40]!r}")
        await ws.send("40")
        connected = await recv_packet(ws)
        if not connected.startswith("40"):
            raise SystemExit(f"{name}: expected CONNECT, got {connected[:40]!r}")
        for i in range(3):
            text = BIG + str(i)
            await ws.send("42%d%s" % (i, json.dumps(["echo", text])))
            ack = await recv_packet(ws)
            prefix = "43%d" % i
            if not ack.startswith(prefix) or json.loads(ack[len(prefix):]) != [text]:
                raise SystemExit(f"{name}: echo {i} differs: {ack[:60]!r}...")
        print(f"{name}: ok {json.dumps(params)}")


async def main():
    await session("default offer", None)
    await session("server_max_window_bits=10", ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=True))
    await session("server_max_window_bits=8", ClientPerMessageDeflateFactory(server_max_window_bits=8, client_max_window_bits=True))


if __name__ == "__main__":
    asyncio.run(main())
