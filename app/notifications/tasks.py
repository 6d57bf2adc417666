"""The email digest: each user who wants one gets their unread, not yet emailed notifications.

A named system job (it crosses users and teams), so it runs on the system role. It is safe with
any number of workers: each user's notifications are locked (`FOR UPDATE SKIP LOCKED`) by the
transaction that renders and queues the digest and marks them emailed, so a second run finds
nothing to send. The mail goes through the outbox and `send_email`, like every other mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from saq.types import Context
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.mail.rendering import EmailTemplate
from app.mail.services import EmailService
from app.notifications.models import Notification, NotificationPreference
from app.queue.registry import resources, scheduled_task
from app.system.runs import task_run
from app.teams.models import Team
from app.users.models import User

DIGEST_ITEMS = 20
"""Listed in one mail; the rest are counted ("...and 5 more")."""
SLACK = timedelta(minutes=5)
"""A run a little early (cron jitter) still counts as an hour or a day later."""
INTERVALS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


def _digest_schedule(settings: Settings) -> str:
    return settings.queue.digest_cron


def _due_users(now: datetime) -> Any:
    frequency = func.coalesce(NotificationPreference.digest, "daily")
    interval = case(
        (frequency == "hourly", now - INTERVALS["hourly"] + SLACK), else_=now - INTERVALS["daily"] + SLACK
    )
    pending = exists().where(
        Notification.user_id == User.id, Notification.read_at.is_(None), Notification.emailed_at.is_(None)
    )
    return (
        select(User.id, User.email, User.name, frequency.label("frequency"))
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(
            User.is_active.is_(True),
            frequency != "off",
            or_(
                NotificationPreference.last_digest_at.is_(None),
                NotificationPreference.last_digest_at <= interval,
            ),
            pending,
        )
        .order_by(User.id)
    )


async def _send_digest(
    session: AsyncSession,
    queue: Any,
    settings: Settings,
    *,
    user_id: UUID,
    email: str,
    name: str,
    frequency: str,
) -> bool:
    now = datetime.now(tz=UTC)
    rows = (
        await session.execute(
            select(Notification.id, Notification.text, Team.name)
            .join(Team, Team.id == Notification.team_id)
            .where(
                and_(
                    Notification.user_id == user_id,
                    Notification.read_at.is_(None),
                    Notification.emailed_at.is_(None),
                )
            )
            .order_by(Notification.id.desc())
            .with_for_update(of=Notification, skip_locked=True)
        )
    ).all()
    if not rows:
        return False  # another worker holds (or already sent) them
    await EmailService(session=session).send_later(
        queue,
        to=email,
        template=EmailTemplate.NOTIFICATION_DIGEST,
        context={
            "name": name,
            "count": len(rows),
            "frequency": frequency,
            "items": [{"team_name": team, "text": text} for _, text, team in rows[:DIGEST_ITEMS]],
            "more": max(len(rows) - DIGEST_ITEMS, 0),
            "notifications_url": f"{settings.mail.app_base_url}/notifications",
        },
    )
    await session.execute(
        update(Notification).where(Notification.id.in_([row[0] for row in rows])).values(emailed_at=now)
    )
    statement = insert(NotificationPreference).values(
        user_id=user_id, digest=frequency, last_digest_at=now, created_at=now, updated_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"], set_={"last_digest_at": now, "updated_at": now}
        )
    )
    return True


async def _run_digests(ctx: Context) -> str:
    worker = resources(ctx)
    queue = ctx["worker"].queue  # pyright: ignore[reportTypedDictNotRequiredAccess, reportGeneralTypeIssues]
    now = datetime.now(tz=UTC)
    async with worker.system_session_maker() as session, session.begin():
        due = (await session.execute(_due_users(now))).all()
    sent = 0
    for user_id, email, name, frequency in due:
        async with worker.system_session_maker() as session, session.begin():
            if await _send_digest(
                session, queue, worker.settings, user_id=user_id, email=email, name=name, frequency=frequency
            ):
                sent += 1
    summary = f"due={len(due)} sent={sent}"
    async with worker.system_session_maker() as session, session.begin():
        session.add(task_run(ctx, "send_notification_digests", summary))
    return summary


@scheduled_task(cron=_digest_schedule, timeout=300)
async def send_notification_digests(ctx: Context) -> str:
    """Email each user who wants a digest their unread notifications not yet emailed."""
    return await _run_digests(ctx)
