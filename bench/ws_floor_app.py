"""The floor under `make bench-ws`'s memory figure: an ASGI app that does nothing with its sockets.

It accepts every WebSocket and waits for the client to leave; plain HTTP gets an empty 200 (so the
bench can wait for it like `/health`). Served by the same Granian, with the same worker settings
and the same 1,000 sockets, its RSS is what the server itself costs per connection, which no
application code can go below.
"""

from __future__ import annotations

from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
