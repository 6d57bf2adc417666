"""Uploads, attachments and downloads of media files.

Rules: the caller must be able to change the target (a post of a campaign that is not archived,
a brand, a creator of the team); a kind takes only its types (415) up to its size (413) and the
team's quota (413); CompleteUpload needs the bytes in storage (409 otherwise) and enqueues
`process_upload` in its own transaction. A file is attached to its target once processed
(`ready`); detaching marks it `detached` and a task deletes its bytes after commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, Select, any_, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.brands.models import Brand
from app.campaigns.models import Campaign
from app.campaigns.rules import ensure_campaign_accepts
from app.config import MediaSettings
from app.db.paging import fetch_page
from app.events.schemas import EventType
from app.events.services import emit_event
from app.lib.errors import (
    ConflictError,
    GoneError,
    PermissionDeniedError,
    ResourceNotFoundError,
    invalid_field,
    unknown_reference,
)
from app.lib.pagination import Page
from app.lib.roles import TeamRole
from app.lib.versioning import ensure_current_version
from app.media.errors import TooLargeError, UnsupportedTypeError
from app.media.hooks import MESSAGE_OBJECT_TYPE
from app.media.kinds import RULES, MediaKind, TargetType, normalized_type
from app.media.models import MediaFile, PostMediaOrder
from app.media.schemas import (
    MediaList,
    MediaRead,
    MediaStatus,
    PostMediaGallery,
    StorageUsage,
    UploadCreate,
    UploadCreated,
    UploadTarget,
)
from app.media.storage import Storage
from app.posts.models import Post
from app.queue.enqueue import enqueue
from app.roster.models import Creator
from app.todos.models import Todo

TARGET_MODELS: dict[TargetType, Any] = {
    TargetType.POST: Post,
    TargetType.BRAND: Brand,
    TargetType.CREATOR: Creator,
    TargetType.CAMPAIGN: Campaign,
    TargetType.TODO: Todo,
}
"""The model of each target type (all have threads: message attachments may go to any)."""

LIVE_STATUSES = ("pending", "processing", "ready")
"""What counts against the quota: everything not rejected or on its way out."""


def storage_used(team_id: UUID | ColumnElement[UUID]) -> Select[int, int]:
    """(bytes, files) the team's media use against the quota (also the dashboard's figure)."""
    return select(
        func.coalesce(func.sum(func.coalesce(MediaFile.size_bytes, MediaFile.declared_size)), 0).label(
            "used_bytes"
        ),
        func.count().label("files"),
    ).where(MediaFile.team_id == team_id, MediaFile.status == any_(array(LIVE_STATUSES)))


class MediaRow(msgspec.Struct, kw_only=True):
    """A file as selected, with the storage keys the response never shows."""

    id: UUID
    team_id: UUID
    campaign_id: UUID | None
    kind: MediaKind
    target_type: TargetType
    target_id: UUID
    position: int
    message_id: UUID | None
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
    storage_key: str
    thumbnail_key: str | None


_COLUMNS = tuple(getattr(MediaFile, name) for name in MediaRow.__struct_fields__)


def media_read(row: MediaRow | MediaFile, storage: Storage, settings: MediaSettings) -> MediaRead:
    """The response for one file; ready files get short-lived signed URLs."""
    download_url = thumbnail_url = None
    if row.status == MediaStatus.READY:
        ttl = settings.download_ttl_seconds
        download_url = storage.download_url(row.storage_key, file_name=row.file_name, expires_in=ttl)
        if row.thumbnail_key:
            thumbnail_url = storage.download_url(
                row.thumbnail_key, file_name=f"thumbnail-{row.file_name}.webp", expires_in=ttl
            )
    return MediaRead(
        id=row.id,
        team_id=row.team_id,
        campaign_id=row.campaign_id,
        kind=MediaKind(row.kind),
        target_type=TargetType(row.target_type),
        target_id=row.target_id,
        position=row.position,
        message_id=row.message_id,
        file_name=row.file_name,
        status=MediaStatus(row.status),
        reason=row.reason,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        width=row.width,
        height=row.height,
        created_at=row.created_at,
        processed_at=row.processed_at,
        download_url=download_url,
        thumbnail_url=thumbnail_url,
    )


def storage_key_of(team_id: UUID, media_id: UUID) -> str:
    return f"teams/{team_id}/media/{media_id}/original"


def thumbnail_key_of(team_id: UUID, media_id: UUID) -> str:
    return f"teams/{team_id}/media/{media_id}/thumbnail.webp"


def _described(file: MediaFile) -> dict[str, Any]:
    return {"id": str(file.id), "kind": file.kind, "file_name": file.file_name}


def attachment_change(file: MediaFile, *, attached: bool) -> dict[str, dict[str, Any]]:
    """The `changes` of the target's event when a file is attached or detached."""
    described = _described(file)
    return {"media": {"old": None, "new": described} if attached else {"old": described, "new": None}}


def _ensure_guest_may(role: TeamRole | None, kind: MediaKind) -> None:
    if role is TeamRole.GUEST and kind is not MediaKind.MESSAGE_ATTACHMENT:
        raise PermissionDeniedError("Guests can upload files to thread messages only.")


def _target_type_of(implied: TargetType | None, data: UploadCreate) -> TargetType:
    """The upload's target type: the kind's own, or (message attachments) the one sent."""
    if implied is None:
        if data.target_type is None:
            raise invalid_field(
                "target_type",
                f"is required for a {data.kind}: the type of the object whose thread it goes to",
            )
        return data.target_type
    if data.target_type not in {None, implied}:
        raise invalid_field("target_type", f"must be {implied} for a {data.kind} (or left out)")
    return implied


def _ensure_attachable(
    file: MediaFile | None, media_id: UUID, actor_id: UUID, object_type: str, object_id: UUID
) -> None:
    if file is None or file.status == MediaStatus.DETACHED:
        raise unknown_reference("attachments", f"{media_id} is no media file of this team that you can see")
    if (
        file.kind != MediaKind.MESSAGE_ATTACHMENT
        or file.target_type != object_type
        or file.target_id != object_id
    ):
        raise unknown_reference(
            "attachments",
            f"{media_id} was not uploaded as a message_attachment for this {object_type}'s thread",
        )
    if file.uploaded_by != actor_id:
        raise unknown_reference(
            "attachments", f"{media_id} was uploaded by someone else; attach your own files"
        )
    if file.message_id is not None:
        raise ConflictError(f"attachments: {media_id} is already on another message.")
    if file.status == MediaStatus.REJECTED:
        raise ConflictError(f"attachments: {media_id} was rejected: {file.reason}")
    if file.status != MediaStatus.READY:
        raise ConflictError(
            f"attachments: {media_id} is {file.status}; attach it once GetMedia shows it ready."
        )


class MediaService(SQLAlchemyAsyncRepositoryService[MediaFile]):
    class Repo(SQLAlchemyAsyncRepository[MediaFile]):
        model_type = MediaFile

        def readable(self) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """Every media read starts here; RLS limits it to the team (and a guest's campaigns)."""
            return select(*_COLUMNS)  # pyright: ignore[reportReturnType]

        async def row(self, media_id: UUID) -> MediaRow:
            found = (
                (await self.session.execute(self.readable().where(MediaFile.id == media_id)))
                .mappings()
                .first()
            )
            if found is None or found["status"] == MediaStatus.DETACHED:
                raise ResourceNotFoundError("Media file not found.")
            return msgspec.convert(found, MediaRow, strict=False)

        async def locked(self, media_id: UUID) -> MediaFile:
            file = (
                await self.session.execute(
                    select(MediaFile).where(MediaFile.id == media_id).with_for_update()
                )
            ).scalar()
            if file is None or file.status == MediaStatus.DETACHED:
                raise ResourceNotFoundError("Media file not found.")
            return file

        async def used_bytes(self, team_id: UUID) -> tuple[int, int]:
            used, files = (await self.session.execute(storage_used(team_id))).one()
            return int(used), int(files)

        async def list_page(
            self, *, page: Page, conditions: list[ColumnElement[bool]]
        ) -> tuple[list[MediaRow], int]:
            statement = (
                self.readable()
                .where(MediaFile.status != MediaStatus.DETACHED.value, *conditions)
                .order_by(MediaFile.target_id, MediaFile.position, MediaFile.created_at, MediaFile.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=MediaRow)

        async def ready_of_post(self, post_id: UUID) -> list[MediaRow]:
            statement = (
                self.readable()
                .where(
                    MediaFile.target_type == TargetType.POST.value,
                    MediaFile.target_id == post_id,
                    MediaFile.status == MediaStatus.READY.value,
                )
                .order_by(MediaFile.position, MediaFile.processed_at, MediaFile.id)
            )
            rows = (await self.session.execute(statement)).mappings().all()
            return msgspec.convert(list(rows), list[MediaRow], strict=False)

    repository_type = Repo

    def __init__(self, *, session: AsyncSession, storage: Storage, settings: MediaSettings) -> None:
        super().__init__(session=session)
        self.storage = storage
        self.settings = settings

    @property
    def session(self) -> AsyncSession:
        return self.repository.session  # pyright: ignore[reportReturnType]

    # --- upload ------------------------------------------------------------------------------

    async def create_upload(
        self, *, team_id: UUID, actor_id: UUID, data: UploadCreate, role: TeamRole | None = TeamRole.MEMBER
    ) -> UploadCreated:
        rule = RULES[data.kind]
        _ensure_guest_may(role, data.kind)
        target_type = _target_type_of(rule.target, data)
        content_type = normalized_type(data.content_type)
        if content_type not in rule.types:
            raise UnsupportedTypeError(
                f"A {data.kind} cannot be {content_type}; allowed: {', '.join(sorted(rule.types))}.",
                extra={"allowed_types": sorted(rule.types)},
            )
        max_bytes = rule.max_bytes(self.settings)
        if data.size > max_bytes:
            raise TooLargeError(
                f"A {data.kind} may be at most {max_bytes} bytes; this file is {data.size}.",
                extra={"max_bytes": max_bytes},
            )
        if data.kind is MediaKind.MESSAGE_ATTACHMENT:
            campaign_id = await self._thread_object(target_type, data.target_id, role=role)
        else:
            campaign_id = await self._target_for_change(target_type, data.target_id)
        await self._ensure_quota(team_id, data.size)
        media_id = uuid7()
        expires_at = datetime.now(tz=UTC) + timedelta(seconds=self.settings.upload_ttl_seconds)
        file = MediaFile(
            id=media_id,
            team_id=team_id,
            campaign_id=campaign_id,
            kind=data.kind.value,
            target_type=target_type.value,
            target_id=data.target_id,
            file_name=data.file_name.strip(),
            declared_type=content_type,
            declared_size=data.size,
            status=MediaStatus.PENDING.value,
            storage_key=storage_key_of(team_id, media_id),
            uploaded_by=actor_id,
            expires_at=expires_at,
        )
        self.session.add(file)
        await self.session.flush()
        if data.kind is MediaKind.POST_MEDIA and campaign_id is not None:
            await self.session.execute(
                insert(PostMediaOrder)
                .values(
                    id=uuid7(), team_id=team_id, campaign_id=campaign_id, post_id=data.target_id, version=1
                )
                .on_conflict_do_nothing(index_elements=["post_id"])
            )
        target = self.storage.upload_target(
            file.storage_key,
            content_type=content_type,
            max_bytes=data.size,
            expires_in=self.settings.upload_ttl_seconds,
        )
        return UploadCreated(
            media=media_read(file, self.storage, self.settings),
            upload=UploadTarget(
                method=target.method, url=target.url, headers=target.headers, expires_at=expires_at
            ),
        )

    async def complete_upload(
        self, media_id: UUID, *, queue: Queue, role: TeamRole | None = TeamRole.MEMBER
    ) -> MediaRead:
        """Hand the uploaded bytes to `process_upload`; completing twice changes nothing."""
        file = await self.repository.locked(media_id)
        _ensure_guest_may(role, MediaKind(file.kind))
        if file.status in {MediaStatus.PROCESSING, MediaStatus.READY}:
            return media_read(file, self.storage, self.settings)
        if file.status == MediaStatus.REJECTED:
            raise ConflictError(f"This upload was rejected: {file.reason} Start a new upload.")
        if file.kind == MediaKind.POST_MEDIA:
            await self._target_for_change(TargetType.POST, file.target_id)
        if file.expires_at < datetime.now(tz=UTC):
            raise GoneError("This upload expired before it was completed; start a new upload.")
        size = await self.storage.size_of(file.storage_key)
        if size is None:
            raise ConflictError(
                "No file has arrived for this upload yet: PUT the bytes to the upload URL, then complete it."
            )
        if size > file.declared_size:
            raise TooLargeError(
                f"The uploaded file is {size} bytes, more than the {file.declared_size} declared; "
                "start a new upload with its real size.",
                extra={"max_bytes": file.declared_size},
            )
        file.status = MediaStatus.PROCESSING.value
        file.size_bytes = size
        file.completed_at = datetime.now(tz=UTC)
        await self.session.flush()
        await enqueue(
            self.session,
            queue,
            "process_upload",
            key=f"process_upload:{file.id}",
            team_id=str(file.team_id),
            media_id=str(file.id),
        )
        return media_read(file, self.storage, self.settings)

    # --- reads ---------------------------------------------------------------------------------

    async def read(self, media_id: UUID) -> MediaRead:
        return media_read(await self.repository.row(media_id), self.storage, self.settings)

    async def list_media(
        self,
        *,
        page: Page,
        kind: MediaKind | None,
        target_id: UUID | None,
        status: MediaStatus | None,
    ) -> MediaList:
        conditions: list[ColumnElement[bool]] = []
        if kind is not None:
            conditions.append(MediaFile.kind == kind.value)
        if target_id is not None:
            conditions.append(MediaFile.target_id == target_id)
        if status is not None:
            conditions.append(MediaFile.status == status.value)
        rows, total = await self.repository.list_page(page=page, conditions=conditions)
        items = [media_read(row, self.storage, self.settings) for row in rows]
        return MediaList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def list_post_media(self, campaign_id: UUID, post_id: UUID) -> PostMediaGallery:
        await self._visible_post(campaign_id, post_id)
        rows = await self.repository.ready_of_post(post_id)
        version = (
            await self.session.execute(
                select(PostMediaOrder.version).where(PostMediaOrder.post_id == post_id)
            )
        ).scalar()
        return PostMediaGallery(
            items=[media_read(row, self.storage, self.settings) for row in rows], version=version or 1
        )

    async def storage_usage(self, team_id: UUID) -> StorageUsage:
        used, files = await self.repository.used_bytes(team_id)
        return StorageUsage(
            team_id=team_id, used_bytes=used, quota_bytes=self.settings.team_quota_bytes, files=files
        )

    # --- changes -------------------------------------------------------------------------------

    async def reorder_post_media(
        self, campaign_id: UUID, post_id: UUID, *, actor_id: UUID, media_ids: list[UUID], version: int
    ) -> PostMediaGallery:
        post_team = await self._post_for_change(campaign_id, post_id)
        order = (
            await self.session.execute(
                select(PostMediaOrder).where(PostMediaOrder.post_id == post_id).with_for_update()
            )
        ).scalar()
        current = order.version if order is not None else 1
        ensure_current_version(kind="post's media order", current=current, sent=version)
        rows = await self.repository.ready_of_post(post_id)
        before = [row.id for row in rows]
        if len(set(media_ids)) != len(media_ids) or set(media_ids) != set(before):
            raise invalid_field(
                "media_ids", "must list every ready media file of the post exactly once (see GetPostMedia)"
            )
        if order is None:
            order = PostMediaOrder(team_id=post_team, campaign_id=campaign_id, post_id=post_id)
            self.session.add(order)
        else:
            order.updated_at = datetime.now(tz=UTC)  # bumps the version
        for position, media_id in enumerate(media_ids):
            await self.session.execute(
                update(MediaFile).where(MediaFile.id == media_id).values(position=position)
            )
        if before != media_ids:
            emit_event(
                self.session,
                team_id=post_team,
                actor_id=actor_id,
                object_type=TargetType.POST.value,
                object_id=post_id,
                event_type=EventType.UPDATED,
                changes={
                    "media_order": {"old": [str(i) for i in before], "new": [str(i) for i in media_ids]}
                },
            )
        await self.session.flush()
        return await self.list_post_media(campaign_id, post_id)

    async def detach(self, media_id: UUID, *, actor_id: UUID, queue: Queue) -> None:
        file = await self.repository.locked(media_id)
        if file.message_id is not None:
            raise ConflictError("This file is on a thread message; delete the message to remove its files.")
        if file.kind == MediaKind.POST_MEDIA:
            await self._target_for_change(TargetType.POST, file.target_id)
        was_attached = file.status == MediaStatus.READY
        file.status = MediaStatus.DETACHED.value
        file.detached_at = datetime.now(tz=UTC)
        if was_attached:
            emit_event(
                self.session,
                team_id=file.team_id,
                actor_id=actor_id,
                object_type=file.target_type,
                object_id=file.target_id,
                event_type=EventType.UPDATED,
                changes=attachment_change(file, attached=False),
            )
            await self._bump_post_order(file)
        await self.session.flush()
        await enqueue(self.session, queue, "purge_detached_media", team_id=str(file.team_id))

    # --- thread message attachments ----------------------------------------------------------

    async def attachable(
        self, *, actor_id: UUID, object_type: str, object_id: UUID, media_ids: list[UUID]
    ) -> list[MediaFile]:
        """The caller's own ready uploads for this object's thread, locked, in the order given;
        422 or 409 naming the first that is not (checked before the message is written)."""
        if not media_ids:
            return []
        if len(set(media_ids)) != len(media_ids):
            raise invalid_field("attachments", "lists a file more than once")
        statement = select(MediaFile).where(MediaFile.id.in_(media_ids)).with_for_update()
        found = {file.id: file for file in (await self.session.execute(statement)).scalars()}
        for media_id in media_ids:
            _ensure_attachable(found.get(media_id), media_id, actor_id, object_type, object_id)
        return [found[media_id] for media_id in media_ids]

    async def attach_to_message(
        self, files: list[MediaFile], *, message_id: UUID, actor_id: UUID
    ) -> list[MediaRead]:
        """Put the files checked by `attachable` on the message, in order, with one event."""
        if not files:
            return []
        for position, file in enumerate(files):
            file.message_id = message_id
            file.position = position
        emit_event(
            self.session,
            team_id=files[0].team_id,
            actor_id=actor_id,
            object_type=MESSAGE_OBJECT_TYPE,
            object_id=message_id,
            event_type=EventType.UPDATED,
            changes={"media": {"old": None, "new": [_described(file) for file in files]}},
        )
        await self.session.flush()
        return [media_read(file, self.storage, self.settings) for file in files]

    async def attachments_of_messages(self, message_ids: list[UUID]) -> dict[UUID, list[MediaRead]]:
        """Ready files of these messages (one query for a whole page), with signed URLs."""
        if not message_ids:
            return {}
        statement = (
            self.repository.readable()
            .where(MediaFile.message_id.in_(message_ids), MediaFile.status == MediaStatus.READY.value)
            .order_by(MediaFile.message_id, MediaFile.position)
        )
        rows = msgspec.convert(
            list((await self.session.execute(statement)).mappings().all()), list[MediaRow], strict=False
        )
        attached: dict[UUID, list[MediaRead]] = {}
        for row in rows:
            assert row.message_id is not None
            attached.setdefault(row.message_id, []).append(media_read(row, self.storage, self.settings))
        return attached

    # --- targets -------------------------------------------------------------------------------

    async def _target_for_change(self, target: TargetType, target_id: UUID) -> UUID | None:
        """404 unless the caller may change `target_id`; returns the campaign of a post."""
        match target:
            case TargetType.POST:
                row = (
                    await self.session.execute(
                        select(Post.campaign_id, Campaign.status)
                        .join(Campaign, Campaign.id == Post.campaign_id)
                        .where(Post.id == target_id)
                        .with_for_update(read=True, of=Campaign)
                    )
                ).first()
                if row is None:
                    raise ResourceNotFoundError("Post not found.")
                ensure_campaign_accepts(row[1], action="change", items="posts")
                return row[0]
            case TargetType.BRAND:
                if (
                    await self.session.execute(select(Brand.id).where(Brand.id == target_id))
                ).first() is None:
                    raise ResourceNotFoundError("Brand not found.")
                return None
            case TargetType.CREATOR:
                found = (
                    await self.session.execute(select(Creator.id).where(Creator.id == target_id))
                ).first()
                if found is None:
                    raise ResourceNotFoundError("Creator not found.")
                return None
            case TargetType.CAMPAIGN | TargetType.TODO:
                raise AssertionError(f"{target} takes message attachments only")  # _target_type_of

    async def _thread_object(
        self, target: TargetType, object_id: UUID, *, role: TeamRole | None
    ) -> UUID | None:
        """404 unless the caller can see the object (so may post in its thread, as `app.threads`
        decides it); returns its campaign. Guests never see team-level objects' threads."""
        model = TARGET_MODELS[target]
        key: str | None = model.__thread_campaign_key__
        missing = ResourceNotFoundError(f"No {target.value} with this id in this team.")
        if key is None and role is TeamRole.GUEST:
            raise missing
        column = getattr(model, key) if key is not None else literal(None)
        row = (await self.session.execute(select(column).where(model.id == object_id))).first()
        if row is None:
            raise missing
        return row[0]

    async def _visible_post(self, campaign_id: UUID, post_id: UUID) -> UUID:
        team_id = (
            await self.session.execute(
                select(Post.team_id).where(Post.id == post_id, Post.campaign_id == campaign_id)
            )
        ).scalar()
        if team_id is None:
            raise ResourceNotFoundError("Post not found.")
        return team_id

    async def _post_for_change(self, campaign_id: UUID, post_id: UUID) -> UUID:
        team_id = await self._visible_post(campaign_id, post_id)
        await self._target_for_change(TargetType.POST, post_id)
        return team_id

    async def _bump_post_order(self, file: MediaFile) -> None:
        if file.kind != MediaKind.POST_MEDIA:
            return
        await self.session.execute(
            update(PostMediaOrder)
            .where(PostMediaOrder.post_id == file.target_id)
            .values(version=PostMediaOrder.version + 1, updated_at=datetime.now(tz=UTC))
        )

    async def _ensure_quota(self, team_id: UUID, size: int) -> None:
        # One upload intent per team at a time passes this check, so two cannot both fit the last bytes.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('media-quota:' || :team))"), {"team": str(team_id)}
        )
        used, _ = await self.repository.used_bytes(team_id)
        quota = self.settings.team_quota_bytes
        if used + size > quota:
            raise TooLargeError(
                f"The team's storage quota is {quota} bytes and {used} are in use; this file "
                f"({size} bytes) does not fit. Delete media the team no longer needs.",
                extra={"quota_bytes": quota, "used_bytes": used},
            )
