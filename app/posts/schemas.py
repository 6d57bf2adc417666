from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import AwareDatetime, LongText, Schema, Version
from app.roster.schemas import Platform

Metric = Annotated[int, msgspec.Meta(ge=0, le=2_000_000_000)]
Url = Annotated[
    str, msgspec.Meta(max_length=500, pattern=r"^https?://\S+$", examples=["https://instagram.com/p/x"])
]


class PostStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class PostCreate(Schema):
    """A new post starts as `draft`; its creator must be booked on the campaign."""

    creator_id: UUID
    platform: Platform
    caption: LongText | None = None
    scheduled_at: AwareDatetime | None = None


class PostUpdate(Schema):
    """Declarative: send every field, and the `version` you read. `status` moves along the allowed transitions."""

    creator_id: UUID
    platform: Platform
    caption: LongText | None
    status: PostStatus
    scheduled_at: AwareDatetime | None
    """Required to move to `scheduled`."""
    published_at: AwareDatetime | None
    """Set to now when the post moves to `published` without one."""
    published_url: Url | None
    views: Metric
    likes: Metric
    comments: Metric
    shares: Metric
    version: Version


class PostRead(Schema):
    id: UUID
    team_id: UUID
    campaign_id: UUID
    creator_id: UUID
    creator_name: str
    platform: Platform
    caption: str | None
    status: PostStatus
    scheduled_at: datetime | None
    published_at: datetime | None
    published_url: str | None
    views: int
    likes: int
    comments: int
    shares: int
    version: int
    created_at: datetime
    updated_at: datetime


class PostList(Schema):
    items: list[PostRead]
    total: int
    limit: int
    offset: int


class PostSort(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    SCHEDULED_AT = "scheduled_at"
    PUBLISHED_AT = "published_at"
    VIEWS = "views"
