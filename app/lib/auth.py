"""Authentication: short-lived JWT access tokens, verified without a query of their own.

The token carries the user id, the platform-admin flag and the user's session epoch (`sep`).
Membership and roles are checked per team route by `app.lib.deps.provide_team_access`, in the
request's own transaction; the same statement compares the epoch and the account's `is_active`,
so a token whose sessions were ended (logout everywhere, password change or reset,
deactivation, deletion) is refused at once, at no extra round trip. Routes outside a team check
it with `ensure_session_live` (one indexed lookup by primary key).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AuthSettings
from app.lib.errors import SessionEndedError

ISSUER = "campaign-platform"


class AuthUser(msgspec.Struct, frozen=True):
    """Who is calling, as proven by the access token."""

    id: UUID
    is_platform_admin: bool = False
    session_epoch: int = 0
    """The user's session epoch when the token was issued; a later one ends the token."""


SESSION_ENDED = (
    "This session has ended (signed out everywhere, password changed, or account closed); log in again."
)


async def _user_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    epoch = token.extras.get("sep", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    return AuthUser(id=user_id, is_platform_admin=bool(token.extras.get("adm", False)), session_epoch=epoch)


_SESSION_LIVE = text("SELECT session_epoch = :epoch AND is_active FROM users WHERE id = :user_id")


async def ensure_session_live(session: AsyncSession, user: AuthUser) -> None:
    """401 `session_ended` unless the account exists, is active and has the token's epoch."""
    live = (await session.execute(_SESSION_LIVE, {"epoch": user.session_epoch, "user_id": user.id})).scalar()
    if not live:
        raise SessionEndedError(SESSION_ENDED)


def build_jwt_auth(settings: AuthSettings, *, open_job_ui: bool = False) -> JWTAuth[AuthUser, Token]:
    """`open_job_ui`: leave /saq to the job UI's own guard (app/queue/job_ui.py: cookie or token)."""
    exclude = ["^/schema", "^/health$", *(["^/saq"] if open_job_ui else [])]
    return JWTAuth[AuthUser, Token](
        retrieve_user_handler=_user_from_token,
        token_secret=settings.secret_key,
        algorithm="HS256",
        default_token_expiration=settings.access_token_ttl,
        accepted_issuers=[ISSUER],
        exclude=exclude,
        exclude_opt_key="exclude_from_auth",
        description="A bearer access token from `Login` or `RefreshToken`.",
    )


class AccessTokens:
    """Issues access tokens signed with the app's secret."""

    def __init__(self, jwt_auth: JWTAuth[AuthUser, Token], ttl: timedelta) -> None:
        self._jwt_auth = jwt_auth
        self.ttl = ttl

    def issue(self, user_id: UUID, *, is_platform_admin: bool, session_epoch: int = 0) -> str:
        return self._jwt_auth.create_token(
            identifier=str(user_id),
            token_expiration=self.ttl,
            token_issuer=ISSUER,
            token_extras={"adm": is_platform_admin, "sep": session_epoch},
        )
