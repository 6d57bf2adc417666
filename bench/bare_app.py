"""The yardstick for `bench.api_bench`: a bare ASGI app with an asyncpg pool that does what
ListBrands does at the database — same role, same tenant settings, same SQL — and nothing else
(no auth, no validation, no ORM, no framework)."""

from __future__ import annotations

import os
from typing import Any

import asyncpg
import msgspec

SET_CONTEXT = "SELECT set_config('app.user_id', $1, true), set_config('app.team_id', $2, true)"
PAGE = (
    "SELECT id, team_id, name, website, description, version, created_at, updated_at, count(*) OVER () AS total "
    "FROM brands WHERE team_id = $1 ORDER BY lower(name), id LIMIT 100"
)
_state: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _state["pool"] = await asyncpg.create_pool(
                    os.environ["BENCH_APP_DSN"], min_size=4, max_size=10
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    team_id, user_id = os.environ["BENCH_TEAM_ID"], os.environ["BENCH_USER_ID"]
    async with _state["pool"].acquire() as conn, conn.transaction():
        await conn.execute(SET_CONTEXT, user_id, team_id)
        rows = await conn.fetch(PAGE, team_id)
    items = [{k: v for k, v in row.items() if k != "total"} for row in rows]
    body = msgspec.json.encode(
        {"items": items, "total": rows[0]["total"] if rows else 0, "limit": 100, "offset": 0}
    )
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})
