"""Tenant context: who is asking and for which team, applied to every transaction.

The context lives in `session.info` and an `after_begin` listener sends it to PostgreSQL with
`set_config(..., true)` at the start of each transaction, so it is transaction-local: a pooled
connection never carries it into someone else's request. Without a context nothing is set and
every row-level policy sees nothing.

A request starts with the user only. The team is added by `bind_team_membership()`, whose one
statement both verifies membership and sets `app.team_id`; a route that never checks
membership therefore never gets a team context and cannot read team data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

TENANT_INFO_KEY = "tenant"


@dataclass(frozen=True, slots=True)
class TenantContext:
    user_id: UUID | None = None
    team_id: UUID | None = None
    is_platform_admin: bool = False
    campaign_ids: tuple[UUID, ...] | None = None
    """`None`: every campaign of the team. A tuple: only these (campaign guests)."""

    def settings(self) -> dict[str, str]:
        return {
            "user_id": str(self.user_id) if self.user_id else "",
            "team_id": str(self.team_id) if self.team_id else "",
            "is_platform_admin": "on" if self.is_platform_admin else "",
            "campaign_ids": _campaign_list(self.campaign_ids),
        }


NO_CAMPAIGN = "00000000-0000-0000-0000-000000000000"
"""Stands for an empty restriction: '' would read as "no restriction" and show every campaign."""


def _campaign_list(campaign_ids: tuple[UUID, ...] | None) -> str:
    if campaign_ids is None:
        return ""
    return ",".join(str(c) for c in campaign_ids) or NO_CAMPAIGN


_SET_CONTEXT = text(
    "SELECT set_config('app.user_id', :user_id, true), set_config('app.team_id', :team_id, true), "
    "set_config('app.is_platform_admin', :is_platform_admin, true), "
    "set_config('app.campaign_ids', :campaign_ids, true)"
)


class TenantSession(Session):
    """The sync session class behind every `AsyncSession` we make; the listener is bound to it."""


@event.listens_for(TenantSession, "after_begin")
def _apply_tenant_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context = session.info.get(TENANT_INFO_KEY)
    if isinstance(context, TenantContext):
        connection.execute(_SET_CONTEXT, context.settings())


def get_tenant(session: AsyncSession) -> TenantContext | None:
    context = session.info.get(TENANT_INFO_KEY)
    return context if isinstance(context, TenantContext) else None


def set_tenant(session: AsyncSession, context: TenantContext | None) -> None:
    """Use `context` from the next transaction on (the current one keeps what it has)."""
    if context is None:
        session.info.pop(TENANT_INFO_KEY, None)
    else:
        session.info[TENANT_INFO_KEY] = context


async def apply_tenant_now(session: AsyncSession, context: TenantContext) -> None:
    """Switch the context inside the current transaction too (e.g. right after creating a team)."""
    set_tenant(session, context)
    if session.in_transaction():
        await session.execute(_SET_CONTEXT, context.settings())


_BIND_MEMBERSHIP = text(
    "SELECT tm.role, set_config('app.team_id', CAST(tm.team_id AS text), true) AS _ "
    "FROM team_members tm WHERE tm.team_id = :team_id AND tm.user_id = :user_id"
)
# The same, for a caller whose session must still be live: the user row (epoch, is_active) is
# joined in, so the check costs no extra round trip. The team context is entered only when the
# session is live and the user is a member.
_BIND_LIVE_MEMBERSHIP = text(
    "SELECT u.session_epoch = :session_epoch AND u.is_active AS live, tm.role, "
    "set_config('app.team_id', CASE WHEN u.session_epoch = :session_epoch AND u.is_active "
    "THEN COALESCE(CAST(tm.team_id AS text), '') ELSE '' END, true) AS _ "
    "FROM users u LEFT JOIN team_members tm ON tm.team_id = :team_id AND tm.user_id = u.id "
    "WHERE u.id = :user_id"
)


class SessionNotLiveError(Exception):
    """The caller's account is gone, inactive, or its sessions were ended since the token."""


async def bind_team_membership(
    session: AsyncSession, *, team_id: UUID, user_id: UUID, session_epoch: int | None = None
) -> str | None:
    """Return the user's role in the team and, only if they are a member, enter its context.

    The membership row is readable through the user's own context (`app.user_id`); the same
    statement sets `app.team_id`, so verification and context cost one round trip together.
    With `session_epoch`, the same statement also checks that the session is live (raises
    `SessionNotLiveError` otherwise).
    """
    base = get_tenant(session) or TenantContext(user_id=user_id)
    if session_epoch is None:
        role = (await session.execute(_BIND_MEMBERSHIP, {"team_id": team_id, "user_id": user_id})).scalar()
    else:
        params = {"team_id": team_id, "user_id": user_id, "session_epoch": session_epoch}
        row = (await session.execute(_BIND_LIVE_MEMBERSHIP, params)).first()
        if row is None or not row.live:
            raise SessionNotLiveError
        role = row.role
    if role is not None:
        set_tenant(session, replace(base, team_id=team_id))
    return role


async def enter_team_as_admin(session: AsyncSession, *, team_id: UUID) -> None:
    """Platform admins see any team: enter its context without a membership."""
    base = get_tenant(session) or TenantContext()
    await apply_tenant_now(session, replace(base, team_id=team_id, is_platform_admin=True))


def restrict_campaigns(session: AsyncSession, campaign_ids: Iterable[UUID]) -> TenantContext:
    base = get_tenant(session) or TenantContext()
    context = replace(base, campaign_ids=tuple(campaign_ids))
    set_tenant(session, context)
    return context


def tenant_info(context: TenantContext | None) -> dict[str, Any]:
    return {TENANT_INFO_KEY: context} if context is not None else {}
