from __future__ import annotations

from sqlalchemy import Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import TeamScopedBase, VersionedMixin
from app.db.threadable import ThreadableMixin


class Brand(ThreadableMixin, VersionedMixin, TeamScopedBase):
    __tablename__ = "brands"
    __thread_object_type__ = "brand"
    __thread_campaign_key__ = None

    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)


Index("uq_brands_team_name", Brand.team_id, func.lower(Brand.name), unique=True)
