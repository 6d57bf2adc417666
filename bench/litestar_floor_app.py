"""Litestar's own floor on the bench's reads: the bare handler's work (`bench.bare_app`: the API's
recorded statements on an asyncpg pool, in one transaction) served by a Litestar app with nothing
of ours: no middleware, no auth, no SQLAlchemy, one dependency (the connection in its
transaction) and one route per recorded endpoint, answering the rows as JSON.

What it costs above the bare handler is what the framework itself costs per request, which
nothing in the application can go below; `python -m bench.request_cpu` prints it beside the API
and the bare handler (`BENCH_FLOOR=1`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import Provide

from bench.bare_app import _load_plan  # pyright: ignore[reportPrivateUsage]


async def _open(app: Litestar) -> None:
    app.state.plans = _load_plan()
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_APP_DSN"], min_size=4, max_size=int(os.environ["BENCH_POOL_SIZE"])
    )


async def _close(app: Litestar) -> None:
    await app.state.pool.close()


async def provide_connection(state: State) -> AsyncGenerator[asyncpg.Connection, None]:
    async with state.pool.acquire() as connection, connection.transaction():
        yield connection


@get("/{slug:str}")
async def read(slug: str, connection: asyncpg.Connection, request: Request[Any, Any, Any]) -> dict[str, Any]:
    rows: list[Any] = []
    for sql, arguments in request.app.state.plans["/" + slug]["statements"]:
        rows = await connection.fetch(sql, *arguments)
    return {"items": [dict(row.items()) for row in rows]}


app = Litestar(
    route_handlers=[read],
    dependencies={"connection": Provide(provide_connection)},
    on_startup=[_open],
    on_shutdown=[_close],
    openapi_config=None,
    logging_config=None,  # Litestar's default would set the root logger to INFO for the API beside it
)
