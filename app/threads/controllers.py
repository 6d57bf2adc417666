"""Thread routes under `/api/teams/{team_id}/threads/{object_type}/{object_id}`.

Members, and guests inside the campaigns granted to them, read and post. Authors edit their own
messages; authors and admins delete them (a tombstone stays).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import MAX_PAGE_SIZE, SortOrder
from app.lib.roles import TeamRole, requires_role
from app.media.services import MediaService
from app.queue.deps import queue_dependencies
from app.threads.schemas import (
    ThreadMessageCreate,
    ThreadMessageList,
    ThreadMessageRead,
    ThreadMessageUpdate,
    ThreadRead,
    ThreadReadMark,
)
from app.threads.services import ThreadService

GUESTS_TOO = requires_role(TeamRole.GUEST)
ObjectType = Annotated[
    str, Parameter(max_length=50, description="`campaign`, `post`, `todo`, `creator` or `brand`.")
]


def provide_threads(db_session: NamedDependency[AsyncSession], state: State) -> ThreadService:
    """Threads with media's service, which checks, attaches and signs message attachments."""
    settings: Settings = state.settings
    media = MediaService(session=db_session, storage=state.media_storage, settings=settings.media)
    return ThreadService(session=db_session, media=media)


class ThreadController(Controller):
    path = "/api/teams/{team_id:uuid}/threads/{object_type:str}/{object_id:uuid}"
    tags = ["Threads"]
    dependencies = {
        "threads": Provide(provide_threads, sync_to_thread=False),
        **team_dependencies,
        **queue_dependencies,
    }

    @get("", operation_id="GetThread", responses=TEAM_ROUTE_ERRORS, opt=GUESTS_TOO)
    async def get_thread(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
    ) -> ThreadRead:
        """The object's thread: message count, participants, your unread count and last-read marker."""
        return await threads.get_thread(team_access, object_type, object_id)

    @post(
        "/read",
        operation_id="MarkThreadRead",
        responses=TEAM_ROUTE_ERRORS,
        opt=GUESTS_TOO,
        status_code=HTTP_200_OK,
    )
    async def mark_thread_read(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
        data: JSONBody[ThreadReadMark],
    ) -> ThreadRead:
        """Move your last-read marker to a message (or the newest); it never moves backwards."""
        return await threads.mark_read(team_access, object_type, object_id, data)

    @get("/messages", operation_id="ListThreadMessages", responses=TEAM_ROUTE_ERRORS, opt=GUESTS_TOO)
    async def list_thread_messages(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
        before: Annotated[
            UUID | None, Parameter(description="Only messages older than this message id.")
        ] = None,
        after: Annotated[
            UUID | None, Parameter(description="Only messages newer than this message id.")
        ] = None,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Messages per page (1-100).")
        ] = 50,
        order: Annotated[
            SortOrder, Parameter(description="`desc`: newest first (default).")
        ] = SortOrder.DESC,
    ) -> ThreadMessageList:
        """The thread's messages and system messages, newest first; page with `before`/`after` an id."""
        return await threads.list_messages(
            team_access, object_type, object_id, before=before, after=after, limit=limit, order=order
        )

    @post(
        "/messages",
        operation_id="PostThreadMessage",
        responses=TEAM_ROUTE_ERRORS,
        opt=GUESTS_TOO,
        status_code=HTTP_201_CREATED,
    )
    async def post_thread_message(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
        data: JSONBody[ThreadMessageCreate],
    ) -> ThreadMessageRead:
        """Post a message (the thread is created on first use); mentioned members are notified.
        `attachments` are your ready `message_attachment` uploads for this object (422/409 when
        one is not); they come back with short-lived signed download URLs."""
        return await threads.post_message(team_access, object_type, object_id, data)

    @put(
        "/messages/{message_id:uuid}",
        operation_id="UpdateThreadMessage",
        responses=TEAM_ROUTE_ERRORS,
        opt=GUESTS_TOO,
    )
    async def update_thread_message(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        message_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
        data: JSONBody[ThreadMessageUpdate],
    ) -> ThreadMessageRead:
        """Edit your own message: the whole body and mentions, with the version you read (409 if stale)."""
        return await threads.update_message(team_access, object_type, object_id, message_id, data)

    @delete(
        "/messages/{message_id:uuid}",
        operation_id="DeleteThreadMessage",
        responses=TEAM_ROUTE_ERRORS,
        opt=GUESTS_TOO,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_thread_message(
        self,
        object_type: FromPath[ObjectType],
        object_id: FromPath[UUID],
        message_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        threads: NamedDependency[ThreadService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Delete a message (author or admin): it stays as a tombstone, body emptied; its files
        are detached and deleted from storage after commit."""
        await threads.delete_message(team_access, object_type, object_id, message_id, queue=job_queue)
