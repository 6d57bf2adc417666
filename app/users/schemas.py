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


TotpCodeText = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\s*\d{3}\s?\d{3}\s*$",
        description="The 6-digit code the authenticator app shows now.",
        examples=["123456"],
    ),
]
RecoveryCodeText = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=40,
        description="One of the recovery codes shown when two-factor was turned on (each works once).",
        examples=["k3j4-x8mq-2bz9-wq7r"],
    ),
]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class SecondFactorLogin(Schema):
    """The second step of a sign-in: the challenge from `Login` (or Google) and one factor."""

    challenge_token: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=2048,
            description="`challenge_token` from the 401 `mfa_required` answer.",
            examples=["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl"],
        ),
    ]
    code: TotpCodeText | None = None
    recovery_code: RecoveryCodeText | None = None
    """Instead of `code`, when the authenticator is lost."""


class TotpEnrolment(Schema):
    """A pending authenticator: show `otpauth_uri` as a QR code (or `secret` to type in), then
    confirm it with a first code. Until confirmed, sign-in does not ask for it."""

    secret: str
    """Base32; for apps that cannot scan a QR code."""
    otpauth_uri: str
    """`otpauth://totp/...`: render it as a QR code."""


class TotpConfirmation(Schema):
    code: TotpCodeText


class RecoveryCodes(Schema):
    """Shown once: each works once in place of a code. Only their digests are kept."""

    recovery_codes: list[str]


class TwoFactorDisable(Schema):
    """Proof that the account's owner is asking: a current code, a recovery code or the password."""

    code: TotpCodeText | None = None
    recovery_code: RecoveryCodeText | None = None
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None


class TwoFactorStatus(Schema):
    totp_enabled: bool
    """Confirmed: every sign-in (password or Google) asks for a code."""
    totp_pending: bool
    """Enrolled but not yet confirmed."""
    recovery_codes_left: int


class GoogleSignInStart(Schema):
    login_hint: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=254,
                description="Optional: the Google account (email) to preselect.",
                examples=["ada@example.com"],
            ),
        ]
        | None
    ) = None


class GoogleAuthorization(Schema):
    """Send the browser to `authorization_url`; keep `flow_token` (e.g. in sessionStorage) for
    the callback: it binds the sign-in to this browser."""

    authorization_url: str
    flow_token: str
    expires_in: int
    """Seconds within which the callback must arrive."""


class GoogleCallback(Schema):
    """What Google appended to the redirect URI, plus the `flow_token` from the start."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=2048, examples=["4/0AeanS0b-example"])]
    state: Annotated[str, msgspec.Meta(min_length=1, max_length=256, examples=["bXktc3RhdGU"])]
    flow_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256, examples=["Zmxvdy10b2tlbg"])]
