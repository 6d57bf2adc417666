"""Dependencies shared by every controller: the request's session and the caller's team access.

One request, one session, one transaction: it commits when the handler returns and rolls back
when anything raises, so a failed request never leaves half a change behind.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tenancy import (
    TenantContext,
    apply_tenant_now,
    bind_team_membership,
    enter_team_as_admin,
    restrict_campaigns,
    tenant_info,
)
from app.lib.auth import AccessTokens, AuthUser
from app.lib.crypto import Passwords
from app.lib.errors import PermissionDeniedError, ResourceNotFoundError
from app.lib.roles import TeamRole


class TeamAccess(msgspec.Struct, frozen=True):
    """The caller's verified standing in the team named by the path."""

    team_id: UUID
    user_id: UUID
    role: TeamRole | None
    """`None` when a platform admin acts in a team they do not belong to."""
    is_platform_admin: bool = False

    def at_least(self, role: TeamRole) -> bool:
        return self.is_platform_admin or (self.role is not None and self.role.at_least(role))


def current_user_of(request: Request[Any, Any, Any]) -> AuthUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, AuthUser) else None


SESSION_SCOPE_KEY = "campaign_platform.db_session"


async def provide_db_session(
    request: Request[Any, Any, Any], state: State
) -> AsyncGenerator[AsyncSession, None]:
    """The request's session: committed after the handler returns (before the response is sent,
    so a failed commit still becomes an error response), rolled back if anything raises."""
    user = current_user_of(request)
    context = TenantContext(user_id=user.id, is_platform_admin=user.is_platform_admin) if user else None
    async with state.session_maker(info=tenant_info(context)) as session:
        # If a later dependency raises, Litestar never resumes this generator; the middleware
        # below then closes the session, so its connection cannot leak.
        request.scope[SESSION_SCOPE_KEY] = session  # pyright: ignore[reportGeneralTypeIssues]
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


class SessionCleanupMiddleware(ASGIMiddleware):
    """Closes (and so rolls back) a request session that its dependency did not finish."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            await next_app(scope, receive, send)
        finally:
            session = scope.pop(SESSION_SCOPE_KEY, None)  # pyright: ignore[reportArgumentType, reportCallIssue]
            if isinstance(session, AsyncSession):
                await session.close()


async def provide_current_user(request: Request[Any, Any, Any]) -> AuthUser:
    user = current_user_of(request)
    if user is None:  # only reachable on a route excluded from auth by mistake
        raise PermissionDeniedError("This route needs an authenticated user.")
    return user


_TEAM_EXISTS = text("SELECT 1 FROM teams WHERE id = :team_id")
_GUEST_CAMPAIGN_IDS = text("SELECT campaign_id FROM campaign_guest_access WHERE user_id = :user_id")


async def provide_team_access(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], team_id: FromPath[UUID]
) -> TeamAccess:
    """Verify membership (404 when absent, whether or not the team exists) and the route's role.

    A guest's session is narrowed to the campaigns granted to them, at once (this transaction)
    and for any later one: row-level security then hides every other campaign and its rows.
    """
    user = await provide_current_user(request)
    required: TeamRole = request.route_handler.opt.get("team_role", TeamRole.MEMBER)
    return await verify_team_access(db_session, user, team_id=team_id, required=required)


async def verify_team_access(
    db_session: AsyncSession, user: AuthUser, *, team_id: UUID, required: TeamRole
) -> TeamAccess:
    """The check behind `provide_team_access`, also used outside HTTP (socket subscriptions),
    so that a live subscription is authorised exactly like the matching read."""
    role = await bind_team_membership(db_session, team_id=team_id, user_id=user.id)
    if role is None:
        if not user.is_platform_admin:
            raise ResourceNotFoundError("Team not found.")
        await enter_team_as_admin(db_session, team_id=team_id)
        if (await db_session.execute(_TEAM_EXISTS, {"team_id": team_id})).scalar() is None:
            raise ResourceNotFoundError("Team not found.")
        return TeamAccess(team_id=team_id, user_id=user.id, role=None, is_platform_admin=True)
    access = TeamAccess(team_id=team_id, user_id=user.id, role=TeamRole(role))
    if not access.at_least(required):
        raise PermissionDeniedError(f"This action needs the {required} role in this team; you are {role}.")
    if access.role is TeamRole.GUEST:
        await _restrict_guest(db_session, user_id=user.id)
    return access


async def _restrict_guest(db_session: AsyncSession, *, user_id: UUID) -> None:
    rows = await db_session.execute(_GUEST_CAMPAIGN_IDS, {"user_id": user_id})
    await apply_tenant_now(db_session, restrict_campaigns(db_session, rows.scalars()))


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_access_tokens(state: State) -> AccessTokens:
    return state.access_tokens


def provide_passwords(state: State) -> Passwords:
    return state.passwords


app_dependencies: dict[str, Provide] = {
    "db_session": Provide(provide_db_session),
    "current_user": Provide(provide_current_user),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "access_tokens": Provide(provide_access_tokens, sync_to_thread=False),
    "passwords": Provide(provide_passwords, sync_to_thread=False),
}

team_dependencies: dict[str, Provide] = {"team_access": Provide(provide_team_access)}
"""Add to every controller under `/api/teams/{team_id}`; handlers then take `team_access`."""
