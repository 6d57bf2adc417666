"""Posts: a creator's content for a campaign, moved through review to publication.

`POST_TRANSITIONS` is the review workflow; the service refuses any other move (409 naming the
allowed ones). A post's creator must be booked on its campaign (422 otherwise). A completed
campaign takes no new posts and an archived one's are read-only (409, `ensure_campaign_accepts`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, Select, bindparam, func, select, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute

from app.campaigns.models import Campaign, CampaignCreator
from app.campaigns.rules import (
    CampaignAction,
    campaign_item,
    ensure_campaign_accepts,
    ensure_listed_campaign,
    visible_campaign,
)
from app.db.paging import PreparedGet, PreparedPage, set_filters
from app.events.schemas import EventType
from app.events.services import Changes, emit_event, field_change, snapshot, update_model_with_event
from app.lib.errors import ConflictError, ResourceNotFoundError, invalid_field, unknown_reference
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, ordered, search_pattern
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


class CampaignPost(NamedTuple):
    """A post with its campaign's status (what decides whether the post may change at all)."""

    post: Post
    campaign_status: str


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


_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "search": lambda: contains_ignoring_case(Post.caption, bindparam("search")),
    "status": lambda: Post.status == bindparam("status"),
    "creator_id": lambda: Post.creator_id == bindparam("creator_id"),
    "platform": lambda: Post.platform == bindparam("platform"),
    "scheduled_after": lambda: Post.scheduled_at >= bindparam("scheduled_after"),
    "scheduled_before": lambda: Post.scheduled_at <= bindparam("scheduled_before"),
}
"""Each filter's condition, its value bound by the filter's name."""


def _page_statement(sort: PostSort, order: SortOrder, filters: tuple[str, ...]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    return (
        PostService.Repo.readable()
        .where(Post.campaign_id == bindparam("campaign_id"), *(_FILTERS[name]() for name in filters))
        .order_by(ordered(_sort_column(sort), order).nulls_last(), Post.id)
    )


class PostService(SQLAlchemyAsyncRepositoryService[Post]):
    class Repo(SQLAlchemyAsyncRepository[Post]):
        model_type = Post

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """Posts with their creator's name; RLS limits them to the team (and a guest's campaigns)."""
            return select(*_READ_COLUMNS).join(Creator, Creator.id == Post.creator_id)  # pyright: ignore[reportReturnType]

        pages = PreparedPage(_page_statement, schema=PostRead)

        async def list_page(
            self, *, campaign_id: UUID, page: Page, sort: PostSort, order: SortOrder, filters: PostFilters
        ) -> tuple[list[PostRead], int]:
            values = set_filters(filters, search=search_pattern)
            return await self.pages.fetch(
                self.session, (sort, order, tuple(values)), page=page, campaign_id=campaign_id, **values
            )

        by_id = PreparedGet(
            lambda: PostService.Repo.readable().where(
                Post.id == bindparam("post_id"), Post.campaign_id == bindparam("campaign_id")
            ),
            schema=PostRead,
            missing="Post not found.",
        )

        async def read_one(self, campaign_id: UUID, post_id: UUID) -> PostRead:
            return await self.by_id.fetch(self.session, post_id=post_id, campaign_id=campaign_id)

        async def read_many(self, post_ids: Sequence[UUID]) -> dict[UUID, PostRead]:
            statement = self.readable().where(Post.id.in_(post_ids))
            rows = (await self.session.execute(statement)).mappings().all()
            return {row["id"]: msgspec.convert(row, PostRead, strict=False) for row in rows}

        async def campaign_posts(
            self, post_ids: Sequence[UUID], *, for_change: bool
        ) -> dict[UUID, CampaignPost]:
            statement = (
                select(Post, Campaign.status)
                .join(Campaign, Campaign.id == Post.campaign_id)
                .where(Post.id.in_(post_ids))
            )
            if for_change:  # the campaign's status must hold until commit (see `campaign_item`)
                statement = statement.with_for_update(read=True, of=Campaign)
            rows = (await self.session.execute(statement)).all()
            return {row[0].id: CampaignPost(row[0], row[1]) for row in rows}

        async def is_booked(self, campaign_id: UUID, creator_id: UUID) -> bool:
            statement = select(CampaignCreator.id).where(
                CampaignCreator.campaign_id == campaign_id, CampaignCreator.creator_id == creator_id
            )
            return (await self.session.execute(statement)).first() is not None

    repository_type = Repo

    async def list_posts(
        self, *, campaign_id: UUID, page: Page, sort: PostSort, order: SortOrder, filters: PostFilters
    ) -> PostList:
        items, total = await self.repository.list_page(
            campaign_id=campaign_id, page=page, sort=sort, order=order, filters=filters
        )
        await ensure_listed_campaign(self.repository.session, campaign_id, total=total)
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

    async def campaign_posts(self, post_ids: Sequence[UUID], *, for_change: bool) -> dict[UUID, CampaignPost]:
        """The visible posts among `post_ids` with their campaigns' status, in one query."""
        return await self.repository.campaign_posts(post_ids, for_change=for_change)

    async def read_many(self, post_ids: Sequence[UUID]) -> dict[UUID, PostRead]:
        """The visible posts among `post_ids` as `GetPost` returns them, in one query."""
        return await self.repository.read_many(post_ids)

    async def move_posts(
        self,
        targets: Sequence[CampaignPost],
        *,
        actor_id: UUID,
        status: PostStatus,
        values: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> None:
        """Move posts to `status` (setting `values` too) with one UPDATE and one batch of events.

        The rules of `update_post` hold: the campaign takes changes, the move is allowed, and each
        post still has the version it was loaded with (409 otherwise: nothing is moved). The
        events are the ones `update_post` records; `comment` (why changes are requested) goes
        into the `status_changed` event, where the post's thread picks it up.
        """
        if not targets:
            return
        for post, campaign_status in targets:
            ensure_campaign_accepts(campaign_status, action="change", items=ITEMS)
            ensure_transition(POST_TRANSITIONS, kind="post", current=post.status, requested=status.value)
        now = datetime.now(tz=UTC)
        new_values = {"status": status.value, **(values or {})}
        assignments: dict[Any, Any] = {getattr(Post, field): value for field, value in new_values.items()}
        if status is PostStatus.PUBLISHED:
            assignments[Post.published_at] = func.coalesce(Post.published_at, now)
        statement = (
            update(Post)
            .where(tuple_(Post.id, Post.version).in_([(post.id, post.version) for post, _ in targets]))
            .values({**assignments, Post.version: Post.version + 1, Post.updated_at: now})
            .returning(Post.id)
            .execution_options(synchronize_session=False)
        )
        moved = set((await self.repository.session.execute(statement)).scalars())
        stale = [post for post, _ in targets if post.id not in moved]
        if stale:
            raise ConflictError(
                f"{len(stale)} post(s) changed since you read them (e.g. {stale[0].id}); reload and try again."
            )
        for post, _ in targets:
            after = dict(new_values)
            if status is PostStatus.PUBLISHED:
                after["published_at"] = post.published_at or now
            self._record_move(post, after, actor_id=actor_id, comment=comment)
            self.repository.session.expire(post)

    def _record_move(
        self, post: Post, after: Mapping[str, Any], *, actor_id: UUID, comment: str | None
    ) -> None:
        """The events `update_model_with_event` records for the same change."""
        changed = {field: value for field, value in after.items() if getattr(post, field) != value}
        if not changed:
            return
        changes: Changes = {
            field: field_change(getattr(post, field), value)
            for field, value in changed.items()
            if field in TRACKED_FIELDS
        }
        common: dict[str, Any] = {
            "team_id": post.team_id,
            "actor_id": actor_id,
            "object_type": OBJECT_TYPE,
            "object_id": post.id,
        }
        session = self.repository.session
        emit_event(session, event_type=EventType.UPDATED, changes=changes, **common)
        if "status" in changes:
            milestone: Changes = {"status": changes["status"]}
            if comment is not None:
                milestone["comment"] = field_change(None, comment)
            emit_event(session, event_type=EventType.STATUS_CHANGED, changes=milestone, **common)

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
