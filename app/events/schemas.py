from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from app.lib.schema import Schema


class EventType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    STATUS_CHANGED = "status_changed"


class EventRead(Schema):
    id: UUID
    team_id: UUID
    actor_id: UUID | None
    """`null` when the system made the change."""
    object_type: str
    object_id: UUID
    event_type: EventType
    changes: dict[str, dict[str, Any]] | None
    """`{field: {"old": ..., "new": ...}}`; decimals, dates and ids as strings."""
    created_at: datetime


class EventList(Schema):
    items: list[EventRead]
    total: int
    limit: int
    offset: int


class EventSort(StrEnum):
    CREATED_AT = "created_at"
