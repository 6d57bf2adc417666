from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import TeamScopedBase
from app.db.rls import CURRENT_TEAM_ID, CURRENT_USER_ID, RlsPolicy


class IdempotencyKey(TeamScopedBase):
    """A request sent with an `Idempotency-Key` header and the response it got, kept 24 h.

    Per user and team: another user (even of the same team) never sees or collides with it.
    Written in the request's own transaction, so a failed request leaves no key behind and its
    retry runs afresh; a concurrent retry waits on the unique index until the first commits.
    """

    __tablename__ = "idempotency_keys"
    __rls_policy__ = RlsPolicy(
        name="own_idempotency_keys",
        using=f"team_id = {CURRENT_TEAM_ID} AND user_id = {CURRENT_USER_ID}",
    )
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the method, path and canonical JSON body: the same key with another body is refused."""
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)
    """The JSON response body, byte for byte as first sent."""
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
