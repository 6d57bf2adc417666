"""Post routes under `/api/teams/{team_id}/campaigns/{campaign_id}/posts`.

Guests read the posts of their campaigns; members create and edit; admins delete.
"""

from __future__ import annotations

from datetime import datetime
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
from app.posts.schemas import PostCreate, PostList, PostRead, PostSort, PostStatus, PostUpdate
from app.posts.services import PostFilters, PostService
from app.queue.deps import queue_dependencies
from app.roster.schemas import Platform


def provide_posts(db_session: NamedDependency[AsyncSession]) -> PostService:
    return PostService(session=db_session)


class PostController(Controller):
    path = "/api/teams/{team_id:uuid}/campaigns/{campaign_id:uuid}/posts"
    tags = ["Posts"]
    dependencies = {
        "posts": Provide(provide_posts, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @get("", operation_id="ListPosts", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.GUEST))
    async def list_posts(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        posts: NamedDependency[PostService],
        page: NamedDependency[Page],
        sort: Annotated[PostSort, Parameter(description="Sort key.")] = PostSort.CREATED_AT,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Case-insensitive search in the caption.")
        ] = None,
        status: Annotated[PostStatus | None, Parameter(description="Only this status.")] = None,
        creator_id: Annotated[UUID | None, Parameter(description="Only this creator's posts.")] = None,
        platform: Annotated[Platform | None, Parameter(description="Only this platform.")] = None,
        scheduled_after: Annotated[datetime | None, Parameter(description="Scheduled at or after.")] = None,
        scheduled_before: Annotated[datetime | None, Parameter(description="Scheduled at or before.")] = None,
    ) -> PostList:
        """The campaign's posts, filtered, sorted and paginated."""
        filters = PostFilters(
            search=q,
            status=status,
            creator_id=creator_id,
            platform=platform,
            scheduled_after=scheduled_after,
            scheduled_before=scheduled_before,
        )
        return await posts.list_posts(
            campaign_id=campaign_id, page=page, sort=sort, order=order, filters=filters
        )

    @post("", operation_id="CreatePost", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_post(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[PostCreate],
        team_access: NamedDependency[TeamAccess],
        posts: NamedDependency[PostService],
    ) -> PostRead:
        """Plan a post for a creator booked on the campaign (422 otherwise); it starts as a draft."""
        return await posts.create_post(campaign_id, actor_id=team_access.user_id, data=data)

    @get(
        "/{post_id:uuid}",
        operation_id="GetPost",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_post(
        self,
        campaign_id: FromPath[UUID],
        post_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        posts: NamedDependency[PostService],
    ) -> PostRead:
        """One post of the campaign."""
        return await posts.read(campaign_id, post_id)

    @put("/{post_id:uuid}", operation_id="UpdatePost", responses=TEAM_ROUTE_ERRORS)
    async def update_post(
        self,
        campaign_id: FromPath[UUID],
        post_id: FromPath[UUID],
        data: JSONBody[PostUpdate],
        team_access: NamedDependency[TeamAccess],
        posts: NamedDependency[PostService],
    ) -> PostRead:
        """Replace every field; send the `version` you read. Status moves: draft -> submitted;
        submitted -> approved/changes_requested/draft; changes_requested -> submitted/draft;
        approved -> scheduled/published/changes_requested; scheduled -> published/approved;
        published is final (409 for any other move, naming the allowed ones)."""
        return await posts.update_post(campaign_id, post_id, actor_id=team_access.user_id, data=data)

    @delete(
        "/{post_id:uuid}",
        operation_id="DeletePost",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def delete_post(
        self,
        campaign_id: FromPath[UUID],
        post_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        posts: NamedDependency[PostService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Delete a post (admins); its to-dos stay, no longer linked to it; its media files go too."""
        await posts.delete_post(campaign_id, post_id, actor_id=team_access.user_id, job_queue=job_queue)
