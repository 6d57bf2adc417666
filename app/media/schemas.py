from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import Schema, Version
from app.media.kinds import MediaKind, TargetType

FileName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$", examples=["draft-1.jpg"])
]
ContentType = Annotated[
    str,
    msgspec.Meta(
        min_length=3, max_length=100, pattern=r"^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+$", examples=["image/jpeg"]
    ),
]


class MediaStatus(StrEnum):
    PENDING = "pending"
    """Upload target handed out; waiting for the bytes and CompleteUpload."""
    PROCESSING = "processing"
    """Completed; the worker checks the file."""
    READY = "ready"
    """Checked and attached to its target."""
    REJECTED = "rejected"
    """Not accepted; `reason` says why."""
    DETACHED = "detached"
    """Removed from its target; its bytes are being deleted."""


class UploadCreate(Schema):
    kind: MediaKind
    target_id: UUID
    """The post (post_media), brand (brand_logo) or creator (creator_avatar, creator_media_kit);
    for a message_attachment, the object whose thread the message goes to."""
    file_name: FileName
    content_type: ContentType
    size: Annotated[int, msgspec.Meta(ge=1, description="The file's size in bytes.")]
    target_type: TargetType | None = None
    """Required for a message_attachment (`post`, `campaign`, `todo`, `creator`, `brand`); the
    other kinds imply it (if sent, it must match)."""


class UploadTarget(Schema):
    method: str
    url: str
    headers: dict[str, str]
    """Send exactly these headers with the bytes."""
    expires_at: datetime


class MediaRead(Schema):
    id: UUID
    team_id: UUID
    campaign_id: UUID | None
    kind: MediaKind
    target_type: TargetType
    target_id: UUID
    position: int
    message_id: UUID | None
    """The thread message a message_attachment is on (`null` until posted)."""
    file_name: str
    status: MediaStatus
    reason: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    width: int | None
    height: int | None
    created_at: datetime
    processed_at: datetime | None
    download_url: str | None = None
    """Short-lived signed URL (ready files only)."""
    thumbnail_url: str | None = None
    """Short-lived signed URL of a 480 px WebP thumbnail (ready images only)."""


class UploadCreated(Schema):
    media: MediaRead
    upload: UploadTarget


class MediaList(Schema):
    items: list[MediaRead]
    total: int
    limit: int
    offset: int


class PostMediaGallery(Schema):
    """A post's ready media in order, and the version to send back with a reorder."""

    items: list[MediaRead]
    version: int


class PostMediaOrderUpdate(Schema):
    """Declarative: every ready media id of the post, in the new order, and the version you read."""

    media_ids: Annotated[list[UUID], msgspec.Meta(max_length=200)]
    version: Version


class StorageUsage(Schema):
    team_id: UUID
    used_bytes: int
    """Bytes of ready and in-flight files (detached ones are on their way out)."""
    quota_bytes: int
    files: int
