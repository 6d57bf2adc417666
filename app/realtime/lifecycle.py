"""Start-up wiring: the event listeners of threads, notifications and the feed, and the
process's hub and LISTEN connection (one per API process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from sqlalchemy.engine import URL

from app.db.engine import libpq_dsn
from app.realtime.hub import Hub
from app.realtime.listener import PostgresListener


def install_listeners() -> None:
    """Register every event listener and topic (idempotent). Order matters: system messages
    and notifications are written before the feed publishes the event; all their frames leave
    in one `pg_notify` statement per flush."""
    import app.notifications.listeners
    import app.realtime.feed
    import app.threads.listeners
    from app.events.services import register_dispatch_scope
    from app.realtime.publish import publications_of_flush

    register_dispatch_scope("realtime.publications", publications_of_flush)
    app.threads.listeners.install()
    app.notifications.listeners.install()
    app.realtime.feed.install()


@asynccontextmanager
async def realtime_lifespan(app: Litestar, app_url: URL) -> AsyncIterator[Hub]:
    hub = Hub(session_maker=app.state.session_maker)
    listener = PostgresListener(libpq_dsn(app_url), hub)
    await listener.start()
    app.state.realtime_hub = hub
    try:
        yield hub
    finally:
        await listener.stop()
