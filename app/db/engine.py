"""Engines and session factories.

Two roles reach the same database: the owner (migrations, role setup, the few named system
jobs) and the application role (every request and tenant job). The application engine never
connects as the owner, even when `DATABASE_URL` names a superuser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db.tenancy import TenantContext, TenantSession, tenant_info

SessionMaker = async_sessionmaker[AsyncSession]


def libpq_dsn(url: URL) -> str:
    """`url` as a plain `postgresql://` DSN (password included) for asyncpg, psycopg and libpq tools."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: URL, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        echo=echo,
        connect_args={"server_settings": {"application_name": "campaign-platform"}},
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
