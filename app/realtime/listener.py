"""The process's one `LISTEN` connection: a plain asyncpg connection, session-level (never
through a transaction-mode pooler), reconnecting with backoff when it drops.

Notifications sent while it is away are gone (PostgreSQL queues them only for listening
sessions), so after a reconnect the hub re-authorises every subscription and sends `resync`,
dated from the last moment the old connection was known to deliver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.realtime.hub import Hub
from app.realtime.publish import CHANNEL

logger = logging.getLogger(__name__)


class PostgresListener:
    def __init__(self, dsn: str, hub: Hub) -> None:
        self.dsn = dsn
        self.hub = hub
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._delivering_since = datetime.now(tz=UTC)
        """When the current connection last proved it was delivering (connected, or a payload)."""

    async def start(self) -> None:
        """Connect and listen before returning, so the server serves only once it can deliver."""
        await self._connect()
        self._task = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    async def _connect(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": "campaign-platform-listen"}
        )
        connection.add_termination_listener(lambda _: self._lost.set())
        await connection.add_listener(CHANNEL, self._on_notify)
        self._connection = connection
        self._delivering_since = datetime.now(tz=UTC)
        logger.info("realtime: listening on %s", CHANNEL)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._delivering_since = datetime.now(tz=UTC)
        try:
            self.hub.dispatch(payload)
        except Exception:
            logger.exception("realtime: could not dispatch a payload")

    async def _keep_listening(self) -> None:
        delay = 0.5
        while True:
            await self._lost.wait()
            missed_since = self._delivering_since
            logger.warning("realtime: the LISTEN connection was lost; reconnecting")
            while True:
                try:
                    await self._connect()
                    delay = 0.5
                    self.hub.resynchronize(missed_since)
                    logger.info(
                        "realtime: listening again; subscriptions re-checked, clients told to re-read"
                    )
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    logger.warning("realtime: reconnect failed (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
