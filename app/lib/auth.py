"""Authentication: short-lived JWT access tokens, verified without touching the database.

The token carries the user id and the platform-admin flag; membership and roles are checked
per team route by `app.lib.deps.provide_team_access`, in the request's own transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from app.config import AuthSettings

ISSUER = "campaign-platform"


class AuthUser(msgspec.Struct, frozen=True):
    """Who is calling, as proven by the access token."""

    id: UUID
    is_platform_admin: bool = False


async def _user_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    return AuthUser(id=user_id, is_platform_admin=bool(token.extras.get("adm", False)))


def build_jwt_auth(settings: AuthSettings, *, open_job_ui: bool = False) -> JWTAuth[AuthUser, Token]:
    """`open_job_ui`: serve the SAQ UI at /saq without a token (development only)."""
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

    def issue(self, user_id: UUID, *, is_platform_admin: bool) -> str:
        return self._jwt_auth.create_token(
            identifier=str(user_id),
            token_expiration=self.ttl,
            token_issuer=ISSUER,
            token_extras={"adm": is_platform_admin},
        )
