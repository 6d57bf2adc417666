from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import Schema
from app.realtime.frames import ServerFrame


class NotificationKind(StrEnum):
    MENTION = "mention"
    ASSIGNED = "assigned"
    REPLY = "reply"
    STATUS_CHANGED = "status_changed"
    INVITATION = "invitation"


class DigestFrequency(StrEnum):
    OFF = "off"
    HOURLY = "hourly"
    DAILY = "daily"


class NotificationRead(Schema):
    id: UUID
    team_id: UUID
    kind: NotificationKind
    object_type: str
    """What it is about (`post`, `todo`, `team_invitation`, ...); its thread shares the type."""
    object_id: UUID
    campaign_id: UUID | None
    actor_id: UUID | None
    text: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(Schema):
    """Newest first, cut by id: pass the last item's id as `before` for the next page."""

    items: list[NotificationRead]
    limit: int
    has_more: bool


class TeamUnread(Schema):
    team_id: UUID
    unread: int


class NotificationSummary(Schema):
    unread: int
    teams: list[TeamUnread]


class MarkAllRead(Schema):
    team_id: UUID | None = None
    """Only this team's notifications; `null` for all of yours."""


class MarkedRead(Schema):
    marked: int


IdList = Annotated[list[UUID], msgspec.Meta(max_length=500)]


class NotificationPreferences(Schema):
    """Declarative: all of it, as it should be. Mutes silence replies and status changes (a
    mention or an assignment still reaches you)."""

    digest: DigestFrequency
    """Email digest of unread notifications: `off`, `hourly` or `daily` (the default)."""
    muted_thread_ids: IdList
    muted_campaign_ids: IdList


class NotificationFrame(ServerFrame, tag="notification"):
    """A new notification for you (topic `notifications`)."""

    topic: str
    notification: NotificationRead
