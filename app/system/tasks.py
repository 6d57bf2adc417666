"""System tasks: the daily purge (a named cross-team job on the privileged path) and two
diagnostics used by the queue benchmark and the worker tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from saq.types import Context
from sqlalchemy import delete, or_

from app.config import Settings
from app.queue.registry import resources, scheduled_task, task
from app.system.runs import task_run
from app.teams.models import TeamInvitation
from app.users.models import ActionToken, LoginFailure, RefreshToken

FINISHED_INVITATIONS_KEPT = timedelta(days=30)


def _purge_schedule(settings: Settings) -> str:
    return settings.queue.purge_cron


@scheduled_task(cron=_purge_schedule, timeout=300)
async def purge_expired_credentials(ctx: Context) -> str:
    """Delete expired refresh tokens, email tokens, login failures and stale invitations (expired
    Google sign-in flows and two-factor challenges: `purge_expired_sign_ins`, app/users/tasks.py).

    Crosses every team, so it is one of the few jobs on the system role (BYPASSRLS).
    """
    worker = resources(ctx)
    now = datetime.now(tz=UTC)
    async with worker.system_session_maker() as session, session.begin():
        counts = {}
        for name, statement in {
            "refresh_tokens": delete(RefreshToken).where(RefreshToken.expires_at < now),
            "action_tokens": delete(ActionToken).where(ActionToken.expires_at < now),
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
        session.add(task_run(ctx, "purge_expired_credentials", summary))
    return summary


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
        session.add(task_run(ctx, "sleep_then_record", marker))
    return marker
