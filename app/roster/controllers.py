"""Creator routes under `/api/teams/{team_id}/creators` (members; admins delete)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import Page, SortOrder, page_dependencies
from app.lib.roles import TeamRole, requires_role
from app.queue.deps import queue_dependencies
from app.roster.schemas import CreatorCreate, CreatorList, CreatorRead, CreatorSort, CreatorUpdate, Platform
from app.roster.services import CreatorFilters, CreatorService


def provide_creators(db_session: NamedDependency[AsyncSession]) -> CreatorService:
    return CreatorService(session=db_session)


class CreatorController(Controller):
    path = "/api/teams/{team_id:uuid}/creators"
    tags = ["Roster"]
    dependencies = {
        "creators": Provide(provide_creators, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @get("", operation_id="ListCreators", responses=TEAM_ROUTE_ERRORS)
    async def list_creators(
        self,
        team_access: NamedDependency[TeamAccess],
        creators: NamedDependency[CreatorService],
        page: NamedDependency[Page],
        sort: Annotated[CreatorSort, Parameter(description="Sort key.")] = CreatorSort.NAME,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Case-insensitive search in the name.")
        ] = None,
        tag: Annotated[
            str | None, Parameter(max_length=50, description="Only creators with this tag.")
        ] = None,
        platform: Annotated[
            Platform | None, Parameter(description="Only creators with a handle on this platform.")
        ] = None,
        include_archived: Annotated[bool, Parameter(description="Also list archived creators.")] = False,
    ) -> CreatorList:
        """The team's roster, paginated; archived creators are left out unless asked for."""
        filters = CreatorFilters(search=q, tag=tag, platform=platform, include_archived=include_archived)
        return await creators.list_creators(
            team_id=team_access.team_id, page=page, sort=sort, order=order, filters=filters
        )

    @post("", operation_id="CreateCreator", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_creator(
        self,
        data: JSONBody[CreatorCreate],
        team_access: NamedDependency[TeamAccess],
        creators: NamedDependency[CreatorService],
    ) -> CreatorRead:
        """Add a creator to the roster, with their handle and follower count per platform."""
        return await creators.create_creator(
            team_id=team_access.team_id, actor_id=team_access.user_id, data=data
        )

    @get("/{creator_id:uuid}", operation_id="GetCreator", responses=TEAM_ROUTE_ERRORS)
    async def get_creator(
        self,
        creator_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        creators: NamedDependency[CreatorService],
    ) -> CreatorRead:
        """One creator of the roster (archived ones included)."""
        return await creators.read(creator_id)

    @put("/{creator_id:uuid}", operation_id="UpdateCreator", responses=TEAM_ROUTE_ERRORS)
    async def update_creator(
        self,
        creator_id: FromPath[UUID],
        data: JSONBody[CreatorUpdate],
        team_access: NamedDependency[TeamAccess],
        creators: NamedDependency[CreatorService],
    ) -> CreatorRead:
        """Replace every field of a creator (`archived: true` archives); send the `version` you read."""
        return await creators.update_creator(creator_id, actor_id=team_access.user_id, data=data)

    @delete(
        "/{creator_id:uuid}",
        operation_id="DeleteCreator",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def delete_creator(
        self,
        creator_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        creators: NamedDependency[CreatorService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Delete a creator (admins). A creator on any campaign cannot be deleted (409): archive them.
        Their avatar and media kit go too."""
        await creators.delete_creator(creator_id, actor_id=team_access.user_id, job_queue=job_queue)
