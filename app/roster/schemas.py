from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import Email, LongText, Name, Schema, Version


class Platform(StrEnum):
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    TWITTER = "twitter"
    TWITCH = "twitch"
    FACEBOOK = "facebook"
    LINKEDIN = "linkedin"
    PINTEREST = "pinterest"
    SNAPCHAT = "snapchat"


Handle = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S+$", examples=["@ada"])]
FollowerCount = Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"\S")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=30)]


class CreatorCreate(Schema):
    name: Name
    handles: dict[Platform, Handle] = {}
    """Handle per platform, e.g. `{"instagram": "@ada"}`."""
    follower_counts: dict[Platform, FollowerCount] = {}
    contact_email: Email | None = None
    tags: Tags = []
    notes: LongText | None = None


class CreatorUpdate(Schema):
    """Declarative: send every field, and the `version` you read. `archived: true` archives."""

    name: Name
    handles: dict[Platform, Handle]
    follower_counts: dict[Platform, FollowerCount]
    contact_email: Email | None
    tags: Tags
    notes: LongText | None
    archived: bool
    version: Version


class CreatorRead(Schema):
    id: UUID
    team_id: UUID
    name: str
    handles: dict[Platform, str]
    follower_counts: dict[Platform, int]
    contact_email: str | None
    tags: list[str]
    notes: str | None
    archived_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class CreatorList(Schema):
    items: list[CreatorRead]
    total: int
    limit: int
    offset: int


class CreatorSort(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
