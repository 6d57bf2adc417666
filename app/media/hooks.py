"""What other domains call: one function, no relationships to their models.

Deleting a post, brand or creator calls `detach_media_of(...)` in its own transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from saq.queue.base import Queue
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.media.models import MediaFile
from app.queue.enqueue import enqueue

DETACHED = "detached"


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
