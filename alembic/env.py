"""Alembic environment: runs as the database owner, on the app's metadata.

Row-level security reaches migrations through `app.db.rls_alembic` (imported for its side effect of
registering the `op.enable_rls` / `op.create_policy` operations and their autogenerate hook).
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import app.db.rls_alembic  # noqa: F401  (registers RLS operations)
from app.config import get_config
from app.db.setup import resolve_owner_url
from app.metadata import is_managed_table, metadata

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging_setup"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return is_managed_table(name or "")
    return True


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()
        grant_version_reads(connection)


def grant_version_reads(connection: Connection) -> None:
    """Let the app and system roles read `alembic_version`: production processes check the schema
    is at head (`app.cli db-check`) with only their own credentials, and never migrate."""
    for role in (config.attributes.get("app_user"), config.attributes.get("system_user")):
        exists = text("SELECT 1 FROM pg_roles WHERE rolname = :role")
        if role and connection.execute(exists, {"role": role}).scalar():
            connection.exec_driver_sql(f'GRANT SELECT ON alembic_version TO "{role}"')


async def run_async_migrations() -> None:
    owner_url = config.attributes.get("owner_url")
    if owner_url is None:
        settings = get_config().database
        owner_url = resolve_owner_url(settings)
        config.attributes["app_user"] = settings.app_user
        config.attributes["system_user"] = settings.system_user
    engine = create_async_engine(owner_url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run() -> None:
    if context.is_offline_mode():
        raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_async_migrations())
    else:  # called from inside an event loop (tests): run on a private loop in a thread
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            executor.submit(asyncio.run, run_async_migrations()).result()


run()
