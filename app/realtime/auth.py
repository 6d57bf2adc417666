"""Access tokens on a socket: the same signed JWT as the HTTP API, never in the URL."""

from __future__ import annotations

from datetime import datetime

from litestar.exceptions import ImproperlyConfiguredException, NotAuthorizedException
from litestar.security.jwt import Token

from app.config import AuthSettings
from app.lib.auth import ISSUER, AuthUser, user_from_claims

SUBPROTOCOL = "campaign-platform"
"""Offer it with `bearer.<token>` in `Sec-WebSocket-Protocol`; the server selects it."""
TOKEN_PROTOCOL_PREFIX = "bearer."


class InvalidTokenError(Exception):
    pass


def verify_token(settings: AuthSettings, token: str) -> tuple[AuthUser, datetime]:
    """The user the token proves and when it expires; `InvalidTokenError` when bad or expired."""
    try:
        decoded = Token.decode(token, settings.secret_key, "HS256", issuer=[ISSUER])
    except (NotAuthorizedException, ImproperlyConfiguredException, ValueError) as exc:
        raise InvalidTokenError(str(exc)) from None
    user = user_from_claims(decoded.sub, decoded.extras)
    if user is None:
        raise InvalidTokenError("the token's claims are not ours")
    return user, decoded.exp


def token_from_subprotocols(header: str | None) -> tuple[str | None, str | None]:
    """(token, subprotocol to select) from a `Sec-WebSocket-Protocol` header."""
    if not header:
        return None, None
    offered = [item.strip() for item in header.split(",") if item.strip()]
    token = next(
        (item[len(TOKEN_PROTOCOL_PREFIX) :] for item in offered if item.startswith(TOKEN_PROTOCOL_PREFIX)),
        None,
    )
    return token, SUBPROTOCOL if SUBPROTOCOL in offered else None
