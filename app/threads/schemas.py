from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from app.lib.schema import Schema, Version
from app.media.schemas import MediaRead
from app.realtime.frames import ServerFrame

MAX_BODY = 10_000
MAX_MENTIONS = 50
MAX_ATTACHMENTS = 10

Body = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_BODY + 1_000,
        description="Markdown text, 1-10,000 characters after trimming.",
        examples=["Looks great, @Ada can you check the caption?"],
    ),
]
Mentions = Annotated[
    list[UUID],
    msgspec.Meta(max_length=MAX_MENTIONS, description="User ids of members who can see the object."),
]


class MessageKind(StrEnum):
    USER = "user"
    SYSTEM = "system"


Attachments = Annotated[
    list[UUID],
    msgspec.Meta(
        max_length=MAX_ATTACHMENTS,
        description=(
            "Media ids of your ready `message_attachment` uploads for this object (CreateUpload with"
            " kind message_attachment and this target), in display order; at most 10."
        ),
    ),
]


class ThreadMessageCreate(Schema):
    """A message: a body, or attachments, or both."""

    body: Body = ""
    mentions: Mentions = msgspec.field(default_factory=list)
    attachments: Attachments = msgspec.field(default_factory=list)


class ThreadMessageUpdate(Schema):
    """Declarative: the whole message as it should be, with the version you read."""

    body: Body
    mentions: Mentions
    version: Version


class ThreadMessageRead(Schema):
    id: UUID
    thread_id: UUID
    kind: MessageKind
    """`system` messages show an activity event on the object."""
    author_id: UUID | None
    author_name: str | None
    body: str
    """Empty for system messages and deleted ones."""
    mentions: list[UUID]
    event_type: str | None
    changes: dict[str, dict[str, Any]] | None
    """For system messages: `{field: {"old": ..., "new": ...}}`."""
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    """Set on a tombstone: the message was deleted; it keeps its place in the thread."""
    version: int
    attachments: list[MediaRead] = msgspec.field(default_factory=list)
    """Files on the message, in order, with short-lived signed download URLs (none on a
    tombstone or a system message)."""


class ThreadMessageList(Schema):
    """One page of a thread, cut by message id (stable while others post)."""

    items: list[ThreadMessageRead]
    limit: int
    has_more: bool
    """More messages lie beyond the last item, in the page's direction."""


class ThreadParticipant(Schema):
    user_id: UUID
    name: str


class ThreadRead(Schema):
    object_type: str
    object_id: UUID
    thread_id: UUID | None
    """`null` until the first message (a thread is created on first use)."""
    message_count: int
    """Every message, tombstones included (so counts stay coherent after a deletion)."""
    participants: list[ThreadParticipant]
    """Authors of the thread's messages (not system ones)."""
    unread_count: int
    """Messages by others after your last-read marker, deleted ones not counted."""
    last_read_message_id: UUID | None


class ThreadReadMark(Schema):
    message_id: UUID | None = None
    """Mark up to this message; `null` marks the whole thread as read."""


class ThreadMessageFrame(ServerFrame, tag="message"):
    """A message posted, edited or deleted in a thread you subscribed to (`thread:...`)."""

    topic: str
    action: Literal["created", "updated", "deleted"]
    message: ThreadMessageRead
