from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import CampaignScopedBase, TeamScopedBase, VersionedMixin
from app.db.rls import CURRENT_CAMPAIGN_IDS, CURRENT_TEAM_ID, RlsPolicy

MEDIA_STATUSES = ("pending", "processing", "ready", "rejected", "detached")

MEDIA_POLICY = RlsPolicy(
    using=(
        f"team_id = {CURRENT_TEAM_ID} AND ({CURRENT_CAMPAIGN_IDS} IS NULL"
        f" OR campaign_id = ANY (string_to_array({CURRENT_CAMPAIGN_IDS}, ',')::uuid[]))"
    )
)
"""The team's files; a campaign guest sees only the media of their campaigns (a file without a
campaign, such as a brand logo, compares NULL and stays hidden from them)."""


class MediaFile(TeamScopedBase):
    """One uploaded file, from the upload intent (`pending`) to `ready`, `rejected` or `detached`.

    `campaign_id` is the campaign of the target (post media, a message attachment in a campaign's
    or post's thread). It has no foreign key on purpose: deleting a
    campaign must not drop these rows by cascade before their stored objects are deleted; the
    sweep finds files whose target is gone and removes object and row together.
    """

    __tablename__ = "media_files"
    __rls_policy__ = MEDIA_POLICY
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in MEDIA_STATUSES) + ")", name="status_valid"
        ),
        CheckConstraint("declared_size > 0", name="declared_size_positive"),
    )

    campaign_id: Mapped[UUID | None] = mapped_column(default=None, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[UUID] = mapped_column()
    position: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[UUID | None] = mapped_column(default=None, index=True)
    """The thread message a `message_attachment` is on (`None` until the message is posted).
    No foreign key: media stand below threads (see the migration)."""
    file_name: Mapped[str] = mapped_column(String(255))
    declared_type: Mapped[str] = mapped_column(String(100))
    declared_size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    """Why a file was rejected, in words a person understands."""
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    """The type found in the bytes (not the declared one)."""
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(300), default=None)
    uploaded_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """Until when the upload target works; a `pending` file past it is swept."""
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    processed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    detached_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


Index("ix_media_files_target", MediaFile.target_type, MediaFile.target_id, MediaFile.position)
Index("ix_media_files_team_status", MediaFile.team_id, MediaFile.status)


class PostMediaOrder(VersionedMixin, CampaignScopedBase):
    """The version of a post's media order: `ReorderPostMedia` sends it back (409 when stale)."""

    __tablename__ = "post_media_orders"

    post_id: Mapped[UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
