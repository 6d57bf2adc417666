"""Writes that arrive in the same turn of the event loop, sent to PostgreSQL as one statement.

A worker finishes jobs in bursts: the jobs of one claim start together, and short ones end
together. Each finish was its own UPDATE (a pool checkout, a round trip, psycopg's per-statement
work). `CoalescedRows` gathers the rows written while a flush waits for its turn and sends them
as one `UPDATE ... FROM unnest(...)`; every writer still returns only once its row is stored,
and gets the statement's error if it failed, exactly as with its own statement.
"""

from __future__ import annotations

import asyncio
import typing as t

from psycopg import AsyncConnection
from psycopg.sql import Composed
from psycopg_pool import AsyncConnectionPool


class CoalescedRows:
    """Rows keyed by `key`, stored by `statement`, whose parameters are one array per column.

    A second row for a key already waiting replaces it (the later write wins, as it would one
    statement after the other), and both writers return when it is stored.
    """

    def __init__(
        self, pool: AsyncConnectionPool[AsyncConnection[t.Any]], statement: Composed, columns: tuple[str, ...]
    ) -> None:
        self._pool = pool
        self._statement = statement
        self._columns = columns
        self._rows: dict[str, dict[str, t.Any]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._flushes: set[asyncio.Task[None]] = set()

    async def write(self, key: str, row: dict[str, t.Any]) -> None:
        loop = asyncio.get_running_loop()
        if not self._rows:
            flush = loop.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        self._rows[key] = row
        stored = loop.create_future()
        self._waiters.append(stored)
        await stored

    async def drain(self) -> None:
        """Wait for every flush under way (before the pool closes)."""
        while self._flushes:
            await asyncio.wait(list(self._flushes))

    async def _flush(self) -> None:
        waiters: list[asyncio.Future[None]] | None = None
        try:
            async with self._pool.connection() as conn:
                # Taken only now: rows written while the connection was coming join this statement.
                rows, waiters = self._take()
                params = {column: [row[column] for row in rows.values()] for column in self._columns}
                await conn.execute(self._statement, params)
        except BaseException as error:  # the writers get it, as they would from their own statement
            for waiter in waiters if waiters is not None else self._take()[1]:
                if waiter.done():
                    continue
                if isinstance(error, asyncio.CancelledError):
                    waiter.cancel()
                else:
                    waiter.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for waiter in waiters:
            if not waiter.done():  # a writer cancelled while waiting: its row is stored all the same
                waiter.set_result(None)

    def _take(self) -> tuple[dict[str, dict[str, t.Any]], list[asyncio.Future[None]]]:
        rows, waiters = self._rows, self._waiters
        self._rows, self._waiters = {}, []
        return rows, waiters
