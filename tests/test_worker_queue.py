"""`ApplicationQueue`'s own statements (app/queue/backend.py), on the real queue tables.

Each test uses a queue of its own name, so a worker running for another test never takes its jobs.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from psycopg import AsyncConnection
from psycopg.errors import DivisionByZero
from psycopg.sql import SQL
from psycopg_pool import PoolTimeout
from saq.job import Status

from app.config import Settings
from app.queue.backend import ApplicationQueue
from app.queue.batching import CoalescedRows
from app.queue.config import build_queue
from tests.database import TestDatabase

POOL_SIZE = 4


@pytest.fixture
async def queue(database: TestDatabase, settings: Settings) -> AsyncIterator[ApplicationQueue]:
    queue = build_queue(
        settings.database.app_url_from(database.owner_url),
        max_connections=POOL_SIZE,
        name=f"test-{uuid.uuid4().hex[:12]}",
    )
    await queue.connect()
    try:
        yield queue
    finally:
        await queue.disconnect()


async def _dequeue_when_enqueued(queue: ApplicationQueue) -> str:
    """Wait for a job first (the LISTEN path), then enqueue one; the key of the job dequeued."""
    waiting = asyncio.create_task(queue.dequeue(timeout=10))
    await asyncio.sleep(0.2)
    job = await queue.enqueue("noop")
    assert job is not None
    dequeued = await waiting
    assert dequeued is not None, "the enqueue notification did not wake the waiting dequeue"
    return dequeued.key


async def test_a_claimed_job_is_stored_started_by_the_claim_itself(queue: ApplicationQueue) -> None:
    job = await queue.enqueue("noop", timeout=30)
    assert job is not None

    claimed = await queue.dequeue(timeout=5)

    assert claimed is not None
    assert claimed.key == job.key
    assert claimed.started > 0
    assert claimed.status == Status.ACTIVE
    stored = await queue.job(job.key)
    assert stored is not None
    # The sweep reads the stored body: without the start time a claimed job looks stuck.
    assert stored.status == Status.ACTIVE
    assert (stored.started, stored.touched) == (claimed.started, claimed.started)
    assert not stored.stuck
    assert (stored.function, stored.timeout, stored.queued) == ("noop", 30, job.queued)


async def test_waiting_for_jobs_leaves_no_pooled_connection_listening(queue: ApplicationQueue) -> None:
    keys = [await _dequeue_when_enqueued(queue) for _ in range(3)]
    assert len(set(keys)) == 3

    # Every connection the pool can hand out (all but the queue's one listener) listens to nothing:
    # SAQ's own listener went back to the pool still LISTENing after each wait.
    taken = []
    try:
        while True:
            try:
                conn = await queue.pool.getconn(timeout=0.5)
            except PoolTimeout:
                break
            taken.append(conn)
            cursor = await conn.execute("SELECT count(*) FROM pg_listening_channels()")
            row = await cursor.fetchone()
            assert row == (0,), "a pooled connection is still listening"
    finally:
        for conn in taken:
            await queue.pool.putconn(conn)
    assert len(taken) == POOL_SIZE - 1


async def test_pooled_connections_whose_backends_were_terminated_are_replaced_not_handed_out(
    queue: ApplicationQueue, owner_connection: asyncpg.Connection
) -> None:
    # Every connection of the pool, used a moment ago: the pool's probe skips its round trip for
    # those unless something is waiting on the socket (here, PostgreSQL's goodbye).
    pids = [conn.info.backend_pid for conn in await _every_pooled_connection(queue)]
    assert len(pids) == POOL_SIZE
    for pid in pids:
        assert await owner_connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    await asyncio.sleep(0.2)

    job = await queue.enqueue("noop")

    assert job is not None
    assert queue.pool.get_stats().get("connections_lost", 0) >= 1


async def _every_pooled_connection(queue: ApplicationQueue) -> list[AsyncConnection[Any]]:
    """Check out every connection the pool can hand out, touch each, and give them back."""
    pool: Any = queue.pool
    taken: list[AsyncConnection[Any]] = []
    try:
        while True:
            try:
                conn = await pool.getconn(timeout=0.5)
            except PoolTimeout:
                return list(taken)
            taken.append(conn)
            await conn.execute("SELECT 1")
    finally:
        for conn in taken:
            await pool.putconn(conn)


async def _stored(owner_connection: asyncpg.Connection, key: str) -> tuple[dict[str, Any], int]:
    """The job's stored body and its row version (`xmin` changes on every write)."""
    row = await owner_connection.fetchrow(
        "SELECT job, xmin::text::bigint AS version FROM saq_jobs WHERE key = $1", key
    )
    assert row is not None
    return json.loads(bytes(row["job"])), row["version"]


async def test_a_workers_claim_records_the_attempt_and_the_start_writes_nothing_more(
    queue: ApplicationQueue, owner_connection: asyncpg.Connection
) -> None:
    queue.claimant_id = "worker-1"
    job = await queue.enqueue("noop")
    assert job is not None

    claimed = await queue.dequeue(timeout=5)

    assert claimed is not None
    stored, version = await _stored(owner_connection, job.key)
    assert (stored["status"], stored["attempts"], stored["worker_id"]) == ("active", 1, "worker-1")
    # What SAQ's `process` does next: count the attempt, then store the job as active.
    assert claimed.attempts == 0
    claimed.attempts += 1
    await queue.update(claimed, status=Status.ACTIVE)
    assert await _stored(owner_connection, job.key) == (stored, version)

    await queue.retry(claimed, error="once more")
    again = await queue.dequeue(timeout=5)
    assert again is not None
    assert (await _stored(owner_connection, job.key))[0]["attempts"] == 2


async def test_a_body_the_claim_cannot_read_is_claimed_and_its_attempt_stored_by_the_start(
    queue: ApplicationQueue, owner_connection: asyncpg.Connection
) -> None:
    queue.claimant_id = "worker-1"
    job = await queue.enqueue("noop", text="NUL \x00 is valid JSON but not jsonb")  # jsonb refuses \u0000
    assert job is not None

    claimed = await queue.dequeue(timeout=5)

    assert claimed is not None
    assert claimed.key == job.key
    stored, _ = await _stored(owner_connection, job.key)
    assert stored["status"] == "active"
    assert "attempts" not in stored
    claimed.attempts += 1
    await queue.update(claimed, status=Status.ACTIVE)
    stored, _ = await _stored(owner_connection, job.key)
    assert (stored["attempts"], stored["kwargs"]["text"]) == (1, "NUL \x00 is valid JSON but not jsonb")


async def test_claimed_jobs_no_task_took_go_back_to_the_queue_on_disconnect(
    queue: ApplicationQueue, owner_connection: asyncpg.Connection
) -> None:
    queue.claimant_id = "worker-1"
    jobs = [await queue.enqueue("noop") for _ in range(2)]
    # Two tasks waiting, then both cancelled after the claim (a worker stopping): the jobs are
    # claimed into the queue's buffer and nobody takes them.
    queue._waiting = 2  # pyright: ignore[reportPrivateUsage]
    await queue._dequeue()  # pyright: ignore[reportPrivateUsage]
    queue._waiting = 0  # pyright: ignore[reportPrivateUsage]
    for job in jobs:
        assert job is not None
        assert (await _stored(owner_connection, job.key))[0]["attempts"] == 1

    await queue.disconnect()

    for job in jobs:
        assert job is not None
        stored, _ = await _stored(owner_connection, job.key)
        assert stored["status"] == "queued"
        assert not ({"attempts", "started", "worker_id"} & stored.keys()), stored


async def test_tasks_that_wait_during_a_claim_are_served_by_the_next_claim_at_once(
    queue: ApplicationQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(6):
        await queue.enqueue("noop")
    claim = queue._claim  # pyright: ignore[reportPrivateUsage]
    asked: list[int] = []
    arriving_during_claim = [3]

    async def claim_while_tasks_finish(cursor: Any, limit: int) -> int:
        asked.append(limit)
        # Tasks that finish now wait without claiming: this claim holds the lock.
        queue._waiting += arriving_during_claim.pop() if arriving_during_claim else 0  # pyright: ignore[reportPrivateUsage]
        return await claim(cursor, limit)

    monkeypatch.setattr(queue, "_claim", claim_while_tasks_finish)
    queue._waiting = 2  # pyright: ignore[reportPrivateUsage]
    await queue._dequeue()  # pyright: ignore[reportPrivateUsage]

    # 2 for the tasks waiting first, then at once 3 for those that came during that claim.
    assert asked == [2, 3]
    assert queue._job_queue.qsize() == 5  # pyright: ignore[reportPrivateUsage]
    # Two more tasks unserved, one job left: the claim for two finds one and the round ends.
    queue._waiting = 7  # pyright: ignore[reportPrivateUsage]
    asked.clear()
    await queue._dequeue()  # pyright: ignore[reportPrivateUsage]
    assert asked == [2], "a claim that found fewer jobs than it asked for must end the round"
    assert queue._job_queue.qsize() == 6  # pyright: ignore[reportPrivateUsage]
    queue._waiting = 0  # pyright: ignore[reportPrivateUsage]


async def test_jobs_finished_together_are_stored_by_one_statement(
    queue: ApplicationQueue, owner_connection: asyncpg.Connection
) -> None:
    for _ in range(3):
        await queue.enqueue("noop")
    claimed = [await queue.dequeue(timeout=5) for _ in range(3)]

    await asyncio.gather(
        *(queue.finish(job, Status.COMPLETE, result=i) for i, job in enumerate(claimed) if job)
    )

    rows = await owner_connection.fetch(
        "SELECT job, status, xmin::text AS transaction FROM saq_jobs WHERE key = ANY($1)",
        [job.key for job in claimed if job],
    )
    assert {row["status"] for row in rows} == {"complete"}
    assert sorted(json.loads(bytes(row["job"]))["result"] for row in rows) == [0, 1, 2]
    assert len({row["transaction"] for row in rows}) == 1, "one statement (one transaction) for the three"


async def test_every_writer_of_a_coalesced_statement_that_fails_gets_its_error(
    queue: ApplicationQueue,
) -> None:
    failing = CoalescedRows(queue.pool, SQL("SELECT 1 / 0 FROM unnest(%(key)s::text[])"), ("key",))  # pyright: ignore[reportArgumentType]

    outcomes = await asyncio.gather(
        *(failing.write(key, {"key": key}) for key in "abc"), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes] == [DivisionByZero] * 3


async def test_the_queues_connections_plan_with_indexes(queue: ApplicationQueue) -> None:
    # saq_jobs' statistics are often those of an empty table when a backlog arrives; see plan_by_index.
    async with queue.pool.connection() as conn:
        cursor = await conn.execute("SHOW enable_seqscan")
        assert await cursor.fetchone() == ("off",)
