"""SAQ's PostgreSQL queue, with its schema owned by our migrations.

SAQ normally creates its tables on connect. The application role may not create tables (and
must not), so `ApplicationQueue.init_db` only checks that the migrations put them in place.
"""

from __future__ import annotations

from psycopg.errors import UndefinedTable
from psycopg.sql import SQL
from saq.queue.postgres import PostgresQueue
from saq.queue.postgres_migrations import get_migrations


def saq_schema_version() -> int:
    from psycopg.sql import Identifier

    return get_migrations(jobs_table=Identifier("saq_jobs"), stats_table=Identifier("saq_stats"))[-1][0]


class QueueSchemaError(RuntimeError):
    """SAQ's tables are missing or older than the installed SAQ expects."""


class ApplicationQueue(PostgresQueue):
    async def init_db(self) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cursor:
            try:
                await cursor.execute(SQL("SELECT version FROM {}").format(self.versions_table))
                row = await cursor.fetchone()
            except UndefinedTable:
                raise QueueSchemaError("SAQ's tables are missing; run `make db-upgrade`.") from None
        expected = saq_schema_version()
        if row is None or row[0] != expected:
            found = row[0] if row else "none"
            raise QueueSchemaError(
                f"SAQ's tables are at version {found}, SAQ expects {expected}; add a migration that upgrades them."
            )
