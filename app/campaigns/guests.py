"""Which campaigns each guest of a team may read: grants, lists and revocation.

Only members whose role is `guest` can be granted; a grant ends with the membership (foreign
key, migration 0005), and each change is an event that re-checks the guest's live sockets.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import Select, func, select

from app.campaigns.models import CampaignGuestAccess
from app.campaigns.rules import ensure_listed_campaign, visible_campaign
from app.campaigns.schemas import CampaignGuestList, CampaignGuestRead
from app.db.paging import fetch_one, fetch_page
from app.events.schemas import EventType
from app.events.services import emit_event, field_change
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError, unknown_reference
from app.lib.pagination import Page
from app.lib.roles import TeamRole
from app.teams.models import TeamMember
from app.users.models import User

_GUEST_COLUMNS = (
    CampaignGuestAccess.user_id,
    User.email,
    User.name,
    CampaignGuestAccess.campaign_id,
    CampaignGuestAccess.created_at.label("granted_at"),
)


class CampaignGuestService(SQLAlchemyAsyncRepositoryService[CampaignGuestAccess]):
    """Which campaigns each guest may read. Only members whose role is `guest` can be granted."""

    class Repo(SQLAlchemyAsyncRepository[CampaignGuestAccess]):
        model_type = CampaignGuestAccess

        def readable(self) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            return select(*_GUEST_COLUMNS).join(User, User.id == CampaignGuestAccess.user_id)  # pyright: ignore[reportReturnType]

        async def list_page(self, *, campaign_id: UUID, page: Page) -> tuple[list[CampaignGuestRead], int]:
            statement = (
                self.readable()
                .where(CampaignGuestAccess.campaign_id == campaign_id)
                .order_by(func.lower(User.name), CampaignGuestAccess.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=CampaignGuestRead)

        async def read_one(self, campaign_id: UUID, user_id: UUID) -> CampaignGuestRead:
            statement = self.readable().where(
                CampaignGuestAccess.campaign_id == campaign_id, CampaignGuestAccess.user_id == user_id
            )
            return await fetch_one(
                self.session,
                statement,
                schema=CampaignGuestRead,
                missing="This guest has no access to the campaign.",
            )

        async def role_of(self, team_id: UUID, user_id: UUID) -> str | None:
            statement = select(TeamMember.role).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user_id
            )
            return (await self.session.execute(statement)).scalar()

    repository_type = Repo

    async def list_guests(self, campaign_id: UUID, page: Page) -> CampaignGuestList:
        items, total = await self.repository.list_page(campaign_id=campaign_id, page=page)
        await ensure_listed_campaign(self.repository.session, campaign_id, total=total)
        return CampaignGuestList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def grant(self, campaign_id: UUID, *, actor_id: UUID, user_id: UUID) -> CampaignGuestRead:
        campaign = await visible_campaign(self.repository.session, campaign_id)
        if await self.repository.role_of(campaign.team_id, user_id) != TeamRole.GUEST:
            raise unknown_reference(
                "user_id", "is not a guest of this team (add them with the guest role first)"
            )
        if await self.repository.get_one_or_none(campaign_id=campaign_id, user_id=user_id) is not None:
            raise ConflictError("This guest already has access to the campaign.", code=ErrorCode.DUPLICATE)
        access = await self.repository.add(
            CampaignGuestAccess(team_id=campaign.team_id, campaign_id=campaign_id, user_id=user_id)
        )
        self._record(access, actor_id, EventType.CREATED)
        return await self.repository.read_one(campaign_id, user_id)

    async def revoke(self, campaign_id: UUID, *, actor_id: UUID, user_id: UUID) -> None:
        await visible_campaign(self.repository.session, campaign_id)
        access = await self.repository.get_one_or_none(campaign_id=campaign_id, user_id=user_id)
        if access is None:
            raise ResourceNotFoundError("This guest has no access to the campaign.")
        self._record(access, actor_id, EventType.DELETED)
        await self.repository.session.delete(access)
        await self.repository.session.flush()

    def _record(self, access: CampaignGuestAccess, actor_id: UUID, event_type: EventType) -> None:
        emit_event(
            self.repository.session,
            team_id=access.team_id,
            actor_id=actor_id,
            object_type="campaign_guest",
            object_id=access.campaign_id,  # the campaign's guest list changed
            event_type=event_type,
            changes={
                "user_id": field_change(None, access.user_id)
                if event_type is EventType.CREATED
                else field_change(access.user_id, None)
            },
        )
