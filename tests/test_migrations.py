"""Migrations: a full round trip, and models that match the migrated schema exactly."""

from __future__ import annotations

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.metadata import is_managed_table, metadata
from tests.database import TestDatabase


def _alembic_config(url: URL):
    settings = get_config({"DATABASE_URL": url.render_as_string(hide_password=False)})
    config = setup.alembic_config(url, settings.database)
    config.attributes["skip_logging_setup"] = True
    return config


async def _tables(url: URL) -> set[str]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


async def test_upgrade_downgrade_upgrade_round_trip(scratch_database: URL) -> None:
    config = _alembic_config(scratch_database)
    command.upgrade(config, "head")
    assert {"users", "teams", "team_members", "brands"} <= await _tables(scratch_database)

    command.downgrade(config, "base")
    assert await _tables(scratch_database) <= {"alembic_version"}

    command.upgrade(config, "head")
    assert {"users", "teams", "team_members", "brands"} <= await _tables(scratch_database)


async def test_autogenerate_finds_no_difference_on_a_migrated_database(database: TestDatabase) -> None:
    engine = create_async_engine(database.owner_url, poolclass=pool.NullPool)

    def diff(connection) -> list:
        context = MigrationContext.configure(
            connection,
            opts={
                "target_metadata": metadata,
                "compare_type": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    type_ != "table" or is_managed_table(name)
                ),
            },
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    await engine.dispose()
    assert differences == []


async def test_autogenerate_emits_rls_for_a_table_that_lacks_it(database: TestDatabase) -> None:
    """The RLS comparator is live: strip a policy and autogenerate notices."""
    from alembic.autogenerate import produce_migrations

    from app.db.rls_alembic import CreatePolicyOp, EnableRlsOp

    engine = create_async_engine(database.owner_url, poolclass=pool.NullPool)

    def ops(connection) -> list:
        connection.exec_driver_sql("DROP POLICY tenant_isolation ON brands")
        connection.exec_driver_sql("ALTER TABLE brands NO FORCE ROW LEVEL SECURITY")
        context = MigrationContext.configure(connection, opts={"target_metadata": metadata})
        script = produce_migrations(context, metadata)
        assert script.upgrade_ops is not None
        return script.upgrade_ops.ops

    async with engine.connect() as connection:
        transaction = await connection.begin()
        found = await connection.run_sync(ops)
        await transaction.rollback()
    await engine.dispose()
    assert any(isinstance(op, EnableRlsOp) and op.table_name == "brands" for op in found)
    assert any(isinstance(op, CreatePolicyOp) and op.table_name == "brands" for op in found)
