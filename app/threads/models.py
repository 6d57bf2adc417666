from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import MaybeCampaignScopedBase, VersionedMixin
from app.db.rls import CAMPAIGN_POLICY, CURRENT_USER_ID, RlsPolicy

MESSAGE_KINDS = ("user", "system")


class Thread(MaybeCampaignScopedBase):
    """One per object, created by the first message (a user's or a system one)."""

    __tablename__ = "threads"
    __extra_table_args__ = (UniqueConstraint("object_type", "object_id", name="uq_threads_object"),)

    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[UUID]
    """No foreign key: the thread (and its history) outlives a deleted object."""


class ThreadMessage(VersionedMixin, MaybeCampaignScopedBase):
    __tablename__ = "thread_messages"
    __extra_table_args__ = (
        CheckConstraint("kind IN ('user', 'system')", name="kind_valid"),
        UniqueConstraint("event_id", name="uq_thread_messages_event"),
    )

    thread_id: Mapped[UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="user")
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    """The poster; for a system message the event's actor (`None` when the system acted)."""
    body: Mapped[str] = mapped_column(Text, default="")
    mentions: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    event_id: Mapped[UUID | None] = mapped_column(default=None)
    """The activity event a system message shows (one message per event)."""
    event_type: Mapped[str | None] = mapped_column(String(20), default=None)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    edited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """A tombstone: the body is emptied, the row stays so counts and replies stay coherent."""


Index("ix_thread_messages_thread_id", ThreadMessage.thread_id, ThreadMessage.id.desc())


class ThreadReadMarker(MaybeCampaignScopedBase):
    """How far one user has read one thread. Each user sees only their own markers."""

    __tablename__ = "thread_read_markers"
    __rls_policy__ = RlsPolicy(
        name="own_read_marker", using=f"({CAMPAIGN_POLICY.using}) AND user_id = {CURRENT_USER_ID}"
    )
    __extra_table_args__ = (UniqueConstraint("thread_id", "user_id", name="uq_thread_read_markers_user"),)

    thread_id: Mapped[UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_read_message_id: Mapped[UUID | None] = mapped_column(default=None)
