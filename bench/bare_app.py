"""The yardstick of `make bench`: a bare ASGI app on an asyncpg pool that sends, per request,
exactly the statements the API sent for the same endpoint — same SQL text, same arguments, same
role, same tenant settings, in one transaction — and returns the last statement's rows as JSON.
No auth, no validation, no ORM, no framework.

The statements come from `BENCH_PLAN` (a pickle written by `bench.run`, which recorded them at
the driver while the API served each endpoint once). For a write, the ids and the name the API
used are swapped for fresh ones on every request, so the inserts stay unique. For UpdateBrand
(`PUT /updatebrand?brand=<id>&version=<n>`), the recorded brand and version are swapped for the
request's: it updates a real row with the version it has, as the API's request does.
"""

from __future__ import annotations

import itertools
import os
import pickle
import uuid
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import msgspec

_state: dict[str, Any] = {}
_counter = itertools.count()


def _load_plan() -> dict[str, Any]:
    with open(os.environ["BENCH_PLAN"], "rb") as handle:
        return pickle.load(handle)  # noqa: S301 (our own file, written by bench.run)


def _update_swaps(plan: dict[str, Any], query: bytes) -> dict[Any, Any]:
    """UpdateBrand: the recorded brand id (as text and as a UUID) and version (seen and next) ->
    the request's."""
    recorded = plan["update"]
    asked = {key: values[0] for key, values in parse_qs(query.decode()).items()}
    brand, version = asked["brand"], int(asked["version"])
    return {
        str(recorded["brand_id"]): brand,
        recorded["brand_id"]: uuid.UUID(brand),
        ("version", recorded["version"]): version,
        ("version", recorded["version"] + 1): version + 1,
    }


def _fresh(arguments: list[Any], plan: dict[str, Any], swaps: dict[Any, Any], sql: str) -> list[Any]:
    """The arguments with the write's own ids and name replaced (consistently within a request)."""
    keep = {str(kept) for kept in plan["keep"]}
    versioned = plan.get("update") is not None and sql.lstrip().upper().startswith("UPDATE BRANDS")
    out = []
    for value in arguments:
        if versioned and type(value) is int and ("version", value) in swaps:
            out.append(swaps[("version", value)])
            continue
        if isinstance(value, uuid.UUID) and str(value) not in keep:
            value = swaps.setdefault(value, uuid.uuid4())
        elif isinstance(value, str) and _is_uuid(value) and value not in keep:
            # The API's ids reach the driver as text (SQLAlchemy's bind processors render them)
            value = swaps.setdefault(value, str(uuid.uuid4()))
        elif isinstance(value, str) and value == plan.get("name"):
            value = swaps.setdefault(value, f"{value}-{os.getpid()}-{next(_counter)}")
        out.append(value)
    return out


def _is_uuid(value: str) -> bool:
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _state["plans"] = _load_plan()
            _state["pool"] = await asyncpg.create_pool(
                os.environ["BENCH_APP_DSN"], min_size=4, max_size=int(os.environ["BENCH_POOL_SIZE"])
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _state["pool"].close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    plan = _state["plans"].get(scope["path"])
    if plan is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["method"] in ("POST", "PUT"):
        while (await receive()).get("more_body"):
            pass
    swaps: dict[Any, Any] = _update_swaps(plan, scope["query_string"]) if plan.get("update") else {}
    rows: list[Any] = []
    async with _state["pool"].acquire() as conn, conn.transaction():
        for sql, arguments in plan["statements"]:
            values = _fresh(arguments, plan, swaps, sql) if plan["write"] else arguments
            rows = await conn.fetch(sql, *values)
            if plan.get("update") and "inserted_threads" in sql and rows:
                # The recorded message insert names the recorded brand's thread: use this brand's.
                recorded, thread = plan["update"]["thread_id"], rows[0]["id"]
                swaps[recorded], swaps[str(recorded)] = thread, str(thread)
    body = msgspec.json.encode({"items": [dict(row.items()) for row in rows]}, enc_hook=str)
    await send(
        {
            "type": "http.response.start",
            "status": 201 if plan["write"] and not plan.get("update") else 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
