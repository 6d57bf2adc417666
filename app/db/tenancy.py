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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, String, case, cast, event, func, select, text, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction, aliased
from sqlalchemy.sql.selectable import LateralFromClause

from app.db.reads import driver_connection
from app.db.rls import USER_ID_SETTING

TENANT_INFO_KEY = "tenant"


@dataclass(frozen=True, slots=True)
class TenantContext:
    user_id: UUID | None = None
    team_id: UUID | None = None
    is_platform_admin: bool = False
    campaign_ids: tuple[UUID, ...] | None = None
    """`None`: every campaign of the team. A tuple: only these (campaign guests)."""
    session_epoch: int | None = None
    """The caller's access-token epoch: when set, the statement that applies the context also
    checks that the session is live (see `session_is_live`), at no extra round trip."""
    session_id: UUID | None = None
    """The caller's sign-in session (refresh-token family), checked with the epoch: logged out, it ends."""

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


def _session_live_sql(*, user_id: str, session_epoch: str, session_id: str) -> str:
    """The caller's session check, as one boolean column: the account is active, the token's session
    epoch is current, and its sign-in session (refresh-token family) has not been revoked. The
    arguments are the statement's placeholders for each value (never values themselves)."""
    return (
        f"(SELECT u.is_active AND u.session_epoch = {session_epoch} FROM users u WHERE u.id = {user_id}) "  # noqa: S608 - placeholders only
        f"AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = {session_id} "
        "AND r.revoked_at IS NOT NULL)"
    )


_SET_CONTEXT_CHECK_SESSION = text(
    "SELECT set_config('app.user_id', :user_id, true), set_config('app.team_id', :team_id, true), "
    "set_config('app.is_platform_admin', :is_platform_admin, true), "
    "set_config('app.campaign_ids', :campaign_ids, true), "
    + _session_live_sql(
        user_id="CAST(:user_id AS uuid)",
        session_epoch=":session_epoch",
        session_id="CAST(:session_id AS uuid)",
    )
    + " AS live"
)
_SESSION_LIVE_KEY = "tenant_session_live"


class TenantSession(Session):
    """The sync session class behind every `AsyncSession` we make; the listener is bound to it."""


@event.listens_for(TenantSession, "after_begin")
def _apply_tenant_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info.pop(_SESSION_LIVE_KEY, None)
    if session.info.get(_DEFERRED_KEY):
        return
    context = session.info.get(TENANT_INFO_KEY)
    if not isinstance(context, TenantContext):
        return
    if context.session_epoch is None or context.user_id is None:
        connection.execute(_SET_CONTEXT, context.settings())
        return
    row = connection.execute(
        _SET_CONTEXT_CHECK_SESSION,
        {**context.settings(), "session_epoch": context.session_epoch, "session_id": context.session_id},
    ).one()
    session.info[_SESSION_LIVE_KEY] = bool(row.live)


async def session_is_live(session: AsyncSession) -> bool | None:
    """Whether the caller's session is live, as checked by the statement that opened the current
    transaction (opening one if needed); `None` when the context carries no session epoch."""
    await session.connection()
    live = session.info.get(_SESSION_LIVE_KEY)
    return live if isinstance(live, bool) else None


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


ENTER_TEAM_SQL = (
    # One statement, one round trip: the user's context, the membership check and the team's
    # context together. PostgreSQL evaluates a target list left to right and runs each
    # uncorrelated subquery (an InitPlan) when its column is reached, so every subquery below
    # already reads the settings made to its left: the membership is visible through
    # `app.user_id`, the guest grants through `app.team_id`. The caller's session check (account
    # active, token's session epoch current) is one more column, so it costs no round trip.
    # $1 team, $2 user (uuids), $3 the user as text, $4 platform admin ('on' or ''), $5 the empty
    # campaign restriction (`NO_CAMPAIGN`), $6 the token's session epoch, $7 its sign-in session
    # (refresh-token family; NULL for a token without one), ended once its family is revoked.
    "SELECT set_config('app.user_id', $3, true) AS _user, "  # noqa: S608 - constants and placeholders
    + _session_live_sql(user_id="$2", session_epoch="$6", session_id="$7")
    + " AS live, "
    "set_config('app.is_platform_admin', $4, true) AS _admin, "
    "set_config('app.campaign_ids', '', true) AS _no_campaigns, "
    "(SELECT m.role FROM team_members m WHERE m.team_id = $1 AND m.user_id = $2) AS role, "
    "set_config('app.team_id', COALESCE((SELECT CAST(m.team_id AS text) FROM team_members m "
    "WHERE m.team_id = $1 AND m.user_id = $2), ''), true) AS _team, "
    "set_config('app.campaign_ids', CASE WHEN (SELECT m.role FROM team_members m "
    "WHERE m.team_id = $1 AND m.user_id = $2) = 'guest' "
    "THEN COALESCE((SELECT string_agg(CAST(g.campaign_id AS text), ',') FROM campaign_guest_access g "
    "WHERE g.user_id = $2), $5) ELSE '' END, true) AS campaign_ids"
)
_DEFERRED_KEY = "tenant_deferred"
"""Set while the statement that opens a transaction carries the whole context itself."""


@dataclass(frozen=True, slots=True)
class Membership:
    role: str
    campaign_ids: tuple[UUID, ...] | None
    """A guest's campaigns (`None` for every other role)."""


class SessionNotLiveError(Exception):
    """The caller's account is gone, inactive, or its sessions were ended since the token."""


async def enter_team(
    session: AsyncSession,
    *,
    team_id: UUID,
    user_id: UUID,
    session_epoch: int | None = None,
    session_id: UUID | None = None,
) -> Membership | None:
    """Check that `user_id` belongs to `team_id` and, only if so, enter the team's context.

    With `session_epoch` (and `session_id`, the access token's), the same statement checks that
    the session is live and raises `SessionNotLiveError` when it is not; the request then fails and its
    transaction, with whatever context was set, is rolled back.

    A guest's context is narrowed to their campaigns in the same statement. When this opens the
    transaction, the statement also carries the user's context (the `after_begin` listener
    stays silent), so BEGIN, context and membership cost two round trips, not three.
    """
    base = get_tenant(session) or TenantContext(user_id=user_id)
    session.info[_DEFERRED_KEY] = True
    try:
        driver = await driver_connection(session)  # BEGIN, without the listener's set_config
    finally:
        session.info.pop(_DEFERRED_KEY, None)
    admin = "on" if base.is_platform_admin else ""
    row = await driver.fetchrow(
        ENTER_TEAM_SQL, team_id, user_id, str(user_id), admin, NO_CAMPAIGN, session_epoch or 0, session_id
    )
    if session_epoch is not None and not row["live"]:
        raise SessionNotLiveError
    user_context = replace(base, user_id=user_id, team_id=None, campaign_ids=None)
    if row["role"] is None:
        set_tenant(session, user_context)
        return None
    role: str = row["role"]
    campaign_ids = _parse_campaigns(row["campaign_ids"]) if role == "guest" else None
    set_tenant(session, replace(user_context, team_id=team_id, campaign_ids=campaign_ids))
    return Membership(role=role, campaign_ids=campaign_ids)


def _parse_campaigns(value: str) -> tuple[UUID, ...]:
    return tuple(UUID(part) for part in value.split(",") if part and part != NO_CAMPAIGN)


async def bind_team_membership(session: AsyncSession, *, team_id: UUID, user_id: UUID) -> str | None:
    """Return the user's role in the team and, only if they are a member, enter its context."""
    membership = await enter_team(session, team_id=team_id, user_id=user_id)
    return membership.role if membership is not None else None


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


ModelT = TypeVar("ModelT")


def select_by_secret(
    model: type[ModelT],
    setting: str,
    value: str,
    *,
    match: InstrumentedAttribute[Any] | None,
    where: Iterable[ColumnElement[bool]] = (),
    order_by: Iterable[ColumnElement[Any]] = (),
    limit: int = 1,
    for_update: bool = False,
    enter_user_when: Callable[[LateralFromClause], ColumnElement[bool]] | None = None,
    user_key: str = "user_id",
) -> Select[ModelT]:
    """Rows of `model` whose `match` column equals `value`, in one statement that first sets
    `setting` to `value` (transaction-local), so the row-level policy that reads the setting
    shows them: knowing the secret is what grants the row, at no extra round trip.

    The setting is made in a FROM item and the rows are read in a LATERAL subquery that refers
    to it; PostgreSQL must then run the setting first and (re)start the scan, and evaluate the
    policy, after it. LIMIT keeps the subquery from being flattened into an ordinary join whose
    order the planner could pick. A plain `WHERE key = (SELECT set_config(...))` is not enough:
    whether the policy then sees the setting depends on the plan (measured: where the policy is
    the index condition, the scan starts before the subquery runs and finds nothing).

    `enter_user_when(found)`: also enter the found row's user (its `user_key` column) as the
    user's context for the rest of the transaction when that condition holds (a valid
    single-use token proves who is asking); otherwise the context is left as it was.
    `match=None` only sets `setting`.
    """
    secret = select(func.set_config(setting, value, true()).label("value")).subquery("lookup_secret")
    matches = (
        secret.c.value.is_not(None) if match is None else match == _as_column_type(secret.c.value, match)
    )
    inner = select(model).where(matches, *where).order_by(*order_by).limit(limit)
    if for_update:
        inner = inner.with_for_update()
    found = inner.lateral("found")
    statement = select(aliased(model, found)).select_from(secret).join(found, true())
    if enter_user_when is not None:
        keep = func.coalesce(func.current_setting(USER_ID_SETTING, true()), "")
        user_id = case((enter_user_when(found), cast(found.c[user_key], String)), else_=keep)
        entered = (
            select(func.set_config(USER_ID_SETTING, user_id, true()).label("user_id"))
            .correlate(found)
            .lateral("entered")
        )
        statement = statement.join(entered, true())
    return statement


def _as_column_type(value: ColumnElement[Any], column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """Compare text as text: a cast to `varchar(n)` would truncate, not refuse, a longer value."""
    return value if isinstance(column.type, String) else cast(value, column.type)
