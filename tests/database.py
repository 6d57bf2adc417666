"""A real PostgreSQL for the suite: `DATABASE_URL`'s server, or an embedded one started here.

Each xdist worker gets its own database, migrated once with Alembic (never `create_all`), and
every test starts from empty tables (one TRUNCATE, as the owner).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL

from app.config import get_config, parse_database_url
from app.db import setup
from app.db.engine import libpq_dsn


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False
    owner_url: URL
    server_url: URL
    name: str
    embedded_dir: Path | None

    def dsn(self, url: URL | None = None) -> str:
        return libpq_dsn(url or self.owner_url)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def create_test_database() -> TestDatabase:
    raw = os.environ.get("DATABASE_URL")
    embedded_dir: Path | None = None
    if raw:
        server_url = parse_database_url(raw)
    else:
        embedded_dir = Path(tempfile.mkdtemp(prefix=f"cp-test-pg-{_worker()}-")) / "data"
        server_url = setup.start_embedded_server(embedded_dir, keep_running=False)
    name = f"cp_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    owner_url = await setup.ensure_database(server_url, name)
    database = TestDatabase(owner_url=owner_url, server_url=server_url, name=name, embedded_dir=embedded_dir)
    settings = get_config({"DATABASE_URL": owner_url.render_as_string(hide_password=False)}).database
    try:
        await setup.ensure_roles(owner_url, settings)
    except BaseException:
        await drop_test_database(database)  # a shared server keeps no litter from a failed start
        raise
    return database


async def drop_test_database(database: TestDatabase) -> None:
    conn = await asyncpg.connect(database.dsn(database.server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await conn.close()
