"""What the session check costs: the statement that enters a team (`ENTER_TEAM_SQL`) with and
without its `live` column (the user's is_active and session epoch), as the application role, in a
transaction like a request's.

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
from app.db.tenancy import ENTER_TEAM_SQL, NO_CAMPAIGN

ROUNDS = 3000
LIVE_COLUMN = (
    "(SELECT u.is_active AND u.session_epoch = $6 FROM users u WHERE u.id = $2) AND NOT EXISTS "
    "(SELECT 1 FROM refresh_tokens r WHERE r.family_id = $7 AND r.revoked_at IS NOT NULL) AS live, "
)
assert LIVE_COLUMN in ENTER_TEAM_SQL, "the bench no longer matches app.db.tenancy.ENTER_TEAM_SQL"


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
    plain = ENTER_TEAM_SQL.replace(LIVE_COLUMN, "")
    live = ENTER_TEAM_SQL
    common = (team_id, user_id, str(user_id), "", NO_CAMPAIGN)
    timings: dict[str, list[float]] = {"membership": [], "membership + session check": []}
    for _ in range(ROUNDS):
        for name, sql, args in (
            ("membership", plain, common),
            ("membership + session check", live, (*common, 0, uuid.uuid4())),
        ):
            started = time.perf_counter()
            async with app.transaction():
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
