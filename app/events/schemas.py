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
    """A page of a feed. Totals are exact up to 1,000 (`total_exact`); page on with `next_cursor`."""

    items: list[EventRead]
    total: int
    """Matching events, exact up to 1,000; beyond that 1,001 and `total_exact` is false."""
    limit: int
    offset: int
    total_exact: bool = True
    next_cursor: str | None = None
    """Pass as `after` for the next page (same filters and order); `null` on the last page."""


class EventSort(StrEnum):
    CREATED_AT = "created_at"
