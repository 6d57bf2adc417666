from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import TeamScopedBase

EVENT_TYPES = ("created", "updated", "deleted", "status_changed")


class Event(TeamScopedBase):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(
            "event_type IN (" + ", ".join(f"'{value}'" for value in EVENT_TYPES) + ")",
            name="event_type_valid",
        ),
    )

    actor_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    """`None` for changes the system made (jobs, cascades)."""
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[UUID]
    """No foreign key on purpose: the trail outlives the object it describes."""
    event_type: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    """`{field: {"old": ..., "new": ...}}` for the tracked fields that changed."""


Index("ix_events_team_created", Event.team_id, Event.created_at.desc(), Event.id.desc())
Index("ix_events_object", Event.object_type, Event.object_id, Event.created_at.desc())
