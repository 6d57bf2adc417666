"""What other domains call: small functions, no relationships to their models.

Deleting a post, brand or creator calls `detach_media_of(...)` in its own transaction, deleting a
thread message `detach_message_media(...)`; deleting a team calls `purge_team_media(...)` (its
rows go by cascade, its stored bytes by a task).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from saq.queue.base import Queue
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.schemas import EventType
from app.events.services import emit_event
from app.media.models import MediaFile
from app.queue.enqueue import enqueue

DETACHED = "detached"
MESSAGE_OBJECT_TYPE = "thread_message"
"""The object of a message attachment's events (not a threadable type: no system message)."""


async def detach_media_of(
    session: AsyncSession, queue: Queue | None, *, team_id: UUID, target_type: str, target_id: UUID
) -> int:
    """The hook a domain calls when it deletes a post, brand or creator (inside its transaction).

    Its files are detached at once (nothing half-attached survives the delete) and
    `purge_detached_media` deletes their bytes after commit. Without a queue (a caller that has
    none) the media sweep cron deletes them instead.
    """
    result = await session.execute(
        update(MediaFile)
        .where(
            MediaFile.target_type == target_type,
            MediaFile.target_id == target_id,
            MediaFile.status != DETACHED,
        )
        .values(status=DETACHED, detached_at=datetime.now(tz=UTC))
        .returning(MediaFile.id)
    )
    count = len(result.all())
    if count and queue is not None:
        await enqueue(session, queue, "purge_detached_media", team_id=str(team_id))
    return count


def team_storage_prefix(team_id: UUID) -> str:
    """Every stored object of a team lives under this folder (see `storage_key_of`)."""
    return f"teams/{team_id}/"


async def purge_team_media(session: AsyncSession, queue: Queue, *, team_id: UUID) -> None:
    """The hook the team's delete calls inside its transaction: the rows go with the team (foreign
    key cascade), and `purge_team_storage` deletes the team's stored objects after commit."""
    await enqueue(
        session, queue, "purge_team_storage", key=f"purge_team_storage:{team_id}", team_id=str(team_id)
    )


async def detach_message_media(
    session: AsyncSession, queue: Queue | None, *, team_id: UUID, message_id: UUID, actor_id: UUID | None
) -> int:
    """The hook the threads module calls when a message is deleted (inside its transaction): the
    message's files are detached with one event on the message, their bytes purged after commit."""
    files = list(
        (
            await session.execute(
                select(MediaFile)
                .where(MediaFile.message_id == message_id, MediaFile.status != DETACHED)
                .order_by(MediaFile.position)
                .with_for_update()
            )
        ).scalars()
    )
    if not files:
        return 0
    now = datetime.now(tz=UTC)
    for file in files:
        file.status = DETACHED
        file.detached_at = now
    described = [{"id": str(file.id), "kind": file.kind, "file_name": file.file_name} for file in files]
    emit_event(
        session,
        team_id=team_id,
        actor_id=actor_id,
        object_type=MESSAGE_OBJECT_TYPE,
        object_id=message_id,
        event_type=EventType.UPDATED,
        changes={"media": {"old": described, "new": None}},
    )
    await session.flush()
    if queue is not None:
        await enqueue(session, queue, "purge_detached_media", team_id=str(team_id))
    return len(files)
