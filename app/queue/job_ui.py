"""Who may open the SAQ job UI at /saq, and how a browser proves it.

A browser cannot send a bearer token while navigating, so a platform admin first calls
`CreateJobUiSession` (authenticated like any API call) and receives a short-lived cookie,
signed with the app's secret, sent only to /saq (HttpOnly, SameSite=Strict, Secure over HTTPS).
The UI's guard accepts that cookie, or a bearer access token of a platform admin (scripts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_308_PERMANENT_REDIRECT

from app.config import Settings
from app.lib.auth import ISSUER

JOB_UI_PATH = "/saq"
JOB_UI_COOKIE = "job_ui_session"
_PURPOSE = b"job-ui-session:"


def _signature(secret_key: str, payload: bytes) -> str:
    digest = hmac.new(secret_key.encode(), _PURPOSE + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_job_ui_session(secret_key: str, user_id: UUID, *, expires_at: int) -> str:
    payload = f"{user_id}.{expires_at}"
    return f"{payload}.{_signature(secret_key, payload.encode())}"


def job_ui_session_user(secret_key: str, cookie: str, *, now: float | None = None) -> UUID | None:
    """The admin the cookie was issued to, or None when it is forged, altered or expired."""
    payload, _, signature = cookie.rpartition(".")
    user_part, _, expiry_part = payload.partition(".")
    # Bytes: a forged cookie may carry non-ASCII characters, which `compare_digest` refuses in str.
    if not hmac.compare_digest(signature.encode(), _signature(secret_key, payload.encode()).encode()):
        return None
    try:
        user_id, expires_at = UUID(user_part), int(expiry_part)
    except ValueError:
        return None
    return user_id if expires_at > (time.time() if now is None else now) else None


def job_ui_cookie(settings: Settings, user_id: UUID, *, secure: bool) -> tuple[Cookie, int]:
    """The cookie and its expiry (Unix seconds)."""
    ttl = settings.edge.job_ui_session_seconds
    expires_at = int(time.time()) + ttl
    cookie = Cookie(
        key=JOB_UI_COOKIE,
        value=sign_job_ui_session(settings.auth.secret_key, user_id, expires_at=expires_at),
        path=JOB_UI_PATH,
        max_age=ttl,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    return cookie, expires_at


def _bearer_admin(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool | None:
    """True/False for a valid bearer token of an admin/non-admin; None without a valid token."""
    scheme, _, encoded = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not encoded:
        return None
    try:
        token = Token.decode(encoded.strip(), settings.auth.secret_key, "HS256", issuer=[ISSUER])
    except NotAuthorizedException:
        return None
    return bool(token.extras.get("adm", False))


def job_ui_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Open in development; elsewhere a job-UI cookie or a platform admin's bearer token."""
    settings: Settings = connection.app.state.settings
    if settings.is_dev:
        return
    cookie = connection.cookies.get(JOB_UI_COOKIE)
    if cookie and job_ui_session_user(settings.auth.secret_key, cookie) is not None:
        return
    admin = _bearer_admin(connection, settings)
    if admin is None:
        raise NotAuthorizedException(
            "Sign in as a platform admin: POST /api/admin/job-ui-session with your access token sets "
            "the cookie the job UI needs (it lasts a few minutes)."
        )
    if not admin:
        raise PermissionDeniedException("Only platform admins can see the job queue.")


def redirect_bare_job_ui_path(request: Any) -> Redirect | None:
    """`before_request` of the UI's routes: `/saq` becomes `/saq/` (the UI's router knows only that)."""
    # The router has already dropped the trailing slash from `path`; the raw path still has it.
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    if raw_path.split(b"?", 1)[0] == JOB_UI_PATH.encode():
        return Redirect(f"{JOB_UI_PATH}/", status_code=HTTP_308_PERMANENT_REDIRECT)
    return None
