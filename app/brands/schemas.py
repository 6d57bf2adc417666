from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import LongText, Name, Schema, Version

Website = Annotated[
    str, msgspec.Meta(max_length=500, pattern=r"^https?://\S+$", examples=["https://acme.com"])
]


class BrandCreate(Schema):
    name: Name
    website: Website | None = None
    description: LongText | None = None


class BrandUpdate(Schema):
    """Declarative: send every field, and the `version` you read."""

    name: Name
    website: Website | None
    description: LongText | None
    version: Version


class BrandRead(Schema):
    id: UUID
    team_id: UUID
    name: str
    website: str | None
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class BrandList(Schema):
    items: list[BrandRead]
    total: int
    limit: int
    offset: int


class BrandSort(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
