"""SAQ's PostgreSQL queue, with its schema owned by our migrations and fewer round trips per job.

SAQ normally creates its tables on connect. The application role may not create tables (and
must not), so `ApplicationQueue.init_db` only checks that the migrations put them in place.

Round trips. SAQ 0.26's PostgreSQL queue spends most of a no-op job waiting on the database:
every state change (`_update`) is BEGIN, UPDATE, COMMIT, and inside the dequeue transaction a
SAVEPOINT, UPDATE, RELEASE per job; every pool checkout ran a check query first. With
`ApplicationQueue` (same statements, same locking, same transactions where they matter):

- `_update` with a known status is one UPDATE: a single statement is already atomic, the
  explicit transaction added nothing but two round trips. With no status SAQ reads it
  `FOR UPDATE` first, which does need the transaction: that path is SAQ's own.
- `_dequeue` claims its batch as SAQ does (`FOR UPDATE SKIP LOCKED`, up to one job per idle
  `process` task, group keys respected) and, in the same statement, stamps the claimed jobs'
  bodies as started (so the sweep never sees a claimed job without its start time, the race
  SAQ's per-job UPDATE closed) and sends the `saq:dequeue` notification: one round trip.
  Tasks that come for a job while a claim is on the wire are claimed for right after it (SAQ
  left them waiting for the next task to finish, so the worker sat idle between claims).
- When a worker claims (`claimant_id` set), the claim also records the attempt: the body gets
  the worker's id and `attempts + 1` (`saq_next_attempt`, migration 0018). SAQ's `process` then
  writes the job again only to store those same values (`update(status=ACTIVE)`); for a job whose
  attempt the claim recorded that write is skipped. A body the function cannot read is claimed
  all the same and its attempt written by SAQ's own update, as before.
- A finished job that is kept (SAQ's default `ttl`) is written with the others finished in the
  same turn of the event loop: one `UPDATE ... FROM unnest(...)` for the batch
  (app/queue/batching.py). Each `finish` still returns only once its row is stored.
- A stopping worker claims nothing more (`stop_claiming`). Jobs claimed but never handed to a
  `process` task (the worker stopped first) are put back on disconnect, their attempt undone,
  instead of waiting for the sweep to call them stuck.
- The LISTEN connection stays for the queue's life (`PersistentListener`).
- The pool's check (`ProbeWhenSuspect`) costs no round trip for a connection that is quiet and
  was used recently; one that has bytes waiting (PostgreSQL says goodbye on a restart or a
  terminated backend) or sat unused for a while gets the real check.
"""

from __future__ import annotations

import asyncio
import json
import logging
import select
import time
import typing as t
import weakref
from contextlib import suppress
from functools import cached_property

import psycopg
from psycopg import AsyncConnection
from psycopg.errors import UndefinedTable
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import AsyncConnectionPool
from saq.job import Job, Status
from saq.queue.postgres import DEQUEUE, ListenMultiplexer, PostgresQueue
from saq.queue.postgres_migrations import get_migrations
from saq.utils import now, now_seconds

from app.queue.batching import CoalescedRows

logger = logging.getLogger(__name__)


def saq_schema_version() -> int:
    return get_migrations(jobs_table=Identifier("saq_jobs"), stats_table=Identifier("saq_stats"))[-1][0]


class QueueSchemaError(RuntimeError):
    """SAQ's tables are missing or older than the installed SAQ expects."""


FINISHED = frozenset({Status.COMPLETE, Status.FAILED, Status.ABORTED})
"""The statuses a job ends in: their writes are coalesced."""
LISTENER_CLOSE_SECONDS = 2.0
"""How long the queue's listener gets to stop listening when the queue disconnects."""
PROBE_AFTER_IDLE_SECONDS = 10.0
"""A pooled connection unused for longer than this gets a real check (one round trip) when taken."""


class ProbeWhenSuspect:
    """The pool's `check` and `reset` callbacks: probe a connection only when it may be broken.

    `reset` (run when a connection comes back to the pool in a good state) notes the time. On
    checkout a connection is probed with `check_connection` when it was idle for longer than
    `PROBE_AFTER_IDLE_SECONDS`, was never noted, or has bytes waiting on its socket: an idle
    connection receives nothing unless the server is telling it something, most often that it
    is shutting down or that the backend was terminated. A failed probe makes the pool replace
    the connection, as before.
    """

    def __init__(self, probe_after_idle: float = PROBE_AFTER_IDLE_SECONDS) -> None:
        self.probe_after_idle = probe_after_idle
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[t.Any], float] = weakref.WeakKeyDictionary()

    async def reset(self, conn: AsyncConnection[t.Any]) -> None:
        self._returned[conn] = time.monotonic()

    async def check(self, conn: AsyncConnection[t.Any]) -> None:
        returned = self._returned.pop(conn, None)
        if returned is None or time.monotonic() - returned > self.probe_after_idle or _has_input(conn):
            await AsyncConnectionPool.check_connection(conn)


def _has_input(conn: AsyncConnection[t.Any]) -> bool:
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True  # no usable socket: let the real check decide


class PersistentListener(ListenMultiplexer):
    """SAQ's LISTEN connection, kept for the queue's life instead of once per wait.

    SAQ's multiplexer stops when its last subscriber leaves (an idle worker's waiting task got
    its job) and returns the connection to the pool still LISTENing; the next wait takes another
    connection and LISTENs again. Pooled connections piled up subscriptions, so every
    notification reached most of the pool, and a notification sent between two waits reached
    nobody (the job then waited for the next schedule tick). Here the listening connection stays
    until the queue disconnects, and leaves with `UNLISTEN *` so it goes back to the pool clean.
    """

    async def unsubscribe(self, queue: t.Any) -> None:
        for channel in self._queues.pop(queue, []):
            self._subscriptions[channel].remove(queue)

    async def _start(self) -> None:
        async with self.pool.connection() as conn:
            try:
                await conn.execute(SQL("LISTEN {}").format(Identifier(self.key)))
                async for notify in conn.notifies():
                    self.publish(notify.payload, notify.payload)
            finally:
                with suppress(Exception):
                    await conn.execute(SQL("UNLISTEN *"))


class ApplicationQueue(PostgresQueue):
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._listener = PersistentListener(self.pool, self._channel)  # pyright: ignore[reportArgumentType]
        self.claimant_id: str | None = None
        """The worker's id, set by the worker that dequeues: its claims then record the attempt."""
        self._recorded_attempts: set[str] = set()
        """Keys of claimed jobs whose attempt the claim stored and `process` has not yet started."""
        self._claiming = True
        self._finished_rows = CoalescedRows(
            self.pool,  # pyright: ignore[reportArgumentType]
            self._statements["finish_rows"],
            ("key", "job", "status", "scheduled", "expire_at"),
        )

    async def disconnect(self) -> None:
        if self._connected and not self._job_queue.empty():
            with suppress(Exception):  # the sweep still retries them, later
                released = await self.release_unstarted()
                logger.info("put back %d claimed job(s) no task started: %s", len(released), released)
        await self._finished_rows.drain()
        listening = self._listener._daemon_task  # pyright: ignore[reportPrivateUsage]
        await self._listener.close()
        if listening is not None:  # let it UNLISTEN and give its connection back before the pool closes
            await asyncio.wait([listening], timeout=LISTENER_CLOSE_SECONDS)
        await super().disconnect()

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

    @cached_property
    def _statements(self) -> dict[str, Composed]:
        """The statements, composed once (SAQ formats and dedents them for every call)."""
        jobs = self.jobs_table
        return {
            "update": SQL(
                "UPDATE {jobs} SET job = %(job)s, status = %(status)s, scheduled = %(scheduled)s WHERE key = %(key)s"
            ).format(jobs=jobs),
            "update_expiring": SQL(
                "UPDATE {jobs} SET job = %(job)s, status = %(status)s, scheduled = %(scheduled)s, "
                "expire_at = %(expire_at)s WHERE key = %(key)s"
            ).format(jobs=jobs),
            # Finished jobs, written together (app/queue/batching.py): `_update`'s UPDATE for many.
            "finish_rows": SQL(
                "UPDATE {jobs} SET job = v.job, status = v.status, scheduled = v.scheduled, expire_at = v.expire_at"
                " FROM unnest(%(key)s::text[], %(job)s::bytea[], %(status)s::text[], %(scheduled)s::bigint[],"
                " %(expire_at)s::bigint[]) AS v(key, job, status, scheduled, expire_at)"
                " WHERE {jobs}.key = v.key"
            ).format(jobs=jobs),
            # SAQ's dequeue statement, which also stamps the claimed jobs' bodies as started and
            # wakes this queue's listeners: one autocommit statement instead of a transaction with
            # one UPDATE per job and a NOTIFY after it. The body is SAQ's JSON object; its last
            # byte ("}") is replaced by `, "status": ..., "started": ..., "touched": ...}`, and
            # JSON's last-key-wins reading gives the job those values (the next `_update` writes a
            # clean body). No JSON parsing in SQL, so no job's content can make the claim fail.
            # PostgreSQL delivers one notification per transaction for identical payloads.
            # With `record` the stamp also stores the attempt the claim starts (the body's
            # `attempts` + 1, read by `saq_next_attempt`, NULL for a body it cannot read): the
            # second column says whether it did. FOR UPDATE hands the function the locked row.
            "claim": SQL(
                "WITH locked_job AS ("
                " SELECT key, CASE WHEN %(record)s THEN saq_next_attempt(job) END AS next_attempt"
                " FROM {jobs}"
                " WHERE status = 'queued' AND queue = %(queue)s AND %(now)s >= scheduled"
                " AND priority BETWEEN %(plow)s AND %(phigh)s"
                " AND group_key NOT IN ("
                "  SELECT DISTINCT group_key FROM {jobs}"
                "  WHERE status = 'active' AND queue = %(queue)s AND group_key IS NOT NULL)"
                " ORDER BY priority, scheduled LIMIT %(limit)s FOR UPDATE SKIP LOCKED),"
                " claimed AS ("
                " UPDATE {jobs} SET status = 'active',"
                " job = substring({jobs}.job FROM 1 FOR length({jobs}.job) - 1) || %(stamp)s::bytea"
                " || CASE WHEN locked_job.next_attempt IS NULL THEN '}}'::bytea"
                " ELSE convert_to(', \"attempts\": ' || locked_job.next_attempt || '}}', 'UTF8') END"
                " FROM locked_job WHERE {jobs}.key = locked_job.key"
                " RETURNING {jobs}.job, locked_job.next_attempt IS NOT NULL AS recorded)"
                " SELECT job, recorded, pg_notify(%(channel)s, %(payload)s) FROM claimed"
            ).format(jobs=jobs),
        }

    async def _update(self, job: Job, status: Status | None = None, **kwargs: t.Any) -> None:
        if status == Status.ACTIVE and job.key in self._recorded_attempts:
            # SAQ's `process` starting a job whose claim already stored what this would write.
            self._recorded_attempts.discard(job.key)
            return
        if status is None:  # SAQ reads the status FOR UPDATE in a transaction first
            await super()._update(job, status, **kwargs)
            return
        expire_at = kwargs.pop("expire_at", -1)
        connection: AsyncConnection[t.Any] | None = kwargs.pop("connection", None)
        job.status = status
        params = {
            "job": self.serialize(job),
            "status": job.status.value,
            "key": job.key,
            "scheduled": job.scheduled,
        }
        statements = self._statements
        if expire_at == -1:
            statement = statements["update"]
        else:
            statement = statements["update_expiring"]
            params["expire_at"] = expire_at
        if connection is not None:
            await connection.execute(statement, params)
            return
        if expire_at != -1 and status in FINISHED:
            await self._finished_rows.write(job.key, params)
            return
        async with self.pool.connection() as conn:
            await conn.execute(statement, params)

    async def _finish(
        self,
        job: Job,
        status: Status,
        *,
        result: t.Any = None,
        error: str | None = None,
        connection: AsyncConnection[t.Any] | None = None,
    ) -> None:
        # SAQ's, except that a kept job is not given a connection of its own: `_update` then
        # writes it with the other jobs finished in this turn of the loop.
        if connection is not None or job.ttl < 0:
            await super()._finish(job, status, result=result, error=error, connection=connection)
            return
        expire_at = now_seconds() + job.ttl if job.ttl > 0 else None
        await self.update(job, status=status, expire_at=expire_at)

    async def _dequeue(self) -> None:
        if self._dequeue_lock.locked() or not self._claiming:
            return
        async with self._dequeue_lock, self.pool.connection() as conn, conn.cursor() as cursor:
            # Tasks that finish while a claim is on the wire wait without claiming (the lock is
            # held); claim again for them at once while the last claim found all it asked for.
            while self._claiming and (unserved := self._waiting - self._job_queue.qsize()) > 0:
                if await self._claim(cursor, unserved) < unserved:
                    break

    async def _claim(self, cursor: psycopg.AsyncCursor[t.Any], limit: int) -> int:
        """Claim up to `limit` jobs into `_job_queue`; how many it claimed."""
        dequeued = now()
        stamp = b', "status": "active", "started": %d, "touched": %d' % (dequeued, dequeued)
        if self.claimant_id is not None:
            stamp += b', "worker_id": ' + json.dumps(self.claimant_id).encode()
        await cursor.execute(
            self._statements["claim"],
            {
                "queue": self.name,
                "now": now_seconds(),
                "limit": limit,
                "plow": self._priorities[0],
                "phigh": self._priorities[1],
                "record": self.claimant_id is not None,
                "stamp": stamp,
                "channel": self._channel,
                "payload": DEQUEUE,
            },
        )
        rows = await cursor.fetchall()
        # Committed (autocommit). No await before the jobs are in `_job_queue`: the task
        # that listens may hear the dequeue notification as soon as this one yields.
        for body, recorded, _ in rows:
            job = self.deserialize(body, Status.ACTIVE)
            assert job
            job.started = dequeued
            job.touched = dequeued
            if recorded:
                # As SAQ's `process` expects to find it: it counts the attempt itself, then
                # calls `update(status=ACTIVE)`, which has nothing left to store.
                job.attempts -= 1
                self._recorded_attempts.add(job.key)
            self._job_queue.put_nowait(job)
        return len(rows)

    def stop_claiming(self) -> None:
        """Claim no more jobs (the worker is stopping); what is claimed still runs or goes back."""
        self._claiming = False

    @property
    def claim_lock(self) -> asyncio.Lock:
        """Held, no claim is running, and one that starts returns at once without claiming."""
        return self._dequeue_lock

    async def release_unstarted(self) -> list[str]:
        """Put back the jobs this queue claimed that no `process` task took; their keys.

        Each goes back to `queued` as it was before the claim (attempt count, no start time, no
        worker), so the next worker runs it now instead of the sweep retrying it after its
        timeout. Call it once nothing will dequeue from this queue again.
        """
        released = []
        while not self._job_queue.empty():
            job = self._job_queue.get_nowait()
            self._recorded_attempts.discard(job.key)  # its `attempts` is already the count before the claim
            job.started = 0
            job.worker_id = None
            await self.update(job, status=Status.QUEUED)
            released.append(job.key)
        return released
