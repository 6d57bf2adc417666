from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import CampaignScopedBase, VersionedMixin
from app.db.threadable import ThreadableMixin

POST_STATUSES = ("draft", "submitted", "changes_requested", "approved", "scheduled", "published")
PLATFORMS = (
    "instagram",
    "tiktok",
    "youtube",
    "twitter",
    "twitch",
    "facebook",
    "linkedin",
    "pinterest",
    "snapchat",
)


class Post(ThreadableMixin, VersionedMixin, CampaignScopedBase):
    __tablename__ = "posts"
    __thread_object_type__ = "post"
    __extra_table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in POST_STATUSES) + ")", name="status_valid"
        ),
        CheckConstraint(
            "views >= 0 AND likes >= 0 AND comments >= 0 AND shares >= 0", name="metrics_not_negative"
        ),
    )

    # Deferrable: DeleteTeam checks it at commit, after all its cascades (migration 0015).
    creator_id: Mapped[UUID] = mapped_column(ForeignKey("creators.id", deferrable=True), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    caption: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    published_url: Mapped[str | None] = mapped_column(String(500), default=None)
    views: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_posts_team_status", Post.team_id, Post.status)
