"""Posts: a creator's content for a campaign, moved through review to publication.

`POST_TRANSITIONS` is the review workflow; the service refuses any other move (409 naming the
allowed ones). A post's creator must be booked on its campaign (422 otherwise). A completed
campaign takes no new posts and an archived one's are read-only (409, `ensure_campaign_accepts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute

from app.campaigns.models import CampaignCreator
from app.campaigns.services import (
    CampaignAction,
    campaign_item,
    ensure_campaign_accepts,
    visible_campaign,
)
from app.db.paging import fetch_one, fetch_page
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import ResourceNotFoundError, invalid_field, unknown_reference
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, ordered
from app.lib.transitions import ensure_transition
from app.lib.versioning import ensure_current_version
from app.media.hooks import detach_media_of
from app.posts.models import Post
from app.posts.schemas import PostCreate, PostList, PostRead, PostSort, PostStatus, PostUpdate
from app.roster.models import Creator
from app.roster.schemas import Platform

POST_TRANSITIONS: Mapping[PostStatus, frozenset[PostStatus]] = {
    PostStatus.DRAFT: frozenset({PostStatus.SUBMITTED}),
    PostStatus.SUBMITTED: frozenset({PostStatus.APPROVED, PostStatus.CHANGES_REQUESTED, PostStatus.DRAFT}),
    PostStatus.CHANGES_REQUESTED: frozenset({PostStatus.SUBMITTED, PostStatus.DRAFT}),
    PostStatus.APPROVED: frozenset(
        {PostStatus.SCHEDULED, PostStatus.PUBLISHED, PostStatus.CHANGES_REQUESTED}
    ),
    PostStatus.SCHEDULED: frozenset({PostStatus.PUBLISHED, PostStatus.APPROVED}),
    PostStatus.PUBLISHED: frozenset(),
}
"""Review before anything goes out: only an approved (or scheduled) post is published, and a
published post stays published (its metrics keep updating)."""

OBJECT_TYPE = "post"
ITEMS = "posts"
TRACKED_FIELDS = (
    "creator_id",
    "platform",
    "caption",
    "status",
    "scheduled_at",
    "published_at",
    "published_url",
)
"""Metrics change often and are not copied into the trail (the update itself is still recorded)."""

_READ_COLUMNS = (
    Post.id,
    Post.team_id,
    Post.campaign_id,
    Post.creator_id,
    Creator.name.label("creator_name"),
    Post.platform,
    Post.caption,
    Post.status,
    Post.scheduled_at,
    Post.published_at,
    Post.published_url,
    Post.views,
    Post.likes,
    Post.comments,
    Post.shares,
    Post.version,
    Post.created_at,
    Post.updated_at,
)


class PostFilters(msgspec.Struct, frozen=True, kw_only=True):
    search: str | None = None
    status: PostStatus | None = None
    creator_id: UUID | None = None
    platform: Platform | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None


def _sort_column(sort: PostSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case PostSort.CREATED_AT:
            return Post.created_at
        case PostSort.UPDATED_AT:
            return Post.updated_at
        case PostSort.SCHEDULED_AT:
            return Post.scheduled_at
        case PostSort.PUBLISHED_AT:
            return Post.published_at
        case PostSort.VIEWS:
            return Post.views


def _conditions(campaign_id: UUID, filters: PostFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Post.campaign_id == campaign_id]
    if filters.search:
        conditions.append(contains_ignoring_case(Post.caption, filters.search))
    if filters.status is not None:
        conditions.append(Post.status == filters.status.value)
    if filters.creator_id is not None:
        conditions.append(Post.creator_id == filters.creator_id)
    if filters.platform is not None:
        conditions.append(Post.platform == filters.platform.value)
    if filters.scheduled_after is not None:
        conditions.append(Post.scheduled_at >= filters.scheduled_after)
    if filters.scheduled_before is not None:
        conditions.append(Post.scheduled_at <= filters.scheduled_before)
    return conditions


class PostService(SQLAlchemyAsyncRepositoryService[Post]):
    class Repo(SQLAlchemyAsyncRepository[Post]):
        model_type = Post

        def readable(self) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """Posts with their creator's name; RLS limits them to the team (and a guest's campaigns)."""
            return select(*_READ_COLUMNS).join(Creator, Creator.id == Post.creator_id)  # pyright: ignore[reportReturnType]

        async def list_page(
            self, *, campaign_id: UUID, page: Page, sort: PostSort, order: SortOrder, filters: PostFilters
        ) -> tuple[list[PostRead], int]:
            conditions = _conditions(campaign_id, filters)
            statement = (
                self.readable()
                .where(*conditions)
                .order_by(ordered(_sort_column(sort), order).nulls_last(), Post.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=PostRead)

        async def read_one(self, campaign_id: UUID, post_id: UUID) -> PostRead:
            statement = self.readable().where(Post.id == post_id, Post.campaign_id == campaign_id)
            return await fetch_one(self.session, statement, schema=PostRead, missing="Post not found.")

        async def is_booked(self, campaign_id: UUID, creator_id: UUID) -> bool:
            statement = select(CampaignCreator.id).where(
                CampaignCreator.campaign_id == campaign_id, CampaignCreator.creator_id == creator_id
            )
            return (await self.session.execute(statement)).first() is not None

    repository_type = Repo

    async def list_posts(
        self, *, campaign_id: UUID, page: Page, sort: PostSort, order: SortOrder, filters: PostFilters
    ) -> PostList:
        await visible_campaign(self.repository.session, campaign_id)
        items, total = await self.repository.list_page(
            campaign_id=campaign_id, page=page, sort=sort, order=order, filters=filters
        )
        return PostList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, campaign_id: UUID, post_id: UUID) -> PostRead:
        return await self.repository.read_one(campaign_id, post_id)

    async def create_post(self, campaign_id: UUID, *, actor_id: UUID, data: PostCreate) -> PostRead:
        campaign = await visible_campaign(self.repository.session, campaign_id, for_change=True)
        ensure_campaign_accepts(campaign.status, action="add", items=ITEMS)
        await self._ensure_booked(campaign_id, data.creator_id)
        post = await self.repository.add(
            Post(
                team_id=campaign.team_id,
                campaign_id=campaign_id,
                creator_id=data.creator_id,
                platform=data.platform.value,
                caption=data.caption,
                status=PostStatus.DRAFT.value,
                scheduled_at=data.scheduled_at,
            )
        )
        emit_event(
            self.repository.session,
            team_id=post.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=post.id,
            event_type=EventType.CREATED,
            changes=snapshot(post, ("creator_id", "platform", "status", "scheduled_at")),
        )
        return await self.repository.read_one(campaign_id, post.id)

    async def update_post(
        self, campaign_id: UUID, post_id: UUID, *, actor_id: UUID, data: PostUpdate
    ) -> PostRead:
        post = await self._get(campaign_id, post_id, action="change")
        ensure_current_version(kind="post", current=post.version, sent=data.version)
        ensure_transition(POST_TRANSITIONS, kind="post", current=post.status, requested=data.status.value)
        if data.creator_id != post.creator_id:
            await self._ensure_booked(campaign_id, data.creator_id)
        published_at = data.published_at
        if data.status is PostStatus.SCHEDULED and data.scheduled_at is None:
            raise invalid_field("scheduled_at", "is required to schedule a post")
        if data.status is PostStatus.PUBLISHED and published_at is None:
            published_at = post.published_at or datetime.now(tz=UTC)
        update_model_with_event(
            self.repository.session,
            post,
            {
                "creator_id": data.creator_id,
                "platform": data.platform.value,
                "caption": data.caption,
                "status": data.status.value,
                "scheduled_at": data.scheduled_at,
                "published_at": published_at,
                "published_url": data.published_url,
                "views": data.views,
                "likes": data.likes,
                "comments": data.comments,
                "shares": data.shares,
            },
            actor_id=actor_id,
            track_fields=TRACKED_FIELDS,
            object_type=OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return await self.repository.read_one(campaign_id, post_id)

    async def delete_post(
        self, campaign_id: UUID, post_id: UUID, *, actor_id: UUID, job_queue: Queue | None = None
    ) -> None:
        """Its to-dos stay, detached from it (`post_id` becomes null); its media files are detached
        and their bytes deleted by a task after commit (by the media sweep when no queue is given)."""
        post = await self._get(campaign_id, post_id, action="remove")
        emit_event(
            self.repository.session,
            team_id=post.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=post.id,
            event_type=EventType.DELETED,
        )
        await self.repository.session.delete(post)
        await self.repository.session.flush()
        await detach_media_of(
            self.repository.session,
            job_queue,
            team_id=post.team_id,
            target_type=OBJECT_TYPE,
            target_id=post.id,
        )

    async def _get(self, campaign_id: UUID, post_id: UUID, *, action: CampaignAction) -> Post:
        found = await campaign_item(self.repository.session, Post, campaign_id, post_id)
        if found is None:
            raise ResourceNotFoundError("Post not found.")
        post, campaign_status = found
        ensure_campaign_accepts(campaign_status, action=action, items=ITEMS)
        return post

    async def _ensure_booked(self, campaign_id: UUID, creator_id: UUID) -> None:
        if not await self.repository.is_booked(campaign_id, creator_id):
            raise unknown_reference("creator_id", "this creator is not booked on the campaign")
