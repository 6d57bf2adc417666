from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from app.lib.schema import Email, Name, Password, Schema


class Register(Schema):
    email: Email
    password: Password
    name: Name


class Login(Schema):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    expires_in: int
    """Seconds until the access token expires."""
    token_type: Literal["bearer"] = "bearer"


class RefreshRequest(Schema):
    refresh_token: str


class LogoutRequest(Schema):
    refresh_token: str | None = None
    """The refresh token to revoke (with its rotation family). Omit it to sign out everywhere."""


class UserRead(Schema):
    id: UUID
    email: str
    name: str
    is_platform_admin: bool
    email_verified: bool
    created_at: datetime


class UserUpdate(Schema):
    """Declarative: send every field."""

    email: Email
    name: Name


class PasswordChange(Schema):
    current_password: str
    new_password: Password


class PasswordResetRequest(Schema):
    email: Email


class PasswordReset(Schema):
    token: str
    password: Password


class EmailVerification(Schema):
    token: str


class Accepted(Schema):
    """The request was accepted; any email it causes is on its way."""

    detail: str
