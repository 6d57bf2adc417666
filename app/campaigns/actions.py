"""Campaign actions: the status moves of `CAMPAIGN_TRANSITIONS` as named steps, and duplicate.

Status moves go through `CampaignService.update_campaign` (the same checks and events as
`UpdateCampaign`). Archiving is final, so it is an admin's action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import ActionContext, BaseAction, ObjectType, action_registry
from app.campaigns.models import Campaign
from app.campaigns.schemas import CampaignRead, CampaignStatus, CampaignUpdate
from app.campaigns.services import CampaignService
from app.lib.roles import TeamRole


class CampaignObjects(ObjectType[Campaign]):
    name = "campaign"
    read_schema = CampaignRead

    async def load(
        self, session: AsyncSession, object_ids: Sequence[UUID], *, for_change: bool
    ) -> dict[UUID, Campaign]:
        return await CampaignService(session=session).campaigns(object_ids, for_change=for_change)

    def version_of(self, target: Campaign) -> int:
        return target.version

    async def read(self, session: AsyncSession, object_ids: Sequence[UUID]) -> dict[UUID, Any]:
        return dict(await CampaignService(session=session).read_many(object_ids))


action_registry.add_object_type(CampaignObjects())


class CampaignMove(BaseAction[Campaign]):
    """A status move: from one of `sources` to `target_status`, as `UpdateCampaign` would make it."""

    sources: ClassVar[frozenset[CampaignStatus]]
    target_status: ClassVar[CampaignStatus]
    only: ClassVar[str]

    def unavailable_reason(self, target: Campaign, context: ActionContext) -> str | None:
        return None if target.status in self.sources else self.only

    async def execute(self, context: ActionContext, target: Campaign, data: Any) -> None:
        await CampaignService(session=context.session).update_campaign(
            target.id,
            actor_id=context.actor_id,
            data=CampaignUpdate(
                name=target.name,
                brand_id=target.brand_id,
                status=self.target_status,
                budget=target.budget,
                currency=target.currency,
                start_date=target.start_date,
                end_date=target.end_date,
                description=target.description,
                version=target.version,
            ),
        )


@action_registry.register("campaign")
class LaunchCampaign(CampaignMove):
    name = "launch"
    label = "Launch"
    icon = "rocket"
    description = "Start the campaign: it becomes active."
    sources = frozenset({CampaignStatus.DRAFT})
    target_status = CampaignStatus.ACTIVE
    only = "Only draft campaigns can be launched."


@action_registry.register("campaign")
class PauseCampaign(CampaignMove):
    name = "pause"
    label = "Pause"
    icon = "pause"
    description = "Hold the active campaign; resume it later."
    sources = frozenset({CampaignStatus.ACTIVE})
    target_status = CampaignStatus.PAUSED
    only = "Only active campaigns can be paused."


@action_registry.register("campaign")
class ResumeCampaign(CampaignMove):
    name = "resume"
    label = "Resume"
    icon = "play"
    description = "Make the paused campaign active again."
    sources = frozenset({CampaignStatus.PAUSED})
    target_status = CampaignStatus.ACTIVE
    only = "Only paused campaigns can be resumed."


@action_registry.register("campaign")
class CompleteCampaign(CampaignMove):
    name = "complete"
    label = "Complete"
    icon = "flag"
    description = "Close the campaign: no new posts, to-dos or bookings; existing ones can still be updated."
    sources = frozenset({CampaignStatus.ACTIVE, CampaignStatus.PAUSED})
    target_status = CampaignStatus.COMPLETED
    only = "Only active or paused campaigns can be completed."


@action_registry.register("campaign")
class ArchiveCampaign(CampaignMove):
    name = "archive"
    label = "Archive"
    icon = "archive"
    description = "Make the campaign and everything in it read-only, for reporting. This cannot be undone."
    required_role = TeamRole.ADMIN
    sources = frozenset(
        {CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.COMPLETED}
    )
    target_status = CampaignStatus.ARCHIVED
    only = "This campaign is already archived."


@action_registry.register("campaign")
class DuplicateCampaign(BaseAction[Campaign]):
    name = "duplicate"
    label = "Duplicate"
    icon = "copy"
    description = (
        'Start a new draft with the same brand, budget and booked creators, named "… (copy)"; '
        "dates, description, posts, to-dos and guests are not copied."
    )
    result_schema = CampaignRead

    async def execute(self, context: ActionContext, target: Campaign, data: Any) -> msgspec.Struct:
        return await CampaignService(session=context.session).duplicate_campaign(
            target.id, actor_id=context.actor_id
        )
