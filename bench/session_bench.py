"""What the session check costs: the team-membership statement with and without the joined
user row (epoch + is_active), as the application role, in a transaction like a request's.

    .venv/bin/python -m bench.session_bench     # embedded PostgreSQL in a temporary folder

Prints the median per-transaction time of each variant over N rounds (interleaved, so load
on the machine hits both alike). Noisy on a shared machine: read the ratio, not the numbers.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from app.config import get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.db.tenancy import _BIND_LIVE_MEMBERSHIP, _BIND_MEMBERSHIP  # pyright: ignore[reportPrivateUsage]

ROUNDS = 3000
SET_USER = "SELECT set_config('app.user_id', $1, true)"


def _asyncpg_sql(statement: str) -> str:
    return statement.replace(":team_id", "$1").replace(":user_id", "$2").replace(":session_epoch", "$3")


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="cp-session-bench-"))
    server_url = setup.start_embedded_server(root / "data", keep_running=False)
    owner_url = await setup.ensure_database(server_url, "bench")
    settings = get_config({"DATABASE_URL": owner_url.render_as_string(hide_password=False)})
    await setup.ensure_roles(owner_url, settings.database)
    await asyncio.to_thread(setup.run_migrations, owner_url, settings.database)
    owner = await asyncpg.connect(libpq_dsn(owner_url))
    user_id, team_id = uuid.uuid4(), uuid.uuid4()
    await owner.execute(
        "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, session_epoch, created_at, updated_at) "
        "VALUES ($1, 'b@example.com', 'B', 'x', true, false, 0, now(), now())",
        user_id,
    )
    await owner.execute(
        "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, 'T', 1, now(), now())",
        team_id,
    )
    await owner.execute(
        "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'owner', now(), now())",
        uuid.uuid4(),
        team_id,
        user_id,
    )
    await owner.close()
    app = await asyncpg.connect(libpq_dsn(settings.database.app_url_from(owner_url)))
    plain = _asyncpg_sql(str(_BIND_MEMBERSHIP))
    live = _asyncpg_sql(str(_BIND_LIVE_MEMBERSHIP))
    timings: dict[str, list[float]] = {"membership": [], "membership + session check": []}
    for _ in range(ROUNDS):
        for name, sql, args in (
            ("membership", plain, (team_id, user_id)),
            ("membership + session check", live, (team_id, user_id, 0)),
        ):
            started = time.perf_counter()
            async with app.transaction():
                await app.execute(SET_USER, str(user_id))
                await app.fetchrow(sql, *args)
            timings[name].append(time.perf_counter() - started)
    await app.close()
    setup.stop_embedded_server(root / "data")
    shutil.rmtree(root, ignore_errors=True)
    base = statistics.median(timings["membership"])
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:30s} median {median * 1e6:7.0f} us  ({median / base:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main())
