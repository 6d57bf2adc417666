from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured
from app.db.rls import CURRENT_USER_ID, RlsPolicy

OWN_ROWS_POLICY = RlsPolicy(name="own_rows", using=f"user_id = {CURRENT_USER_ID}")
"""The row's user only; sign-in sets that context once the first factor is proven."""


class User(AuditBase):
    __tablename__ = "users"

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


class RefreshToken(AuditBase):
    """One link in a rotation chain. Reusing a rotated token revokes its whole family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_expires_at", "expires_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class LoginFailure(AuditBase):
    """A failed login, counted per account and per client address to throttle guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_created", "email", "created_at"),
        Index("ix_login_failures_address_created", "address", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))


class ActionToken(AuditBase):
    """A single-use, expiring token sent by email (password reset, email verification)."""

    __tablename__ = "action_tokens"
    __table_args__ = (Index("ix_action_tokens_expires_at", "expires_at"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class OidcLoginFlow(AuditBase):
    """A started "Sign in with Google": what the callback must match, single-use, short-lived.

    Only digests of `state` and of the browser's `flow_token` are stored; the row belongs to no
    user yet (like `login_failures`), so it has no row-level policy.
    """

    __tablename__ = "oidc_login_flows"
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
