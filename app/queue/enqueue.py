"""Enqueue jobs inside the caller's database transaction.

Why not enqueue after commit, or an outbox relay? SAQ's queue is a table in our own database,
so the job row can be written by the same transaction as the change it belongs to, and the
wake-up is a `pg_notify`, which PostgreSQL delivers only on commit. A committed change
therefore always has its job, and a rolled-back change never runs one — with no relay process,
no polling delay, and no window between commit and enqueue. Tasks are still written to be
idempotent, because a worker killed mid-job retries it.
"""

from __future__ import annotations

from typing import Any

from saq.job import Job, Status
from saq.queue.base import Queue
from saq.utils import now, now_seconds
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.logs import current_request_id
from app.queue.registry import spec_of

REQUEST_ID_META = "request_id"
"""Job `meta` key: the request that enqueued the job, so the worker's log lines carry its id."""

# The insert and its wake-up in one round trip; no row back (and no notification) when a job
# with that key already exists.
_INSERT_JOB_AND_NOTIFY = text(
    """
    WITH inserted AS (
        INSERT INTO saq_jobs (key, job, queue, status, priority, group_key, scheduled)
        VALUES (:key, :job, :queue, :status, :priority, :group_key, :scheduled)
        ON CONFLICT (key) DO NOTHING
        RETURNING 1
    )
    SELECT pg_notify(:channel, 'saq:enqueue') FROM inserted
    """
)


async def enqueue(
    session: AsyncSession,
    queue: Queue,
    task_name: str,
    *,
    key: str | None = None,
    delay_seconds: int = 0,
    **kwargs: Any,
) -> Job | None:
    """Add a job for `task_name(**kwargs)` to `queue` in the session's transaction.

    `key` makes the job unique: a second enqueue with the same key is ignored (returns None).
    """
    spec = spec_of(task_name)
    job = Job(
        function=task_name,
        kwargs=kwargs or None,
        queue=queue,
        timeout=spec.timeout,
        retries=spec.retries,
        retry_delay=spec.retry_delay,
        retry_backoff=spec.retry_backoff,
    )
    if key is not None:
        job.key = key
    if (request_id := current_request_id.get()) is not None:
        job.meta[REQUEST_ID_META] = request_id
    job.queued = now()
    job.status = Status.QUEUED
    job.scheduled = int(now_seconds()) + delay_seconds if delay_seconds else 0
    inserted = await session.execute(
        _INSERT_JOB_AND_NOTIFY,
        {
            "channel": f"saq:{queue.name}",
            "key": job.key,
            "job": queue.serialize(job),
            "queue": queue.name,
            "status": job.status,
            "priority": job.priority,
            "group_key": job.group_key,
            "scheduled": job.scheduled or int(now_seconds()),
        },
    )
    return None if inserted.first() is None else job
