"""A WebSocket client for tests (the `websockets` library), speaking `/api/ws`'s frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.waiting import CEILING


class Socket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str | None, *, via_protocol: bool = False) -> Socket:
        if via_protocol:
            assert token is not None
            connection = await connect(url, subprotocols=["campaign-platform", f"bearer.{token}"])  # pyright: ignore[reportArgumentType]
        else:
            connection = await connect(url)
        socket = cls(connection)
        if token is not None and not via_protocol:
            await socket.send({"type": "auth", "token": token})
        if token is not None:
            await socket.expect("ready")
        return socket

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def next(self, *, within: float = CEILING) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout=within)
        frame = json.loads(raw)
        self.seen.append(frame)
        return frame

    async def expect(self, frame_type: str, *, within: float = CEILING, **match: Any) -> dict[str, Any]:
        """The next frame of `frame_type` (matching `match`); others before it are kept in `seen`."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            frame = await self.next(within=max(remaining, 0.01))
            if frame.get("type") == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def subscribe(self, topic: str) -> dict[str, Any]:
        await self.send({"type": "subscribe", "topic": topic})
        while True:
            frame = await self.next()
            if frame.get("topic") == topic and frame["type"] in {"subscribed", "error"}:
                return frame

    async def frames_until_pong(self) -> list[dict[str, Any]]:
        """Everything the server had queued for this socket, up to the answer to a fresh ping."""
        await self.send({"type": "ping"})
        frames = []
        while (frame := await self.next())["type"] != "pong":
            frames.append(frame)
        return frames

    async def close(self) -> None:
        await self.connection.close()
