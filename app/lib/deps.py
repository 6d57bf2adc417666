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
from litestar._kwargs import kwargs_model  # pyright: ignore[reportPrivateUsage]
from litestar._kwargs.dependencies import DependencyContainer, create_dependency_batches
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import greenlet_spawn

from app.config import Settings
from app.db.tenancy import (
    SessionNotLiveError,
    TenantContext,
    enter_team,
    enter_team_as_admin,
    tenant_info,
)
from app.lib.auth import SESSION_ENDED, AccessTokens, AuthUser, ensure_session_live
from app.lib.crypto import Passwords
from app.lib.errors import PermissionDeniedError, ResourceNotFoundError, SessionEndedError
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
SESSION_LIVE_SCOPE_KEY = "campaign_platform.session_live"
"""Set once this request has checked that the caller's session is live (see `app.lib.auth`)."""


async def provide_db_session(
    request: Request[Any, Any, Any], state: State
) -> AsyncGenerator[AsyncSession, None]:
    """The request's session: committed after the handler returns (before the response is sent,
    so a failed commit still becomes an error response), rolled back if anything raises."""
    user = current_user_of(request)
    context = (
        TenantContext(
            user_id=user.id,
            is_platform_admin=user.is_platform_admin,
            session_epoch=user.session_epoch,
            session_id=user.session_id,
        )
        if user
        else None
    )
    session = state.session_maker(info=tenant_info(context))
    # Until it is closed below, the middleware closes it: when a later dependency or this one
    # raises (Litestar then never resumes this generator), its connection cannot leak.
    request.scope[SESSION_SCOPE_KEY] = session  # pyright: ignore[reportGeneralTypeIssues]
    if user is not None and not _team_access_checks_session(request):
        await _ensure_live(request, session, user)
    try:
        yield session
        if user is not None and not request.scope.get(SESSION_LIVE_SCOPE_KEY):
            await _ensure_live(request, session, user)  # a team route that skipped team_access
    except BaseException:
        await session.rollback()
        raise
    await greenlet_spawn(_commit_and_close, session.sync_session)
    request.scope.pop(SESSION_SCOPE_KEY, None)  # pyright: ignore[reportArgumentType, reportCallIssue]


def _commit_and_close(sync_session: Session) -> None:
    """Commit, then give the connection back, in one hop into SQLAlchemy's greenlet (the
    `async with` form took three: commit, close in a shielded task, the middleware's close)."""
    try:
        sync_session.commit()
    finally:
        sync_session.close()


def _team_access_checks_session(request: Request[Any, Any, Any]) -> bool:
    """Team routes check the session in their membership statement (no extra round trip)."""
    return "team_id" in request.path_params and "team_access" in request.route_handler.resolve_dependencies()


async def _ensure_live(request: Request[Any, Any, Any], session: AsyncSession, user: AuthUser) -> None:
    await ensure_session_live(session, user)
    request.scope[SESSION_LIVE_SCOPE_KEY] = True  # pyright: ignore[reportGeneralTypeIssues]


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


def provide_current_user(request: Request[Any, Any, Any]) -> AuthUser:
    user = current_user_of(request)
    if user is None:  # only reachable on a route excluded from auth by mistake
        raise PermissionDeniedError("This route needs an authenticated user.")
    return user


_TEAM_EXISTS = text("SELECT 1 FROM teams WHERE id = :team_id")


async def provide_team_access(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], team_id: FromPath[UUID]
) -> TeamAccess:
    """Verify membership (404 when absent, whether or not the team exists) and the route's role.

    One statement checks the membership and sets the whole tenant context (a guest's narrowed to
    the campaigns granted to them), for this transaction and any later one: row-level security
    then hides every other team, campaign and row.
    """
    user = provide_current_user(request)
    required: TeamRole = request.route_handler.opt.get("team_role", TeamRole.MEMBER)
    access = await verify_team_access(db_session, user, team_id=team_id, required=required)
    request.scope[SESSION_LIVE_SCOPE_KEY] = True  # pyright: ignore[reportGeneralTypeIssues]
    return access


async def verify_team_access(
    db_session: AsyncSession, user: AuthUser, *, team_id: UUID, required: TeamRole
) -> TeamAccess:
    """The check behind `provide_team_access`, also used outside HTTP (socket subscriptions),
    so that a live subscription is authorised exactly like the matching read. A token whose
    session has ended is refused (401) by the same statement."""
    try:
        membership = await enter_team(
            db_session,
            team_id=team_id,
            user_id=user.id,
            session_epoch=user.session_epoch,
            session_id=user.session_id,
        )
    except SessionNotLiveError:
        raise SessionEndedError(SESSION_ENDED) from None
    if membership is None:
        if not user.is_platform_admin:
            raise ResourceNotFoundError("Team not found.")
        await enter_team_as_admin(db_session, team_id=team_id)
        if (await db_session.execute(_TEAM_EXISTS, {"team_id": team_id})).scalar() is None:
            raise ResourceNotFoundError("Team not found.")
        return TeamAccess(team_id=team_id, user_id=user.id, role=None, is_platform_admin=True)
    access = TeamAccess(team_id=team_id, user_id=user.id, role=TeamRole(membership.role))
    if not access.at_least(required):
        raise PermissionDeniedError(
            f"This action needs the {required} role in this team; you are {membership.role}."
        )
    return access


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_access_tokens(state: State) -> AccessTokens:
    return state.access_tokens


def provide_passwords(state: State) -> Passwords:
    return state.passwords


app_dependencies: dict[str, Provide] = {
    "db_session": Provide(provide_db_session),
    "current_user": Provide(provide_current_user, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "access_tokens": Provide(provide_access_tokens, sync_to_thread=False),
    "passwords": Provide(provide_passwords, sync_to_thread=False),
}

team_dependencies: dict[str, Provide] = {"team_access": Provide(provide_team_access)}
"""Add to every controller under `/api/teams/{team_id}`; handlers then take `team_access`."""


def _one_dependency_per_batch(expected: set[DependencyContainer]) -> list[set[DependencyContainer]]:
    """Litestar's batches (each after the ones it depends on), split into batches of one, in a
    fixed order within each batch."""
    return [
        {dependency}
        for batch in create_dependency_batches(expected)
        for dependency in sorted(batch, key=lambda container: container.key)
    ]


def resolve_dependencies_one_at_a_time() -> None:
    """Make Litestar resolve a handler's dependencies one after another.

    Litestar runs the dependencies that do not depend on each other concurrently, in an anyio
    task group: a task, a cancel scope and an exception group per request, 12% of a cached
    read's CPU. Here they gain nothing from it: they share the request's one session, which
    must not run two statements at once anyway. Call before building the app (handlers take
    their batches then); idempotent.
    """
    kwargs_model.create_dependency_batches = _one_dependency_per_batch  # pyright: ignore[reportPrivateImportUsage]
