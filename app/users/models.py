from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured
from app.db.rls import (
    CURRENT_CLIENT_ADDRESS,
    CURRENT_GOOGLE_SUBJECT,
    CURRENT_LOOKUP_EMAIL,
    CURRENT_TEAM_ID,
    CURRENT_TOKEN_DIGEST,
    CURRENT_USER_ID,
    IS_PLATFORM_ADMIN,
    RlsPolicy,
)

OWN_ROWS_POLICY = RlsPolicy(name="own_rows", using=f"user_id = {CURRENT_USER_ID}")
"""The row's user only; sign-in sets that context once the first factor is proven."""

_NAMED_USER = (
    f"id = {CURRENT_USER_ID} OR {IS_PLATFORM_ADMIN} OR email = {CURRENT_LOOKUP_EMAIL} "
    f"OR google_subject = {CURRENT_GOOGLE_SUBJECT}"
)

USER_POLICY = RlsPolicy(
    name="user_visibility",
    using=(
        f"{_NAMED_USER} OR EXISTS (SELECT 1 FROM team_members m "
        f"WHERE m.team_id = {CURRENT_TEAM_ID} AND m.user_id = users.id)"
    ),
    with_check=_NAMED_USER,
    changes=f"id = {CURRENT_USER_ID} OR {IS_PLATFORM_ADMIN}",
)
"""Oneself, everyone for a platform admin, the members of the current team (member lists,
assignees, authors), and the account a lookup names by email or Google subject (sign-in,
registration, reset, invitations). A registration (or a first Google sign-in) may create the
account it looked up; only oneself or an admin may change or delete one (`changes`)."""

TOKEN_POLICY = RlsPolicy(
    name="token_visibility", using=f"user_id = {CURRENT_USER_ID} OR token_hash = {CURRENT_TOKEN_DIGEST}"
)
"""The user's own tokens, and the one whose digest the transaction presents (refresh)."""

ACTION_TOKEN_POLICY = RlsPolicy(
    name="action_token_visibility",
    using=(
        f"user_id = {CURRENT_USER_ID} OR token_hash = {CURRENT_TOKEN_DIGEST} "
        f"OR user_id = (SELECT u.id FROM users u WHERE u.email = {CURRENT_LOOKUP_EMAIL})"
    ),
)
"""The user's own, the presented one, and those of the account looked up by email (a reset
request or a registration counts and retires that account's earlier links)."""

LOGIN_FAILURE_POLICY = RlsPolicy(
    name="throttle_visibility",
    using=f"email = {CURRENT_LOOKUP_EMAIL} OR address = {CURRENT_CLIENT_ADDRESS}",
)
"""A login attempt sees the failures of its account and of its client address, nothing else."""

OIDC_FLOW_POLICY = RlsPolicy(name="flow_visibility", using=f"state_hash = {CURRENT_TOKEN_DIGEST}")
"""The flow whose `state` the callback presents (and the one being started)."""


class User(RowLevelSecured, AuditBase):
    __tablename__ = "users"
    __rls_policy__ = USER_POLICY

    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Stored lower-cased; unique across the platform."""
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Carried in every access token (`sep`); bumping it ends every session at once (logout
    everywhere, password change or reset). Requests compare it in a statement they make anyway."""
    google_subject: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    """The Google account (`sub` of its ID token) linked to this user, if any."""


class RefreshToken(RowLevelSecured, AuditBase):
    """One link in a rotation chain. Reusing a rotated token revokes its whole family."""

    __tablename__ = "refresh_tokens"
    __rls_policy__ = TOKEN_POLICY
    __table_args__ = (Index("ix_refresh_tokens_expires_at", "expires_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class LoginFailure(RowLevelSecured, AuditBase):
    """A failed login, counted per account and per client address to throttle guessing."""

    __tablename__ = "login_failures"
    __rls_policy__ = LOGIN_FAILURE_POLICY
    __table_args__ = (
        Index("ix_login_failures_email_created", "email", "created_at"),
        Index("ix_login_failures_address_created", "address", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))


class ActionToken(RowLevelSecured, AuditBase):
    """A single-use, expiring token sent by email (password reset, email verification)."""

    __tablename__ = "action_tokens"
    __rls_policy__ = ACTION_TOKEN_POLICY
    __table_args__ = (Index("ix_action_tokens_expires_at", "expires_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class OidcLoginFlow(RowLevelSecured, AuditBase):
    """A started "Sign in with Google": what the callback must match, single-use, short-lived.

    Only digests of `state` and of the browser's `flow_token` are stored; the row belongs to no
    user yet, so knowing its `state` is what shows it. Expired flows go in the daily purge.
    """

    __tablename__ = "oidc_login_flows"
    __rls_policy__ = OIDC_FLOW_POLICY
    __table_args__ = (Index("ix_oidc_login_flows_expires_at", "expires_at"),)

    provider: Mapped[str] = mapped_column(String(20))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    flow_token_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class TotpCredential(RowLevelSecured, AuditBase):
    """A user's authenticator secret (RFC 6238); pending until confirmed with a first code."""

    __tablename__ = "totp_credentials"
    __rls_policy__ = OWN_ROWS_POLICY

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(String(255))
    """Sealed (AES-GCM, bound to the user; app/lib/encryption.py), never the secret itself."""
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The time step of the last accepted code: a code is accepted once (no replay)."""


class RecoveryCode(RowLevelSecured, AuditBase):
    """A single-use second factor for a lost authenticator; only its SHA-256 digest is stored."""

    __tablename__ = "mfa_recovery_codes"
    __rls_policy__ = OWN_ROWS_POLICY
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_mfa_recovery_codes_user_code"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class MfaChallenge(RowLevelSecured, AuditBase):
    """A second-factor challenge handed out by a sign-in; its id is the challenge token's `jti`.

    Completing the sign-in deletes the row (one `DELETE ... RETURNING`), so a token works once;
    expired rows are purged by the `purge_expired_sign_ins` cron job.
    """

    __tablename__ = "mfa_challenges"
    __rls_policy__ = OWN_ROWS_POLICY
    __table_args__ = (Index("ix_mfa_challenges_expires_at", "expires_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
