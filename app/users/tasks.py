"""The users' cron jobs, both on the daily purge's schedule (`PURGE_CRON`).

- `purge_expired_sign_ins`: flows of "Sign in with Google" (`oidc_login_flows`) and two-factor
  challenges (`mfa_challenges`) live minutes; their rows are useless once expired.
- `reseal_totp_secrets`: after a key rotation (a new first entry in `DATA_ENCRYPTION_KEYS`),
  re-seals the secrets of users who have not signed in since, so the old key can go.

The challenges and secrets are the users' own rows (row-level policy on `app.user_id`) and the
jobs cross every user, so they are among the few named jobs on the system role (BYPASSRLS).
"""

from __future__ import annotations

from datetime import UTC, datetime

from saq.types import Context
from sqlalchemy import delete

from app.config import Settings
from app.lib.encryption import cipher_for
from app.queue.registry import resources, scheduled_task
from app.system.runs import task_run
from app.users.mfa import TwoFactorService
from app.users.models import MfaChallenge, OidcLoginFlow


def _purge_schedule(settings: Settings) -> str:
    return settings.queue.purge_cron


@scheduled_task(cron=_purge_schedule, timeout=300)
async def purge_expired_sign_ins(ctx: Context) -> str:
    """Delete expired Google sign-in flows and expired two-factor challenges (used or not)."""
    worker = resources(ctx)
    now = datetime.now(tz=UTC)
    async with worker.system_session_maker() as session, session.begin():
        counts = {}
        for name, statement in {
            "oidc_login_flows": delete(OidcLoginFlow).where(OidcLoginFlow.expires_at <= now),
            "mfa_challenges": delete(MfaChallenge).where(MfaChallenge.expires_at <= now),
        }.items():
            counts[name] = (await session.execute(statement)).rowcount  # pyright: ignore[reportAttributeAccessIssue]
        summary = ", ".join(f"{name}={count}" for name, count in counts.items())
        session.add(task_run(ctx, "purge_expired_sign_ins", summary))
    return summary


@scheduled_task(cron=_purge_schedule, timeout=300)
async def reseal_totp_secrets(ctx: Context) -> str:
    """Re-seal with the newest data encryption key every TOTP secret an older key sealed."""
    worker = resources(ctx)
    cipher = cipher_for(worker.settings.auth.data_encryption_keys)
    async with worker.system_session_maker() as session, session.begin():
        resealed, unreadable = await TwoFactorService(session=session, cipher=cipher).reseal_all()
        summary = f"resealed={resealed}, unreadable={unreadable}"
        session.add(task_run(ctx, "reseal_totp_secrets", summary))
    return summary
