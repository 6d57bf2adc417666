"""Media jobs: check an upload (`process_upload`), delete detached files' bytes, and the sweep.

`process_upload` is idempotent: it acts only on a file still `processing`, and everything it
decides is written in one transaction at the end (the thumbnail it may have stored first is
overwritten by a retry under the same key). A worker killed mid-way leaves the file
`processing`; the retry does the work again.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from saq.types import Context
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import tenant_session
from app.db.tenancy import TenantContext
from app.events.schemas import EventType
from app.events.services import emit_event
from app.media.hooks import team_storage_prefix
from app.media.inspection import THUMBNAIL_TYPE, UnreadableError, describe, inspect_bytes, sniff_type
from app.media.kinds import IMAGE_TYPES, RULES, MediaKind
from app.media.models import MediaFile, PostMediaOrder
from app.media.schemas import MediaStatus
from app.media.services import TARGET_MODELS, attachment_change, thumbnail_key_of
from app.media.storage import Storage, StoredObjectMissingError, build_storage
from app.queue.enqueue import enqueue
from app.queue.registry import resources, scheduled_task, task
from app.teams.models import Team

STORAGE_KEY = "campaign_platform_media_storage"
IN_MEMORY_LIMIT = 64 * 1024 * 1024
"""Images are decoded in memory, so larger ones are refused; videos and PDFs are only hashed."""
PENDING_GRACE = timedelta(minutes=5)
"""A pending upload is swept this long after its target expired (a PUT may still be finishing)."""
PURGE_BATCH = 500
UNATTACHED_KEPT = timedelta(hours=24)
"""A message attachment uploaded but never posted on a message is swept after this."""


def storage_of(ctx: Context) -> Storage:
    cached = ctx.get(STORAGE_KEY)  # pyright: ignore[reportArgumentType]
    if cached is None:
        settings: Settings = resources(ctx).settings
        cached = build_storage(settings.media, secret_key=settings.auth.secret_key)
        ctx[STORAGE_KEY] = cached  # pyright: ignore[reportGeneralTypeIssues]
    return cached  # pyright: ignore[reportReturnType]


class RejectionError(Exception):
    """The file is not accepted; the message is the reason shown to people."""


class ObjectNotFoundYetError(Exception):
    """CompleteUpload saw the object, this worker does not (yet): retried, not rejected.

    Seen when a worker reads another storage than the API (a worker left over with other
    settings took the job: the S3 flow's one `rejected` on CI) or a store that lists a new object
    late. Only the last attempt turns it into a rejection.
    """


async def _read(storage: Storage, key: str, *, max_bytes: int) -> tuple[bytes, int, str, bytes]:
    """(bytes kept in memory, size, SHA-256, first bytes) of the stored object."""
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    head = b""
    try:
        async for chunk in storage.chunks(key):
            size += len(chunk)
            if size > max_bytes:
                raise RejectionError(f"The file is larger than the {max_bytes} bytes allowed for this kind.")
            digest.update(chunk)
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            if len(kept) + len(chunk) <= IN_MEMORY_LIMIT:
                kept += chunk
            else:
                kept = bytearray(b"")
    except StoredObjectMissingError:
        raise ObjectNotFoundYetError(key) from None
    return bytes(kept), size, digest.hexdigest(), head


@task(timeout=60, retries=5, retry_delay=2.0, retry_backoff=60.0)
async def process_upload(ctx: Context, *, team_id: str, media_id: str) -> str:
    """Check one completed upload and move it to `ready` (attached) or `rejected` (with a reason)."""
    worker = resources(ctx)
    settings: Settings = worker.settings
    if settings.media.processing_delay_seconds:
        await asyncio.sleep(settings.media.processing_delay_seconds)
    storage = storage_of(ctx)
    context = TenantContext(team_id=UUID(team_id))
    async with tenant_session(worker.session_maker, context) as session:
        file = (
            await session.execute(select(MediaFile).where(MediaFile.id == UUID(media_id)).with_for_update())
        ).scalar()
        if file is None or file.status != MediaStatus.PROCESSING:
            return "skipped"
        rule = RULES[MediaKind(file.kind)]
        job = ctx.get("job")
        try:
            try:
                found = await _inspect(
                    storage, file, max_bytes=rule.max_bytes(settings.media), types=rule.types
                )
            except ObjectNotFoundYetError:
                if job is not None and job.retryable:
                    raise  # SAQ retries with backoff; nothing was written
                raise RejectionError(
                    "No file was found in storage for this upload; upload it again."
                ) from None
        except RejectionError as rejection:
            file.status = MediaStatus.REJECTED.value
            file.reason = str(rejection)
            file.processed_at = datetime.now(tz=UTC)
            await storage.delete([file.storage_key])
            return "rejected"
        file.content_type, file.size_bytes, file.sha256, file.width, file.height, thumbnail = found
        if thumbnail is not None:
            key = thumbnail_key_of(file.team_id, file.id)
            await storage.write(key, thumbnail, content_type=THUMBNAIL_TYPE)
            file.thumbnail_key = key
        replaced = await _attach(session, file, single=rule.single)
        if replaced and job is not None and job.queue is not None:
            await enqueue(session, job.queue, "purge_detached_media", team_id=team_id)
        return "ready"


async def _inspect(
    storage: Storage, file: MediaFile, *, max_bytes: int, types: frozenset[str]
) -> tuple[str, int, str, int | None, int | None, bytes | None]:
    data, size, sha256, head = await _read(storage, file.storage_key, max_bytes=max_bytes)
    if size == 0:
        raise RejectionError("The file is empty.")
    content_type = sniff_type(head)
    if content_type != file.declared_type:
        raise RejectionError(
            f"The file was declared as {describe(file.declared_type)}, but its contents are "
            f"{describe(content_type)}."
        )
    if content_type not in types:
        raise RejectionError(f"{describe(content_type).capitalize()} is not allowed as a {file.kind}.")
    if content_type not in IMAGE_TYPES:
        return content_type, size, sha256, None, None, None
    if size > IN_MEMORY_LIMIT:
        raise RejectionError(f"Images may be at most {IN_MEMORY_LIMIT} bytes to be processed.")
    try:
        inspected = inspect_bytes(data)
    except UnreadableError:
        raise RejectionError(
            f"The file starts like {describe(content_type)} but cannot be read as one: "
            "it is truncated or damaged. Export it again and upload the new file."
        ) from None
    return content_type, size, sha256, inspected.width, inspected.height, inspected.thumbnail


async def _attach(session: AsyncSession, file: MediaFile, *, single: bool) -> bool:
    """Ready and attached: last in its target's order; a single-slot kind replaces the old file
    (True when it did: the replaced file's bytes are then to be purged)."""
    now = datetime.now(tz=UTC)
    if file.kind == MediaKind.MESSAGE_ATTACHMENT:
        # Ready to be attached: the message's post puts it on the message (and records the event).
        file.status, file.reason, file.processed_at = MediaStatus.READY.value, None, now
        return False
    replaced: list[MediaFile] = []
    same_target = and_(
        MediaFile.target_type == file.target_type,
        MediaFile.target_id == file.target_id,
        MediaFile.kind == file.kind,
        MediaFile.status == MediaStatus.READY.value,
        MediaFile.id != file.id,
    )
    if single:
        replaced = list((await session.execute(select(MediaFile).where(same_target))).scalars().all())
        for old in replaced:
            old.status = MediaStatus.DETACHED.value
            old.detached_at = now
            _emit(session, old, attached=False)
    last = (await session.execute(select(func.max(MediaFile.position)).where(same_target))).scalar()
    file.position = 0 if last is None else last + 1
    file.status = MediaStatus.READY.value
    file.reason = None
    file.processed_at = now
    _emit(session, file, attached=True)
    if file.kind == MediaKind.POST_MEDIA:
        await session.execute(
            update(PostMediaOrder)
            .where(PostMediaOrder.post_id == file.target_id)
            .values(version=PostMediaOrder.version + 1, updated_at=now)
        )
    return bool(single and replaced)


def _emit(session: AsyncSession, file: MediaFile, *, attached: bool) -> None:
    emit_event(
        session,
        team_id=file.team_id,
        actor_id=file.uploaded_by if attached else None,
        object_type=file.target_type,
        object_id=file.target_id,
        event_type=EventType.UPDATED,
        changes=attachment_change(file, attached=attached),
    )


async def _purge(session: AsyncSession, storage: Storage, conditions: list[Any]) -> int:
    """Delete the bytes of detached files, then their rows (bytes first: a crash between leaves
    a row whose objects are already gone, which the next purge deletes without complaint)."""
    rows = (
        await session.execute(
            select(MediaFile.id, MediaFile.storage_key, MediaFile.thumbnail_key)
            .where(MediaFile.status == MediaStatus.DETACHED.value, *conditions)
            .limit(PURGE_BATCH)
        )
    ).all()
    if not rows:
        return 0
    keys = [key for row in rows for key in (row.storage_key, row.thumbnail_key) if key]
    await storage.delete(keys)
    await session.execute(delete(MediaFile).where(MediaFile.id.in_([row.id for row in rows])))
    return len(rows)


@task(timeout=120, retries=5, retry_delay=5.0, retry_backoff=300.0)
async def purge_detached_media(ctx: Context, *, team_id: str) -> int:
    """Delete the stored bytes and rows of the team's detached files (after the detaching commit)."""
    worker = resources(ctx)
    async with tenant_session(worker.session_maker, TenantContext(team_id=UUID(team_id))) as session:
        return await _purge(session, storage_of(ctx), [MediaFile.team_id == UUID(team_id)])


@task(timeout=600, retries=5, retry_delay=5.0, retry_backoff=300.0)
async def purge_team_storage(ctx: Context, *, team_id: str) -> str:
    """Delete a deleted team's stored objects (its rows went with it by cascade).

    Runs on the system role: the team's tenant context would see no team row either way, and it
    must be sure the team is really gone before it deletes a whole folder.
    """
    worker = resources(ctx)
    async with worker.system_session_maker() as session, session.begin():
        alive = (await session.execute(select(Team.id).where(Team.id == UUID(team_id)))).first()
    if alive is not None:
        return "kept: the team exists"
    removed = await storage_of(ctx).delete_prefix(team_storage_prefix(UUID(team_id)))
    return f"deleted={removed}"


def _sweep_schedule(settings: Settings) -> str:
    return settings.media.sweep_cron


def _target_gone() -> Any:
    return or_(
        *(
            and_(MediaFile.target_type == target.value, ~exists().where(model.id == MediaFile.target_id))
            for target, model in TARGET_MODELS.items()
        )
    )


def _never_attached(now: datetime) -> Any:
    """A message attachment ready this long without being posted on a message."""
    return and_(
        MediaFile.kind == MediaKind.MESSAGE_ATTACHMENT.value,
        MediaFile.message_id.is_(None),
        MediaFile.status.in_((MediaStatus.READY.value, MediaStatus.REJECTED.value)),
        MediaFile.processed_at < now - UNATTACHED_KEPT,
    )


@scheduled_task(cron=_sweep_schedule, timeout=300)
async def sweep_media(ctx: Context) -> str:
    """No orphans: detach upload intents never completed, files whose target is gone (a
    campaign deleted with its posts, a delete without the hook) and message attachments never
    posted on a message, then delete detached files.

    Crosses every team, so it runs on the system role (BYPASSRLS), one of the few named jobs that do.
    """
    worker = resources(ctx)
    now = datetime.now(tz=UTC)
    async with worker.system_session_maker() as session, session.begin():
        expired = await session.execute(
            update(MediaFile)
            .where(MediaFile.status == MediaStatus.PENDING.value, MediaFile.expires_at < now - PENDING_GRACE)
            .values(
                status=MediaStatus.DETACHED.value, detached_at=now, reason="The upload was never completed."
            )
        )
        orphaned = await session.execute(
            update(MediaFile)
            .where(MediaFile.status != MediaStatus.DETACHED.value, or_(_target_gone(), _never_attached(now)))
            .values(status=MediaStatus.DETACHED.value, detached_at=now)
        )
    purged = 0
    storage = storage_of(ctx)
    while True:
        async with worker.system_session_maker() as session, session.begin():
            batch = await _purge(session, storage, [])
        purged += batch
        if batch < PURGE_BATCH:
            break
    return f"expired={expired.rowcount} orphaned={orphaned.rowcount} purged={purged}"  # pyright: ignore[reportAttributeAccessIssue]
