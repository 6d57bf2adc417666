"""Reading a feed whose cost per page stays flat however long it grows.

Two things would grow with the team's history: a `count(*) OVER ()` total (it reads every
matching row) and a deep `offset` (it reads and throws away every skipped row). Instead:

- the total is exact up to `TOTAL_CAP` and flagged beyond it (`total_exact: false`): the count
  reads at most `TOTAL_CAP + 1` index entries;
- `next_cursor` continues the feed by keyset (`(created_at, id)` after the last item, in the
  chosen order, on the index `ix_events_team_created`), so page 1,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import ColumnElement, Select, bindparam, func, literal, select, tuple_

from app.events.models import Event
from app.lib.errors import invalid_field
from app.lib.pagination import SortOrder

TOTAL_CAP = 1000
"""Totals are exact up to this many events; beyond it `total` is `TOTAL_CAP + 1` and `total_exact` false."""


class FeedCursor(msgspec.Struct, frozen=True, array_like=True):
    created_at: datetime
    id: UUID


def encode_cursor(created_at: datetime, event_id: UUID) -> str:
    raw = msgspec.json.encode(FeedCursor(created_at=created_at, id=event_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> FeedCursor:
    """The position a `next_cursor` names; a 400 naming `after` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=FeedCursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise invalid_field(
            "after", "Is not a cursor from this feed; pass `next_cursor` as it was returned", source="query"
        ) from None


def after_condition(order: SortOrder) -> ColumnElement[bool]:
    """After the position bound as `after_created_at` and `after_id`, in the feed's order."""
    position = tuple_(Event.created_at, Event.id)
    boundary = tuple_(
        bindparam("after_created_at", type_=Event.created_at.type), bindparam("after_id", type_=Event.id.type)
    )
    return position < boundary if order is SortOrder.DESC else position > boundary


def cursor_values(cursor: FeedCursor) -> dict[str, Any]:
    """The bound values of `after_condition`."""
    return {"after_created_at": cursor.created_at, "after_id": cursor.id}


def capped_count(conditions: Sequence[ColumnElement[bool]]) -> Select[int]:
    # Ordered like the index, so the scan stops after TOTAL_CAP + 1 entries (a bitmap scan,
    # which the planner may prefer otherwise, would read every entry of the team first).
    limited = (
        select(literal(1))
        .select_from(Event)
        .where(*conditions)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(TOTAL_CAP + 1)
        .subquery()
    )
    return select(func.count()).select_from(limited)
