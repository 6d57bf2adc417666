"""`make bench-feed`: the team feed's cost per page as the team grows to a million events.

    make bench-feed                    # embedded PostgreSQL in a temporary folder
    FEED_SIZES=10000,100000,1000000    # the team sizes measured (the default)

For each size the team's feed is grown to that many events (one `INSERT ... generate_series`,
then `ANALYZE`, as autovacuum would), and `ListTeamEvents` is served in-process through the
whole app (auth, tenant context, RLS, the capped total and the keyset cursor):

- the first page and a page 1,000 events deep (reached by following `next_cursor`);
- per page: the median time over ROUNDS requests, and the buffers PostgreSQL touched for the
  page's statements (EXPLAIN (ANALYZE, BUFFERS) of what the route sent, as the app role under
  the team's RLS) — buffers are the load-independent number: time on a shared machine is noisy;
- for contrast, the buffers of the old design's `count(*) OVER ()` total on the same data.

Flat means: buffers per page stay the same from 10k to 1M; the old total grows with the team.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from app.config import get_config
from app.db import setup
from app.db.engine import libpq_dsn, tenant_session
from app.db.tenancy import TenantContext
from app.main import create_app

SIZES = [int(size) for size in os.environ.get("FEED_SIZES", "10000,100000,1000000").split(",")]
ROUNDS = int(os.environ.get("FEED_ROUNDS", "30"))
PAGE = 50
DEEP_PAGES = 20  # 20 x 50 = 1,000 events deep
SECRET = "feed-benchmark-secret-key-feed-benchmark-secret"


async def _seed(owner: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    user_id, team_id = uuid.uuid4(), uuid.uuid4()
    await owner.execute(
        "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, session_epoch, "
        "created_at, updated_at) VALUES ($1, 'feed@example.com', 'Feed', 'x', true, false, 0, now(), now())",
        user_id,
    )
    await owner.execute(
        "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, 'Feed', 1, now(), now())",
        team_id,
    )
    await owner.execute(
        "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'owner', now(), now())",
        uuid.uuid4(),
        team_id,
        user_id,
    )
    return user_id, team_id


async def _grow(owner: asyncpg.Connection, team_id: uuid.UUID, have: int, want: int) -> None:
    await owner.execute(
        "INSERT INTO events (id, team_id, actor_id, object_type, object_id, event_type, changes, created_at, "
        "updated_at) SELECT gen_random_uuid(), $1, NULL, 'brand', gen_random_uuid(), 'created', NULL, "
        "now() - make_interval(secs => n), now() FROM generate_series($2::int + 1, $3::int) AS n",
        team_id,
        have,
        want,
    )
    await owner.execute("ANALYZE events")


def _buffers(node: dict[str, Any]) -> int:
    return int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))


async def _explain_buffers(app: Any, team_id: uuid.UUID, statements: list[tuple[str, Any]]) -> int:
    total = 0
    async with tenant_session(app.state.session_maker, TenantContext(team_id=team_id)) as session:
        raw = await (await session.connection()).get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for statement, parameters in statements:
            if "FROM events" not in statement:
                continue
            plan = await driver.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, *parameters)
            plan = json.loads(plan) if isinstance(plan, str) else plan
            total += _buffers(plan[0]["Plan"])
    return total


async def _old_total_buffers(app: Any, team_id: uuid.UUID) -> int:
    return await _explain_buffers(
        app,
        team_id,
        [
            (
                "SELECT id, count(*) OVER () FROM events WHERE team_id = $1 "
                "ORDER BY created_at DESC, id DESC LIMIT 50",
                (team_id,),
            )
        ],
    )


async def _page_cost(app: Any, client: httpx.AsyncClient, url: str, team_id: uuid.UUID) -> tuple[float, int]:
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        captured.append((statement, parameters))

    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = await client.get(url)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        (await client.get(url)).raise_for_status()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statistics.median(timings) * 1000, await _explain_buffers(app, team_id, captured)


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="cp-feed-bench-"))
    server_url = setup.start_embedded_server(root / "data", keep_running=False)
    try:
        owner_url = await setup.ensure_database(server_url, "feed_bench")
        settings = get_config(
            {"DATABASE_URL": owner_url.render_as_string(hide_password=False), "SECRET_KEY": SECRET}
        )
        await setup.ensure_roles(owner_url, settings.database)
        await asyncio.to_thread(setup.run_migrations, owner_url, settings.database)
        owner = await asyncpg.connect(libpq_dsn(owner_url))
        user_id, team_id = await _seed(owner)
        app = create_app(settings)
        rows: list[dict[str, Any]] = []
        async with app.lifespan():
            token = app.state.access_tokens.issue(user_id, is_platform_admin=False)
            transport = httpx.ASGITransport(app=app)  # pyright: ignore[reportArgumentType]
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                have = 0
                for size in SIZES:
                    began = time.perf_counter()
                    await _grow(owner, team_id, have, size)
                    have = size
                    filled = time.perf_counter() - began
                    url = f"/api/teams/{team_id}/events?limit={PAGE}"
                    cursor = None
                    for _ in range(DEEP_PAGES):
                        page = (await client.get(url + (f"&after={cursor}" if cursor else ""))).json()
                        cursor = page["next_cursor"]
                    first_ms, first_buffers = await _page_cost(app, client, url, team_id)
                    deep_ms, deep_buffers = await _page_cost(app, client, f"{url}&after={cursor}", team_id)
                    rows.append(
                        {
                            "events": size,
                            "first_page_ms": round(first_ms, 1),
                            "first_page_buffers": first_buffers,
                            "deep_page_ms": round(deep_ms, 1),
                            "deep_page_buffers": deep_buffers,
                            "old_count_over_buffers": await _old_total_buffers(app, team_id),
                            "fill_seconds": round(filled, 1),
                            "load": round(os.getloadavg()[0], 1),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
        await owner.close()
    finally:
        setup.stop_embedded_server(root / "data")
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(
        f"{'events':>9} {'page 1 ms':>9} {'buffers':>7} {'deep ms':>8} {'buffers':>7} {'old total buffers':>17}"
    )
    for row in rows:
        print(
            f"{row['events']:>9,} {row['first_page_ms']:>9} {row['first_page_buffers']:>7} "
            f"{row['deep_page_ms']:>8} {row['deep_page_buffers']:>7} {row['old_count_over_buffers']:>17}"
        )


if __name__ == "__main__":
    asyncio.run(main())
