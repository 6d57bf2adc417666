"""Post actions: the review workflow as named steps (submit, request changes, approve, schedule,
publish, unschedule). Each is a move of `POST_TRANSITIONS`, made by `PostService.move_posts`, so
a bulk approval of many posts is one UPDATE and one batch of events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import ActionContext, BaseAction, ObjectType, action_registry
from app.campaigns.rules import campaign_blocks_change
from app.lib.schema import Schema
from app.posts.schemas import Metric, PostRead, PostStatus, Url
from app.posts.services import ITEMS, CampaignPost, PostService

Comment = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, pattern=r"\S")]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class PostObjects(ObjectType[CampaignPost]):
    name = "post"
    read_schema = PostRead

    async def load(
        self, session: AsyncSession, object_ids: Sequence[UUID], *, for_change: bool
    ) -> dict[UUID, CampaignPost]:
        return await PostService(session=session).campaign_posts(object_ids, for_change=for_change)

    def version_of(self, target: CampaignPost) -> int:
        return target.post.version

    async def read(self, session: AsyncSession, object_ids: Sequence[UUID]) -> dict[UUID, Any]:
        return dict(await PostService(session=session).read_many(object_ids))


action_registry.add_object_type(PostObjects())


class PostMove(BaseAction[CampaignPost]):
    """A review step: from one of `sources` to `target_status`."""

    sources: ClassVar[frozenset[PostStatus]]
    target_status: ClassVar[PostStatus]
    only: ClassVar[str]
    """The reason given when the post is in another status."""

    def unavailable_reason(self, target: CampaignPost, context: ActionContext) -> str | None:
        blocked = campaign_blocks_change(target.campaign_status, items=ITEMS)
        if blocked is not None:
            return blocked
        return None if target.post.status in self.sources else self.only

    def values(self, data: Any) -> dict[str, Any]:
        return {}

    def comment(self, data: Any) -> str | None:
        return None

    async def execute(self, context: ActionContext, target: CampaignPost, data: Any) -> None:
        await self.execute_many(context, [target], data)

    async def execute_many(
        self, context: ActionContext, targets: Sequence[CampaignPost], data: Any
    ) -> list[msgspec.Struct | None]:
        await PostService(session=context.session).move_posts(
            targets,
            actor_id=context.actor_id,
            status=self.target_status,
            values=self.values(data),
            comment=self.comment(data),
        )
        return [None] * len(targets)


@action_registry.register("post")
class SubmitPostForReview(PostMove):
    name = "submit_for_review"
    label = "Submit for review"
    icon = "send"
    description = "Send the draft (or the reworked post) to the team for review."
    sources = frozenset({PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED})
    target_status = PostStatus.SUBMITTED
    only = "Only draft posts or posts with changes requested can be submitted for review."


class PostRequestChangesInput(Schema):
    comment: Comment
    """What to change; recorded with the status change and said in the post's thread as your message."""


@action_registry.register("post")
class RequestPostChanges(PostMove):
    name = "request_changes"
    label = "Request changes"
    icon = "message-square-warning"
    description = "Send the post back to its creator with a comment saying what to change."
    InputSchema = PostRequestChangesInput
    sources = frozenset({PostStatus.SUBMITTED, PostStatus.APPROVED})
    target_status = PostStatus.CHANGES_REQUESTED
    only = "Only submitted or approved posts can be sent back for changes."

    def comment(self, data: PostRequestChangesInput) -> str | None:
        return data.comment.strip()


@action_registry.register("post")
class ApprovePost(PostMove):
    name = "approve"
    label = "Approve"
    icon = "check"
    description = "Approve the submitted post, so it can be scheduled or published."
    sources = frozenset({PostStatus.SUBMITTED})
    target_status = PostStatus.APPROVED
    only = "Only submitted posts can be approved."


class PostScheduleInput(Schema):
    scheduled_at: AwareDatetime
    """When it goes out: in the future, with a time zone (e.g. `2026-12-24T18:00:00Z`)."""

    def invalid_fields(self) -> dict[str, str]:
        if self.scheduled_at <= datetime.now(tz=UTC):
            return {"scheduled_at": "Must be in the future"}
        return {}


@action_registry.register("post")
class SchedulePost(PostMove):
    name = "schedule"
    label = "Schedule"
    icon = "calendar-clock"
    description = "Plan when the approved post goes out."
    InputSchema = PostScheduleInput
    sources = frozenset({PostStatus.APPROVED})
    target_status = PostStatus.SCHEDULED
    only = "Only approved posts can be scheduled."

    def values(self, data: PostScheduleInput) -> dict[str, Any]:
        return {"scheduled_at": data.scheduled_at}


class PostPublishInput(Schema):
    published_url: Url
    """Where the post is live."""
    views: Metric | None = None
    likes: Metric | None = None
    comments: Metric | None = None
    shares: Metric | None = None


@action_registry.register("post")
class PublishPost(PostMove):
    name = "publish"
    label = "Mark as published"
    icon = "globe"
    description = "Record that the post is live: its URL and, if known, its first metrics."
    InputSchema = PostPublishInput
    sources = frozenset({PostStatus.APPROVED, PostStatus.SCHEDULED})
    target_status = PostStatus.PUBLISHED
    only = "Only approved or scheduled posts can be published."

    def values(self, data: PostPublishInput) -> dict[str, Any]:
        metrics = {"views": data.views, "likes": data.likes, "comments": data.comments, "shares": data.shares}
        return {
            "published_url": data.published_url,
            **{name: value for name, value in metrics.items() if value is not None},
        }


@action_registry.register("post")
class UnschedulePost(PostMove):
    name = "unschedule"
    label = "Unschedule"
    icon = "calendar-x"
    description = "Take the post off the schedule; it stays approved."
    sources = frozenset({PostStatus.SCHEDULED})
    target_status = PostStatus.APPROVED
    only = "Only scheduled posts can be unscheduled."

    def values(self, data: Any) -> dict[str, Any]:
        return {"scheduled_at": None}
