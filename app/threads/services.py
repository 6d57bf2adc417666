"""Thread messages: list by cursor, post with validated mentions, edit by version, tombstone.

Every route first resolves the object through the caller's row-level context
(`visible_object`), so an object the caller cannot see is a 404 whether or not it exists.
Writes happen in the request's transaction; the live frame and the notifications they cause
are written with them (`pg_notify` is delivered on commit, never on rollback).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignGuestAccess
from app.lib.deps import TeamAccess
from app.lib.errors import (
    ConflictError,
    PermissionDeniedError,
    ResourceNotFoundError,
    UnprocessableError,
    invalid_field,
)
from app.lib.pagination import SortOrder
from app.lib.roles import TeamRole
from app.lib.versioning import ensure_current_version
from app.media.hooks import detach_message_media
from app.media.models import MediaFile
from app.media.services import MediaService
from app.notifications.schemas import NotificationKind
from app.notifications.writer import actor_name, notify
from app.teams.models import TeamMember
from app.threads.models import Thread, ThreadMessage, ThreadReadMarker
from app.threads.objects import ThreadObject, visible_object
from app.threads.schemas import (
    MAX_BODY,
    MessageKind,
    ThreadMessageCreate,
    ThreadMessageList,
    ThreadMessageRead,
    ThreadMessageUpdate,
    ThreadParticipant,
    ThreadRead,
    ThreadReadMark,
)
from app.threads.store import (
    add_message,
    ensure_thread,
    message_statement,
    publish_message,
    read_message,
    thread_id_of,
)
from app.users.models import User

SNIPPET = 120


def _body(raw: str, *, may_be_empty: bool = False) -> str:
    body = raw.strip()
    if not body and not may_be_empty:
        raise invalid_field("body", "must not be empty (a message needs a body or attachments)")
    if len(body) > MAX_BODY:
        raise invalid_field("body", f"must be at most {MAX_BODY} characters after trimming (got {len(body)})")
    return body


def _snippet(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


class ThreadService(SQLAlchemyAsyncRepositoryService[ThreadMessage]):
    class Repo(SQLAlchemyAsyncRepository[ThreadMessage]):
        model_type = ThreadMessage

        async def page(
            self, thread_id: UUID, *, before: UUID | None, after: UUID | None, limit: int, order: SortOrder
        ) -> tuple[list[ThreadMessageRead], bool]:
            """Keyset page on the (time-ordered UUIDv7) id: one query, `limit + 1` rows to know
            whether more follow; stable while others post, unlike an offset."""
            statement = message_statement().where(ThreadMessage.thread_id == thread_id)
            if before is not None:
                statement = statement.where(ThreadMessage.id < before)
            if after is not None:
                statement = statement.where(ThreadMessage.id > after)
            column = ThreadMessage.id.desc() if order is SortOrder.DESC else ThreadMessage.id.asc()
            rows = (await self.session.execute(statement.order_by(column).limit(limit + 1))).mappings().all()
            items = msgspec.convert(list(rows[:limit]), list[ThreadMessageRead], strict=False)
            return items, len(rows) > limit

        async def get_in_thread(self, thread_id: UUID, message_id: UUID) -> ThreadMessage:
            statement = select(ThreadMessage).where(
                ThreadMessage.id == message_id, ThreadMessage.thread_id == thread_id
            )
            message = (await self.session.execute(statement)).scalar_one_or_none()
            if message is None:
                raise ResourceNotFoundError("Message not found in this thread.")
            return message

        async def members_who_see(self, target: ThreadObject, user_ids: Sequence[UUID]) -> set[UUID]:
            """Of `user_ids`, the team's members who can see the object (guests only with a grant
            to its campaign)."""
            rows = await self.session.execute(
                select(TeamMember.user_id, TeamMember.role).where(
                    TeamMember.team_id == target.team_id, TeamMember.user_id.in_(user_ids)
                )
            )
            members: dict[UUID, str] = {row[0]: row[1] for row in rows.all()}
            guests = [user_id for user_id, role in members.items() if role == TeamRole.GUEST]
            granted: set[UUID] = set()
            if guests and target.campaign_id is not None:
                granted = set(
                    (
                        await self.session.execute(
                            select(CampaignGuestAccess.user_id).where(
                                CampaignGuestAccess.campaign_id == target.campaign_id,
                                CampaignGuestAccess.user_id.in_(guests),
                            )
                        )
                    ).scalars()
                )
            return {
                user_id for user_id, role in members.items() if role != TeamRole.GUEST or user_id in granted
            }

    repository_type = Repo

    def __init__(self, *, session: AsyncSession, media: MediaService | None = None) -> None:
        """`media` stores and signs message attachments (the routes always pass it; without it,
        messages are read without their files and cannot take any)."""
        super().__init__(session=session)
        self.media = media

    @property
    def session(self) -> Any:
        return self.repository.session

    async def _with_attachments(self, messages: list[ThreadMessageRead]) -> list[ThreadMessageRead]:
        """The messages with their files: one query for the whole page, whatever its size."""
        if self.media is None or not messages:
            return messages
        attached = await self.media.attachments_of_messages([message.id for message in messages])
        return [
            msgspec.structs.replace(message, attachments=attached[message.id])
            if message.id in attached
            else message
            for message in messages
        ]

    async def list_messages(
        self,
        access: TeamAccess,
        object_type: str,
        object_id: UUID,
        *,
        before: UUID | None,
        after: UUID | None,
        limit: int,
        order: SortOrder,
    ) -> ThreadMessageList:
        await visible_object(self.session, access, object_type, object_id)
        thread_id = await self.session.run_sync(
            lambda s: thread_id_of(s.connection(), object_type, object_id)
        )
        if thread_id is None:
            return ThreadMessageList(items=[], limit=limit, has_more=False)
        items, has_more = await self.repository.page(
            thread_id, before=before, after=after, limit=limit, order=order
        )
        return ThreadMessageList(items=await self._with_attachments(items), limit=limit, has_more=has_more)

    async def post_message(
        self, access: TeamAccess, object_type: str, object_id: UUID, data: ThreadMessageCreate
    ) -> ThreadMessageRead:
        target = await visible_object(self.session, access, object_type, object_id)
        body = _body(data.body, may_be_empty=bool(data.attachments))
        mentions = await self._valid_mentions(target, data.mentions)
        files = await self._attachable(access, object_type, object_id, data.attachments)

        def insert_message(session: Session) -> tuple[UUID, UUID]:
            connection = session.connection()
            thread_id = ensure_thread(
                connection,
                team_id=target.team_id,
                campaign_id=target.campaign_id,
                object_type=object_type,
                object_id=object_id,
            )
            message_id = add_message(
                connection,
                thread_id=thread_id,
                team_id=target.team_id,
                campaign_id=target.campaign_id,
                kind=MessageKind.USER.value,
                author_id=access.user_id,
                body=body,
                mentions=mentions,
            )
            return thread_id, message_id

        thread_id, message_id = await self.session.run_sync(insert_message)
        attachments = (
            await self.media.attach_to_message(files, message_id=message_id, actor_id=access.user_id)
            if self.media is not None
            else []
        )

        def announce(session: Session) -> ThreadMessageRead:
            connection = session.connection()
            message = msgspec.structs.replace(read_message(connection, message_id), attachments=attachments)
            publish_message(
                connection,
                team_id=target.team_id,
                object_type=object_type,
                object_id=object_id,
                message=message,
                action="created",
            )
            _notify_mentions(
                connection, target, message, mentions, thread_id=thread_id, actor_id=access.user_id
            )
            _notify_replies(
                connection, target, message, thread_id=thread_id, actor_id=access.user_id, skip=set(mentions)
            )
            return message

        return await self.session.run_sync(announce)

    async def update_message(
        self,
        access: TeamAccess,
        object_type: str,
        object_id: UUID,
        message_id: UUID,
        data: ThreadMessageUpdate,
    ) -> ThreadMessageRead:
        target = await visible_object(self.session, access, object_type, object_id)
        message = await self._message(object_type, object_id, message_id)
        if message.author_id != access.user_id or message.kind != MessageKind.USER:
            raise PermissionDeniedError("Only the author can edit a message.")
        if message.deleted_at is not None:
            raise ConflictError("This message was deleted; it cannot be edited.")
        ensure_current_version(kind="message", current=message.version, sent=data.version)
        body = _body(data.body)
        mentions = await self._valid_mentions(target, data.mentions)
        added = [user_id for user_id in mentions if user_id not in set(message.mentions)]
        message.body = body
        message.mentions = mentions
        message.edited_at = datetime.now(tz=UTC)
        await self.session.flush()

        edited = await self.session.run_sync(lambda s: read_message(s.connection(), message_id))
        [read] = await self._with_attachments([edited])

        def write(session: Session) -> ThreadMessageRead:
            connection = session.connection()
            publish_message(
                connection,
                team_id=target.team_id,
                object_type=object_type,
                object_id=object_id,
                message=read,
                action="updated",
            )
            _notify_mentions(
                connection, target, read, added, thread_id=message.thread_id, actor_id=access.user_id
            )
            return read

        return await self.session.run_sync(write)

    async def delete_message(
        self,
        access: TeamAccess,
        object_type: str,
        object_id: UUID,
        message_id: UUID,
        *,
        queue: Queue | None = None,
    ) -> None:
        """Leaves a tombstone: the body, mentions and files go, the row (and its place) stays.
        The files are detached now and their bytes deleted after commit (`queue`; without one
        the media sweep deletes them)."""
        target = await visible_object(self.session, access, object_type, object_id)
        message = await self._message(object_type, object_id, message_id)
        if message.kind != MessageKind.USER:
            raise PermissionDeniedError("System messages are the object's history; they cannot be deleted.")
        if message.author_id != access.user_id and not access.at_least(TeamRole.ADMIN):
            raise PermissionDeniedError("Only the author or a team admin can delete a message.")
        if message.deleted_at is not None:
            return
        message.body = ""
        message.mentions = []
        message.deleted_at = datetime.now(tz=UTC)
        await self.session.flush()
        await detach_message_media(
            self.session, queue, team_id=target.team_id, message_id=message_id, actor_id=access.user_id
        )

        def write(session: Session) -> None:
            connection = session.connection()
            read = read_message(connection, message_id)
            publish_message(
                connection,
                team_id=target.team_id,
                object_type=object_type,
                object_id=object_id,
                message=read,
                action="deleted",
            )

        await self.session.run_sync(write)

    async def get_thread(self, access: TeamAccess, object_type: str, object_id: UUID) -> ThreadRead:
        await visible_object(self.session, access, object_type, object_id)
        return await self._thread_read(access, object_type, object_id)

    async def mark_read(
        self, access: TeamAccess, object_type: str, object_id: UUID, data: ThreadReadMark
    ) -> ThreadRead:
        target = await visible_object(self.session, access, object_type, object_id)
        thread_id = await self.session.run_sync(
            lambda s: thread_id_of(s.connection(), object_type, object_id)
        )
        if thread_id is None:
            if data.message_id is not None:
                raise UnprocessableError(
                    "message_id: this thread has no messages yet",
                    extra={
                        "errors": [
                            {
                                "key": "message_id",
                                "message": "no such message in this thread",
                                "source": "body",
                            }
                        ]
                    },
                )
            return await self._thread_read(access, object_type, object_id)
        if data.message_id is not None:
            exists = await self.session.execute(
                select(ThreadMessage.id).where(
                    ThreadMessage.id == data.message_id, ThreadMessage.thread_id == thread_id
                )
            )
            if exists.first() is None:
                raise UnprocessableError(
                    "message_id: no such message in this thread",
                    extra={
                        "errors": [
                            {
                                "key": "message_id",
                                "message": "no such message in this thread",
                                "source": "body",
                            }
                        ]
                    },
                )
            up_to = data.message_id
        else:
            up_to = (
                await self.session.execute(
                    select(ThreadMessage.id)
                    .where(ThreadMessage.thread_id == thread_id)
                    .order_by(ThreadMessage.id.desc())
                    .limit(1)
                )
            ).scalar()
        now = datetime.now(tz=UTC)
        statement = insert(ThreadReadMarker).values(
            team_id=target.team_id,
            campaign_id=target.campaign_id,
            thread_id=thread_id,
            user_id=access.user_id,
            last_read_message_id=up_to,
            created_at=now,
            updated_at=now,
        )
        # A marker only moves forward (an older message id never un-reads newer ones).
        statement = statement.on_conflict_do_update(
            index_elements=["thread_id", "user_id"],
            set_={
                "last_read_message_id": func.greatest(
                    ThreadReadMarker.last_read_message_id, statement.excluded.last_read_message_id
                ),
                "updated_at": now,
            },
        )
        await self.session.execute(statement)
        return await self._thread_read(access, object_type, object_id)

    # --- helpers ---------------------------------------------------------------------------

    async def _attachable(
        self, access: TeamAccess, object_type: str, object_id: UUID, media_ids: list[UUID]
    ) -> list[MediaFile]:
        if not media_ids:
            return []
        if self.media is None:
            raise invalid_field("attachments", "cannot be taken here (no media storage)")
        return await self.media.attachable(
            actor_id=access.user_id, object_type=object_type, object_id=object_id, media_ids=media_ids
        )

    async def _message(self, object_type: str, object_id: UUID, message_id: UUID) -> ThreadMessage:
        thread_id = await self.session.run_sync(
            lambda s: thread_id_of(s.connection(), object_type, object_id)
        )
        if thread_id is None:
            raise ResourceNotFoundError("Message not found in this thread.")
        return await self.repository.get_in_thread(thread_id, message_id)

    async def _valid_mentions(self, target: ThreadObject, mentions: Sequence[UUID]) -> list[UUID]:
        wanted = list(dict.fromkeys(mentions))
        if not wanted:
            return []
        allowed = await self.repository.members_who_see(target, wanted)
        refused = [user_id for user_id in wanted if user_id not in allowed]
        if refused:
            names = ", ".join(str(user_id) for user_id in refused)
            raise UnprocessableError(
                f"mentions: not members who can see this {target.object_type}: {names}",
                extra={
                    "errors": [
                        {
                            "key": "mentions",
                            "message": f"{user_id} is not a member who can see this {target.object_type}",
                            "source": "body",
                        }
                        for user_id in refused
                    ],
                    "refused_mentions": [str(user_id) for user_id in refused],
                },
            )
        return wanted

    async def _thread_read(self, access: TeamAccess, object_type: str, object_id: UUID) -> ThreadRead:
        statement = select(
            Thread.id.label("thread_id"),
            select(func.count())
            .where(ThreadMessage.thread_id == Thread.id)
            .scalar_subquery()
            .label("message_count"),
            select(ThreadReadMarker.last_read_message_id)
            .where(ThreadReadMarker.thread_id == Thread.id, ThreadReadMarker.user_id == access.user_id)
            .scalar_subquery()
            .label("last_read_message_id"),
        ).where(Thread.object_type == object_type, Thread.object_id == object_id)
        row = (await self.session.execute(statement)).first()
        if row is None:
            return ThreadRead(
                object_type=object_type,
                object_id=object_id,
                thread_id=None,
                message_count=0,
                participants=[],
                unread_count=0,
                last_read_message_id=None,
            )
        thread_id, message_count, last_read = row
        unread_conditions = [
            ThreadMessage.thread_id == thread_id,
            ThreadMessage.deleted_at.is_(None),
            or_(ThreadMessage.author_id.is_(None), ThreadMessage.author_id != access.user_id),
        ]
        if last_read is not None:
            unread_conditions.append(ThreadMessage.id > last_read)
        unread = (await self.session.execute(select(func.count()).where(*unread_conditions))).scalar_one()
        authors = (
            select(ThreadMessage.author_id)
            .where(ThreadMessage.thread_id == thread_id, ThreadMessage.kind == MessageKind.USER.value)
            .distinct()
            .subquery()
        )
        participants = (
            await self.session.execute(
                select(User.id, User.name).join(authors, authors.c.author_id == User.id).order_by(User.name)
            )
        ).all()
        return ThreadRead(
            object_type=object_type,
            object_id=object_id,
            thread_id=thread_id,
            message_count=message_count,
            participants=[ThreadParticipant(user_id=user_id, name=name) for user_id, name in participants],
            unread_count=unread,
            last_read_message_id=last_read,
        )


def _notify_mentions(
    connection: Connection,
    target: ThreadObject,
    message: ThreadMessageRead,
    mentioned: Sequence[UUID],
    *,
    thread_id: UUID,
    actor_id: UUID,
) -> None:
    if not mentioned:
        return
    notify(
        connection,
        mentioned,
        kind=NotificationKind.MENTION,
        team_id=target.team_id,
        object_type=target.object_type,
        object_id=target.object_id,
        campaign_id=target.campaign_id,
        actor_id=actor_id,
        cause_id=message.id,
        text=f"{actor_name(connection, actor_id)} mentioned you on a {target.object_type}: {_snippet(message.body)}",
        thread_id=thread_id,
    )


def _notify_replies(
    connection: Connection,
    target: ThreadObject,
    message: ThreadMessageRead,
    *,
    thread_id: UUID,
    actor_id: UUID,
    skip: set[UUID],
) -> None:
    """Everyone who posted in the thread before hears of a new message (once per message: a
    mentioned participant gets the mention, not also a reply)."""
    earlier = connection.execute(
        select(ThreadMessage.author_id)
        .where(
            ThreadMessage.thread_id == thread_id,
            ThreadMessage.kind == MessageKind.USER.value,
            ThreadMessage.id != message.id,
            ThreadMessage.author_id.is_not(None),
        )
        .distinct()
    ).scalars()
    recipients = [user_id for user_id in earlier if user_id not in skip]
    if not recipients:
        return
    notify(
        connection,
        recipients,
        kind=NotificationKind.REPLY,
        team_id=target.team_id,
        object_type=target.object_type,
        object_id=target.object_id,
        campaign_id=target.campaign_id,
        actor_id=actor_id,
        cause_id=message.id,
        text=f"{actor_name(connection, actor_id)} replied on a {target.object_type}: {_snippet(message.body)}",
        thread_id=thread_id,
    )


__all__ = ["ThreadService"]
