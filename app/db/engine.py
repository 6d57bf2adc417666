"""Engines and session factories.

Two roles reach the same database: the owner (migrations, role setup, the few named system
jobs) and the application role (every request and tenant job). The application engine never
connects as the owner, even when `DATABASE_URL` names a superuser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db.tenancy import TenantContext, TenantSession, tenant_info

if TYPE_CHECKING:
    from app.config import DatabaseSettings

SessionMaker = async_sessionmaker[AsyncSession]


def libpq_dsn(url: URL) -> str:
    """`url` as a plain `postgresql://` DSN (password included) for asyncpg, psycopg and libpq tools."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


STATEMENT_CACHE_SIZE = 1024
"""Prepared statements kept per connection (asyncpg's cache and SQLAlchemy's, each). The API has
more statement shapes than the default 100: past it, a request evicts statements it then closes
and prepares again, three to four extra round trips seen in one read."""


def create_engine(
    url: URL,
    *,
    pool_size: int = 10,
    fixed_pool: bool = False,
    echo: bool = False,
    transaction_pooler: bool = False,
) -> AsyncEngine:
    """An asyncpg engine: `pool_size` connections kept, and as many again opened for a burst
    (closed when they come back to a full pool), or with `fixed_pool` exactly `pool_size`, every
    one kept open once opened and a request beyond them waiting for one.

    Behind a transaction-mode pooler (`transaction_pooler`), statements are
    not kept prepared: PgBouncer 1.18 hands each transaction any server connection, where a
    statement prepared on another one does not exist. asyncpg then prepares unnamed statements
    (one more Parse per statement, measured in `bench/pooler_read.py`) and SQLAlchemy names each
    one uniquely, so no two clients' names clash on a shared server connection."""
    connect_args: dict[str, Any] = {"server_settings": {"application_name": "campaign-platform"}}
    if transaction_pooler:
        connect_args["statement_cache_size"] = 0  # asyncpg's own cache (the fast read path)
        connect_args["prepared_statement_cache_size"] = 0  # SQLAlchemy's adapter's cache
        connect_args["prepared_statement_name_func"] = _unique_statement_name
    else:
        connect_args["statement_cache_size"] = STATEMENT_CACHE_SIZE
        connect_args["prepared_statement_cache_size"] = STATEMENT_CACHE_SIZE
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if fixed_pool else pool_size,
        pool_use_lifo=True,  # the connection used last, whose statements are prepared; the rest stay idle
        pool_pre_ping=False,
        echo=echo,
        connect_args=connect_args,
    )


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid4().hex}__"


def create_app_engine(
    settings: DatabaseSettings, owner_url: URL, *, pool_size: int, fixed_pool: bool = False
) -> AsyncEngine:
    """The application role's engine for requests and jobs: through the pooler when one is set."""
    return create_engine(
        settings.engine_url_from(owner_url),
        pool_size=pool_size,
        fixed_pool=fixed_pool,
        echo=settings.echo,
        transaction_pooler=settings.pooler == "transaction",
    )


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TenantSession)


@asynccontextmanager
async def tenant_session(
    session_maker: SessionMaker, context: TenantContext | None
) -> AsyncIterator[AsyncSession]:
    """One unit of work under `context`: commit on success, roll back on error.

    Requests, jobs and CLI commands all open their sessions here, so RLS holds everywhere.
    """
    async with session_maker(info=tenant_info(context)) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
