"""The operators' record of a cron task's run (`scheduled_task_runs`), built from the job's context."""

from __future__ import annotations

from datetime import UTC, datetime

from saq.types import Context

from app.system.models import ScheduledTaskRun


def task_run(ctx: Context, task: str, summary: str) -> ScheduledTaskRun:
    """One run of `task`: when it was due (the job's schedule, else now), the worker, what it did.
    Add it in the run's own system-role transaction, so it commits exactly when the work does."""
    job = ctx.get("job")
    now = datetime.now(tz=UTC)
    due = datetime.fromtimestamp(job.scheduled, tz=UTC) if job is not None and job.scheduled else now
    worker = ctx.get("worker")
    return ScheduledTaskRun(
        task=task, due_at=due, worker_id=str(worker.id) if worker is not None else None, summary=summary
    )
