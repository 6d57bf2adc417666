"""Campaign routes under `/api/teams/{team_id}/campaigns` and the creators booked on each.

Guests may list and read the campaigns they are granted and their creators; everything else
needs a member (deleting a campaign: an admin).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.bookings import CampaignCreatorService
from app.campaigns.guests import CampaignGuestService
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignCreatorCreate,
    CampaignCreatorList,
    CampaignCreatorRead,
    CampaignCreatorSort,
    CampaignCreatorUpdate,
    CampaignGuestGrant,
    CampaignGuestList,
    CampaignGuestRead,
    CampaignList,
    CampaignRead,
    CampaignSort,
    CampaignStatus,
    CampaignUpdate,
)
from app.campaigns.services import CampaignFilters, CampaignService
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import Page, SortOrder, page_dependencies
from app.lib.roles import TeamRole, requires_role


def provide_campaigns(db_session: NamedDependency[AsyncSession]) -> CampaignService:
    return CampaignService(session=db_session)


def provide_campaign_creators(db_session: NamedDependency[AsyncSession]) -> CampaignCreatorService:
    return CampaignCreatorService(session=db_session)


def provide_campaign_guests(db_session: NamedDependency[AsyncSession]) -> CampaignGuestService:
    return CampaignGuestService(session=db_session)


class CampaignController(Controller):
    path = "/api/teams/{team_id:uuid}/campaigns"
    tags = ["Campaigns"]
    dependencies = {
        "campaigns": Provide(provide_campaigns, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get("", operation_id="ListCampaigns", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.GUEST))
    async def list_campaigns(
        self,
        team_access: NamedDependency[TeamAccess],
        campaigns: NamedDependency[CampaignService],
        page: NamedDependency[Page],
        sort: Annotated[CampaignSort, Parameter(description="Sort key.")] = CampaignSort.NAME,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Case-insensitive search in the name.")
        ] = None,
        status: Annotated[CampaignStatus | None, Parameter(description="Only this status.")] = None,
        brand_id: Annotated[UUID | None, Parameter(description="Only this brand's campaigns.")] = None,
        start_after: Annotated[date | None, Parameter(description="Starting on or after this day.")] = None,
        start_before: Annotated[date | None, Parameter(description="Starting on or before this day.")] = None,
        end_after: Annotated[date | None, Parameter(description="Ending on or after this day.")] = None,
        end_before: Annotated[date | None, Parameter(description="Ending on or before this day.")] = None,
    ) -> CampaignList:
        """The team's campaigns (a guest: the ones granted to them), filtered, sorted and paginated."""
        filters = CampaignFilters(
            search=q,
            status=status,
            brand_id=brand_id,
            start_after=start_after,
            start_before=start_before,
            end_after=end_after,
            end_before=end_before,
        )
        return await campaigns.list_campaigns(
            team_id=team_access.team_id, page=page, sort=sort, order=order, filters=filters
        )

    @post("", operation_id="CreateCampaign", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_campaign(
        self,
        data: JSONBody[CampaignCreate],
        team_access: NamedDependency[TeamAccess],
        campaigns: NamedDependency[CampaignService],
    ) -> CampaignRead:
        """Start a campaign for one of the team's brands (422 for an unknown brand); it begins as a draft."""
        return await campaigns.create_campaign(
            team_id=team_access.team_id, actor_id=team_access.user_id, data=data
        )

    @get(
        "/{campaign_id:uuid}",
        operation_id="GetCampaign",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_campaign(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        campaigns: NamedDependency[CampaignService],
    ) -> CampaignRead:
        """One campaign."""
        return await campaigns.read(campaign_id)

    @put("/{campaign_id:uuid}", operation_id="UpdateCampaign", responses=TEAM_ROUTE_ERRORS)
    async def update_campaign(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[CampaignUpdate],
        team_access: NamedDependency[TeamAccess],
        campaigns: NamedDependency[CampaignService],
    ) -> CampaignRead:
        """Replace every field; send the `version` you read. Status moves: draft -> active/archived,
        active -> paused/completed/archived, paused -> active/completed/archived, completed -> archived
        (409 for any other, naming the allowed ones)."""
        return await campaigns.update_campaign(campaign_id, actor_id=team_access.user_id, data=data)

    @delete(
        "/{campaign_id:uuid}",
        operation_id="DeleteCampaign",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def delete_campaign(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        campaigns: NamedDependency[CampaignService],
    ) -> None:
        """Delete a campaign with its campaign creators, posts and to-dos (admins). Creators stay on the roster."""
        await campaigns.delete_campaign(campaign_id, actor_id=team_access.user_id)


class CampaignCreatorController(Controller):
    path = "/api/teams/{team_id:uuid}/campaigns/{campaign_id:uuid}/creators"
    tags = ["Campaigns"]
    dependencies = {
        "bookings": Provide(provide_campaign_creators, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get(
        "",
        operation_id="ListCampaignCreators",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def list_campaign_creators(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        bookings: NamedDependency[CampaignCreatorService],
        page: NamedDependency[Page],
        sort: Annotated[
            CampaignCreatorSort, Parameter(description="Sort key.")
        ] = CampaignCreatorSort.CREATOR_NAME,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None,
            Parameter(max_length=200, description="Case-insensitive search in the creator's name."),
        ] = None,
        creator_id: Annotated[UUID | None, Parameter(description="Only this creator's booking.")] = None,
    ) -> CampaignCreatorList:
        """The creators booked on a campaign, with their agreed fee and deliverables."""
        return await bookings.list_bookings(
            campaign_id=campaign_id, page=page, sort=sort, order=order, search=q, creator_id=creator_id
        )

    @post("", operation_id="CreateCampaignCreator", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_campaign_creator(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[CampaignCreatorCreate],
        team_access: NamedDependency[TeamAccess],
        bookings: NamedDependency[CampaignCreatorService],
    ) -> CampaignCreatorRead:
        """Book a roster creator on the campaign (422 if unknown or archived, 409 if already booked)."""
        return await bookings.book_creator(campaign_id, actor_id=team_access.user_id, data=data)

    @get(
        "/{campaign_creator_id:uuid}",
        operation_id="GetCampaignCreator",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_campaign_creator(
        self,
        campaign_id: FromPath[UUID],
        campaign_creator_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        bookings: NamedDependency[CampaignCreatorService],
    ) -> CampaignCreatorRead:
        """One creator's booking on the campaign."""
        return await bookings.read(campaign_id, campaign_creator_id)

    @put("/{campaign_creator_id:uuid}", operation_id="UpdateCampaignCreator", responses=TEAM_ROUTE_ERRORS)
    async def update_campaign_creator(
        self,
        campaign_id: FromPath[UUID],
        campaign_creator_id: FromPath[UUID],
        data: JSONBody[CampaignCreatorUpdate],
        team_access: NamedDependency[TeamAccess],
        bookings: NamedDependency[CampaignCreatorService],
    ) -> CampaignCreatorRead:
        """Replace the agreed fee and deliverables; send the `version` you read."""
        return await bookings.update_booking(
            campaign_id, campaign_creator_id, actor_id=team_access.user_id, data=data
        )

    @delete(
        "/{campaign_creator_id:uuid}",
        operation_id="DeleteCampaignCreator",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_campaign_creator(
        self,
        campaign_id: FromPath[UUID],
        campaign_creator_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        bookings: NamedDependency[CampaignCreatorService],
    ) -> None:
        """Take a creator off the campaign; the creator stays on the roster, the campaign and its posts stay."""
        await bookings.remove_booking(campaign_id, campaign_creator_id, actor_id=team_access.user_id)


class CampaignGuestController(Controller):
    """Which guests may read a campaign (admins manage it)."""

    path = "/api/teams/{team_id:uuid}/campaigns/{campaign_id:uuid}/guests"
    tags = ["Campaigns"]
    dependencies = {
        "guests": Provide(provide_campaign_guests, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get(
        "", operation_id="ListCampaignGuests", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.ADMIN)
    )
    async def list_campaign_guests(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        guests: NamedDependency[CampaignGuestService],
        page: NamedDependency[Page],
    ) -> CampaignGuestList:
        """The guests who may read this campaign, by name (admins)."""
        return await guests.list_guests(campaign_id, page)

    @post(
        "",
        operation_id="GrantCampaignGuest",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_201_CREATED,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def grant_campaign_guest(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[CampaignGuestGrant],
        team_access: NamedDependency[TeamAccess],
        guests: NamedDependency[CampaignGuestService],
    ) -> CampaignGuestRead:
        """Let a guest of the team read this campaign, its creators, posts and to-dos (admins)."""
        return await guests.grant(campaign_id, actor_id=team_access.user_id, user_id=data.user_id)

    @delete(
        "/{user_id:uuid}",
        operation_id="RevokeCampaignGuest",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def revoke_campaign_guest(
        self,
        campaign_id: FromPath[UUID],
        user_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        guests: NamedDependency[CampaignGuestService],
    ) -> None:
        """Take a guest's access to this campaign away (admins)."""
        await guests.revoke(campaign_id, actor_id=team_access.user_id, user_id=user_id)
