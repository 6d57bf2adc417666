from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import TeamScopedBase, VersionedMixin
from app.db.threadable import ThreadableMixin


class Creator(ThreadableMixin, VersionedMixin, TeamScopedBase):
    __tablename__ = "creators"
    __thread_object_type__ = "creator"
    __thread_campaign_key__ = None

    name: Mapped[str] = mapped_column(String(200))
    handles: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    follower_counts: Mapped[dict[str, int]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'::text[]"))
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


Index("ix_creators_team_name", Creator.team_id, func.lower(Creator.name))
Index("ix_creators_tags", Creator.tags, postgresql_using="gin")
