"""Whether the database answers, as seen by this process: one log line per change, not one
traceback per failed request.

The exception handlers report an outage (`went_down`) when a request fails because the
database cannot be reached; the engine's `connect` event reports it back (`came_back`) when a
new connection succeeds, which is the first thing that happens once PostgreSQL is up again
(the pool discards the connections the outage broke).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("app.database")


class DatabaseAvailability:
    def __init__(self) -> None:
        self._down = False
        self._lock = threading.Lock()

    @property
    def is_down(self) -> bool:
        return self._down

    def went_down(self, exc: BaseException) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        logger.error("database unreachable (%s); answering 503 with Retry-After until it is back", reason)

    def came_back(self) -> None:
        if not self._down:
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
        logger.warning("database reachable again")

    def watch(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "connect", lambda *_: self.came_back())
