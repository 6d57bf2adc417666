"""Authentication: short-lived JWT access tokens, verified without a query of their own.

The token carries the user id, the platform-admin flag and the user's session epoch (`sep`).
Membership and roles are checked per team route by `app.lib.deps.provide_team_access`, in the
request's own transaction; the same statement compares the epoch and the account's `is_active`,
so a token whose sessions were ended (logout everywhere, password change or reset,
deactivation, deletion) is refused at once, at no extra round trip. Routes outside a team check
it with `ensure_session_live`, which reads the answer of the statement that set the user's
context when the transaction began (one more column there, no round trip of its own).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AuthSettings
from app.db.tenancy import get_tenant, session_is_live
from app.lib.errors import SessionEndedError

ISSUER = "campaign-platform"


class AuthUser(msgspec.Struct, frozen=True):
    """Who is calling, as proven by the access token."""

    id: UUID
    is_platform_admin: bool = False
    session_epoch: int = 0
    """The user's session epoch when the token was issued; a later one ends the token."""
    session_id: UUID | None = None
    """The sign-in session (refresh-token family) the token belongs to; logging it out ends the token."""


SESSION_ENDED = (
    "This session has ended (signed out everywhere, password changed, or account closed); log in again."
)


def user_from_claims(subject: str, extras: dict[str, Any]) -> AuthUser | None:
    """The caller a verified token names, or `None` when its claims are not ours (HTTP and sockets)."""
    try:
        user_id = UUID(subject)
    except ValueError:
        return None
    epoch = extras.get("sep", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    session_id: UUID | None = None
    if (sid := extras.get("sid")) is not None:
        if not isinstance(sid, str):
            return None
        try:
            session_id = UUID(sid)
        except ValueError:
            return None
    return AuthUser(
        id=user_id,
        is_platform_admin=bool(extras.get("adm", False)),
        session_epoch=epoch,
        session_id=session_id,
    )


async def _user_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    return user_from_claims(token.sub, token.extras)


async def ensure_session_live(session: AsyncSession, user: AuthUser) -> None:
    """401 `session_ended` unless the account exists, is active and has the token's epoch.

    The check rides on the statement that applies the user's context when the transaction
    begins (`app.db.tenancy`), so it costs no round trip of its own."""
    context = get_tenant(session)
    if (
        context is None
        or context.user_id != user.id
        or context.session_epoch != user.session_epoch
        or context.session_id != user.session_id
    ):
        raise RuntimeError("the session's tenant context does not carry this user's session epoch")
    live = await session_is_live(session)
    if live is None:
        raise RuntimeError("the current transaction was opened without the session check")
    if not live:
        raise SessionEndedError(SESSION_ENDED)


VERIFIED_TOKENS_KEPT = 4096
"""Verified tokens remembered per process (a few hundred bytes each): the active users of a worker."""


class VerifiedTokens:
    """An LRU of tokens that passed verification, keyed by the exact token string.

    Verifying an HS256 token (base64, JSON, HMAC, claims) was a tenth of a cached read's CPU;
    the same client sends the same token for its whole lifetime. A different string (another
    signature, a tampered claim) is a different key and is verified in full. A hit is checked
    against the token's expiry every time; not-before and issued-at were checked when it was
    verified and stay true. Revocation is not a property of the string: the session check in
    each request's first statement still ends a token whose session has ended.
    """

    def __init__(self, capacity: int = VERIFIED_TOKENS_KEPT) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[float, AuthenticationResult]] = OrderedDict()

    def get(self, encoded: str) -> AuthenticationResult | None:
        entry = self._entries.get(encoded)
        if entry is None:
            return None
        expires_at, result = entry
        if time.time() >= expires_at:  # PyJWT's rule: expired once `exp <= now`
            del self._entries[encoded]
            return None
        self._entries.move_to_end(encoded)
        return result

    def put(self, encoded: str, result: AuthenticationResult) -> None:
        token: Token = result.auth
        self._entries[encoded] = (token.exp.timestamp(), result)
        self._entries.move_to_end(encoded)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class CachingJWTAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Litestar's bearer-token middleware, verifying each distinct token once (`VerifiedTokens`).

    The cached result includes the user, which `_user_from_token` builds from the claims alone."""

    __slots__ = ("verified",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verified = VerifiedTokens()

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if (known := self.verified.get(encoded_token)) is not None:
            return known
        result = await super().authenticate_token(encoded_token, connection)  # raises 401 when invalid
        if self.revoked_token_handler is None:  # a revocation check must run on every request
            self.verified.put(encoded_token, result)
        return result


def build_jwt_auth(settings: AuthSettings, *, open_job_ui: bool = False) -> JWTAuth[AuthUser, Token]:
    """`open_job_ui`: leave /saq to the job UI's own guard (app/queue/job_ui.py: cookie or token)."""
    exclude = ["^/schema", "^/health$", *(["^/saq"] if open_job_ui else [])]
    return JWTAuth[AuthUser, Token](
        retrieve_user_handler=_user_from_token,
        authentication_middleware_class=CachingJWTAuthenticationMiddleware,
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

    def issue(
        self,
        user_id: UUID,
        *,
        is_platform_admin: bool,
        session_epoch: int = 0,
        session_id: UUID | None = None,
    ) -> str:
        """`session_id`: the refresh-token family of the sign-in, so logging that session out ends
        this token too (tokens made without one end only with the epoch or their expiry)."""
        extras: dict[str, Any] = {"adm": is_platform_admin, "sep": session_epoch}
        if session_id is not None:
            extras["sid"] = str(session_id)
        return self._jwt_auth.create_token(
            identifier=str(user_id), token_expiration=self.ttl, token_issuer=ISSUER, token_extras=extras
        )
