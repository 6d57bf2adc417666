"""System tasks: the daily purge (a named cross-team job on the privileged path) and two
diagnostics used by the queue benchmark and the worker tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from saq.types import Context
from sqlalchemy import delete, or_

from app.config import Settings
from app.queue.registry import resources, scheduled_task, task
from app.system.models import ScheduledTaskRun
from app.teams.models import TeamInvitation
from app.users.models import ActionToken, LoginFailure, OidcLoginFlow, RefreshToken

FINISHED_INVITATIONS_KEPT = timedelta(days=30)


def _purge_schedule(settings: Settings) -> str:
    return settings.queue.purge_cron


@scheduled_task(cron=_purge_schedule, timeout=300)
async def purge_expired_credentials(ctx: Context) -> str:
    """Delete expired refresh tokens, email tokens, sign-in flows, login failures and stale invitations.

    Crosses every team, so it is one of the few jobs on the system role (BYPASSRLS).
    """
    worker = resources(ctx)
    now = datetime.now(tz=UTC)
    job = ctx.get("job")
    due = datetime.fromtimestamp(job.scheduled, tz=UTC) if job is not None and job.scheduled else now
    async with worker.system_session_maker() as session, session.begin():
        counts = {}
        for name, statement in {
            "refresh_tokens": delete(RefreshToken).where(RefreshToken.expires_at < now),
            "action_tokens": delete(ActionToken).where(ActionToken.expires_at < now),
            "oidc_login_flows": delete(OidcLoginFlow).where(OidcLoginFlow.expires_at < now),
            "login_failures": delete(LoginFailure).where(
                LoginFailure.created_at < now - worker.settings.auth.login_failure_window
            ),
            "team_invitations": delete(TeamInvitation).where(
                or_(
                    TeamInvitation.expires_at < now - FINISHED_INVITATIONS_KEPT,
                    TeamInvitation.revoked_at < now - FINISHED_INVITATIONS_KEPT,
                )
            ),
        }.items():
            counts[name] = (await session.execute(statement)).rowcount  # pyright: ignore[reportAttributeAccessIssue]
        summary = ", ".join(f"{name}={count}" for name, count in counts.items())
        session.add(
            ScheduledTaskRun(
                task="purge_expired_credentials", due_at=due, worker_id=_worker_id(ctx), summary=summary
            )
        )
    return summary


def _worker_id(ctx: Context) -> str | None:
    worker = ctx.get("worker")
    return str(worker.id) if worker is not None else None


@task(timeout=10, retries=1)
async def noop(ctx: Context) -> None:
    """Does nothing: the queue benchmark measures the queue itself with it."""


@task(timeout=5, retries=3, retry_delay=0.5)
async def sleep_then_record(ctx: Context, *, seconds: float, marker: str) -> str:
    """Sleeps, then records `marker` as a run: lets tests kill a worker mid-job and watch the retry.

    Task runs are the operators' record, written on the system role like every run."""
    await asyncio.sleep(seconds)
    worker = resources(ctx)
    async with worker.system_session_maker() as session, session.begin():
        session.add(
            ScheduledTaskRun(
                task="sleep_then_record",
                due_at=datetime.now(tz=UTC),
                worker_id=_worker_id(ctx),
                summary=marker,
            )
        )
    return marker
