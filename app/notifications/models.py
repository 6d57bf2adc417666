from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured
from app.db.rls import CURRENT_TEAM_ID, CURRENT_USER_ID, RlsPolicy

NOTIFICATION_KINDS = ("mention", "assigned", "reply", "status_changed", "invitation")
DIGEST_FREQUENCIES = ("off", "hourly", "daily")


class Notification(RowLevelSecured, AuditBase):
    """Read and marked by its recipient only; written by whoever caused it, inside a team they
    are working in (the `WITH CHECK` side), so the cause's transaction can write it."""

    __tablename__ = "notifications"
    __rls_policy__ = RlsPolicy(
        name="own_notifications",
        using=f"user_id = {CURRENT_USER_ID}",
        with_check=f"user_id = {CURRENT_USER_ID} OR team_id = {CURRENT_TEAM_ID}",
    )
    __table_args__ = (
        UniqueConstraint("user_id", "cause_id", name="uq_notifications_user_cause"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in NOTIFICATION_KINDS) + ")", name="kind_valid"
        ),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[UUID]
    campaign_id: Mapped[UUID | None] = mapped_column(default=None)
    """The campaign the object belongs to, if any (to mute a campaign)."""
    actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    cause_id: Mapped[UUID]
    """The message or event that caused it: one notification per cause and recipient."""
    text: Mapped[str] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


Index("ix_notifications_user_id", Notification.user_id, Notification.id.desc())
Index(
    "ix_notifications_user_unread",
    Notification.user_id,
    Notification.team_id,
    postgresql_where=text("read_at IS NULL"),
)


class NotificationPreference(RowLevelSecured, AuditBase):
    """A user's mutes and digest choice; no row means the defaults (daily digest, nothing muted).

    Written only by its user. Readable by the user and, through a team context, by the user's
    co-members, because whoever causes a notification must honour the recipient's mutes.
    """

    __tablename__ = "notification_preferences"
    __rls_policy__ = RlsPolicy(
        name="preferences_visibility",
        using=(
            f"user_id = {CURRENT_USER_ID} OR EXISTS (SELECT 1 FROM team_members m "
            f"WHERE m.user_id = notification_preferences.user_id AND m.team_id = {CURRENT_TEAM_ID})"
        ),
        with_check=f"user_id = {CURRENT_USER_ID}",
    )
    __table_args__ = (
        CheckConstraint(
            "digest IN (" + ", ".join(f"'{value}'" for value in DIGEST_FREQUENCIES) + ")",
            name="digest_valid",
        ),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    digest: Mapped[str] = mapped_column(String(10), default="daily")
    muted_thread_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    muted_campaign_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
