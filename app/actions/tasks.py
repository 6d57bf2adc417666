"""The actions' cron job: forget idempotency keys past their 24 hours.

Crosses every team and user, so it runs on the system role (BYPASSRLS), on the schedule of the
daily purge (`PURGE_CRON`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from saq.types import Context
from sqlalchemy import delete

from app.actions.models import IdempotencyKey
from app.config import Settings
from app.queue.registry import resources, scheduled_task
from app.system.runs import task_run


def _purge_schedule(settings: Settings) -> str:
    return settings.queue.purge_cron


@scheduled_task(cron=_purge_schedule, timeout=300)
async def purge_idempotency_keys(ctx: Context) -> str:
    """Delete the idempotency keys that have expired (a retry after that runs the action again)."""
    worker = resources(ctx)
    now = datetime.now(tz=UTC)
    async with worker.system_session_maker() as session, session.begin():
        result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
        summary = f"idempotency_keys={result.rowcount}"  # pyright: ignore[reportAttributeAccessIssue]
        session.add(task_run(ctx, "purge_idempotency_keys", summary))
    return summary
