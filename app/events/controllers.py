"""Event feed routes under `/api/teams/{team_id}/events` (members and up; read-only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.feed import decode_cursor
from app.events.schemas import EventList, EventSort, EventType
from app.events.services import EventFilters, EventService
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import Page, SortOrder, page_dependencies

AFTER = Parameter(
    max_length=200,
    description="A `next_cursor` from the previous page: continue after its last event (keyset).",
)


def provide_events(db_session: NamedDependency[AsyncSession]) -> EventService:
    return EventService(session=db_session)


class EventController(Controller):
    path = "/api/teams/{team_id:uuid}/events"
    tags = ["Events"]
    dependencies = {
        "events": Provide(provide_events, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get("", operation_id="ListTeamEvents", responses=TEAM_ROUTE_ERRORS)
    async def list_team_events(
        self,
        team_access: NamedDependency[TeamAccess],
        events: NamedDependency[EventService],
        page: NamedDependency[Page],
        sort: Annotated[EventSort, Parameter(description="Sort key.")] = EventSort.CREATED_AT,
        order: Annotated[SortOrder, Parameter(description="Sort direction (newest first by default).")] = (
            SortOrder.DESC
        ),
        event_type: Annotated[EventType | None, Parameter(description="Only this kind of event.")] = None,
        actor_id: Annotated[UUID | None, Parameter(description="Only changes made by this user.")] = None,
        object_type: Annotated[
            str | None, Parameter(max_length=50, description="Only this kind of object.")
        ] = (None),
        after: Annotated[str | None, AFTER] = None,
    ) -> EventList:
        """The team's activity feed: every create, update, delete and status change, newest first.

        Page on with `after=<next_cursor>`: the cost of a page stays flat however long the feed is.
        """
        filters = EventFilters(
            event_type=event_type,
            actor_id=actor_id,
            object_type=object_type,
            after=decode_cursor(after) if after else None,
        )
        return await events.list_events(
            team_id=team_access.team_id, page=page, sort=sort, order=order, filters=filters
        )

    @get("/{object_type:str}/{object_id:uuid}", operation_id="ListObjectEvents", responses=TEAM_ROUTE_ERRORS)
    async def list_object_events(
        self,
        object_type: FromPath[str],
        object_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        events: NamedDependency[EventService],
        page: NamedDependency[Page],
        sort: Annotated[EventSort, Parameter(description="Sort key.")] = EventSort.CREATED_AT,
        order: Annotated[SortOrder, Parameter(description="Sort direction (newest first by default).")] = (
            SortOrder.DESC
        ),
        event_type: Annotated[EventType | None, Parameter(description="Only this kind of event.")] = None,
        actor_id: Annotated[UUID | None, Parameter(description="Only changes made by this user.")] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> EventList:
        """The history of one object (e.g. `campaign`, `post`), newest first; it outlives the object."""
        filters = EventFilters(
            event_type=event_type,
            actor_id=actor_id,
            object_type=object_type,
            object_id=object_id,
            after=decode_cursor(after) if after else None,
        )
        return await events.list_events(
            team_id=team_access.team_id, page=page, sort=sort, order=order, filters=filters
        )
