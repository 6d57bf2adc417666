"""The API's pool keeps the connections it opens; the worker's may open more for a burst.

With overflow, a burst past the pool opened connections that the next check-in closed, so an
API under steady load kept opening PostgreSQL backends (20-60 per 8 s of wrk at -c32) and
preparing its statements on each again. The backend pids show which connections were used.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_app_engine
from tests.database import TestDatabase

_PID = text("SELECT pg_backend_pid()")


async def _backends_over_bursts(engine: AsyncEngine, *, bursts: int, width: int) -> set[int]:
    """Run `bursts` rounds of `width` concurrent transactions; return every backend pid seen."""
    seen: set[int] = set()
    in_flight = 0
    peak = 0

    async def one() -> None:
        nonlocal in_flight, peak
        async with engine.connect() as connection:
            in_flight += 1
            peak = max(peak, in_flight)
            seen.add((await connection.execute(_PID)).scalar_one())
            await asyncio.sleep(0)  # let the others check out while this one is held
            in_flight -= 1

    for _ in range(bursts):
        await asyncio.gather(*(one() for _ in range(width)))
    assert peak > 1  # the transactions did overlap
    return seen


async def test_a_fixed_pool_serves_bursts_past_its_size_on_the_connections_it_keeps(
    database: TestDatabase, settings: Settings
) -> None:
    engine = create_app_engine(settings.database, database.owner_url, pool_size=2, fixed_pool=True)
    try:
        backends = await _backends_over_bursts(engine, bursts=10, width=5)
    finally:
        await engine.dispose()
    assert len(backends) <= 2, (
        f"{len(backends)} backends for a pool of 2: connections were closed and reopened"
    )


async def test_a_pool_with_overflow_opens_connections_for_a_burst(
    database: TestDatabase, settings: Settings
) -> None:
    """What the fixed pool avoids, so the test above can tell the two apart."""
    engine = create_app_engine(settings.database, database.owner_url, pool_size=2)
    try:
        backends = await _backends_over_bursts(engine, bursts=10, width=5)
    finally:
        await engine.dispose()
    assert len(backends) > 2
