"""The creators booked on a campaign.

A creator is booked once per campaign, only if they are on the team's roster and not archived;
the campaign's status decides whether bookings may be added, changed or removed
(`ensure_campaign_accepts`, app/campaigns/rules.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.campaigns.models import CampaignCreator
from app.campaigns.rules import (
    CampaignAction,
    campaign_item,
    ensure_campaign_accepts,
    ensure_listed_campaign,
    visible_campaign,
)
from app.campaigns.schemas import (
    CampaignCreatorCreate,
    CampaignCreatorList,
    CampaignCreatorRead,
    CampaignCreatorSort,
    CampaignCreatorUpdate,
)
from app.db.paging import fetch_one, fetch_page
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError, unknown_reference
from app.lib.money import checked_amount
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, ordered
from app.lib.versioning import ensure_current_version
from app.roster.models import Creator

BOOKING_OBJECT_TYPE = "campaign_creator"
BOOKING_TRACKED_FIELDS = ("creator_id", "agreed_fee", "deliverables")
BOOKING_ITEMS = "creator bookings"

_BOOKING_COLUMNS = (
    CampaignCreator.id,
    CampaignCreator.team_id,
    CampaignCreator.campaign_id,
    CampaignCreator.creator_id,
    Creator.name.label("creator_name"),
    CampaignCreator.agreed_fee,
    CampaignCreator.deliverables,
    CampaignCreator.version,
    CampaignCreator.created_at,
    CampaignCreator.updated_at,
)


def _booking_sort_column(sort: CampaignCreatorSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case CampaignCreatorSort.CREATOR_NAME:
            return func.lower(Creator.name)
        case CampaignCreatorSort.AGREED_FEE:
            return CampaignCreator.agreed_fee
        case CampaignCreatorSort.CREATED_AT:
            return CampaignCreator.created_at


class CampaignCreatorService(SQLAlchemyAsyncRepositoryService[CampaignCreator]):
    class Repo(SQLAlchemyAsyncRepository[CampaignCreator]):
        model_type = CampaignCreator

        def readable(self) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """Bookings with their creator's name; RLS limits both to the team (and a guest's campaigns)."""
            return select(*_BOOKING_COLUMNS).join(Creator, Creator.id == CampaignCreator.creator_id)  # pyright: ignore[reportReturnType]

        async def list_page(
            self,
            *,
            campaign_id: UUID,
            page: Page,
            sort: CampaignCreatorSort,
            order: SortOrder,
            search: str | None,
            creator_id: UUID | None,
        ) -> tuple[list[CampaignCreatorRead], int]:
            conditions: list[ColumnElement[bool]] = [CampaignCreator.campaign_id == campaign_id]
            if search:
                conditions.append(contains_ignoring_case(Creator.name, search))
            if creator_id is not None:
                conditions.append(CampaignCreator.creator_id == creator_id)
            statement = (
                self.readable()
                .where(*conditions)
                .order_by(ordered(_booking_sort_column(sort), order), CampaignCreator.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=CampaignCreatorRead)

        async def read_one(self, campaign_id: UUID, booking_id: UUID) -> CampaignCreatorRead:
            statement = self.readable().where(
                CampaignCreator.id == booking_id, CampaignCreator.campaign_id == campaign_id
            )
            return await fetch_one(
                self.session, statement, schema=CampaignCreatorRead, missing="Campaign creator not found."
            )

        async def bookable_creator(self, creator_id: UUID) -> Creator | None:
            return (await self.session.execute(select(Creator).where(Creator.id == creator_id))).scalar()

        async def is_booked(self, campaign_id: UUID, creator_id: UUID) -> bool:
            statement = select(CampaignCreator.id).where(
                CampaignCreator.campaign_id == campaign_id, CampaignCreator.creator_id == creator_id
            )
            return (await self.session.execute(statement)).first() is not None

    repository_type = Repo

    async def list_bookings(
        self,
        *,
        campaign_id: UUID,
        page: Page,
        sort: CampaignCreatorSort,
        order: SortOrder,
        search: str | None,
        creator_id: UUID | None,
    ) -> CampaignCreatorList:
        items, total = await self.repository.list_page(
            campaign_id=campaign_id, page=page, sort=sort, order=order, search=search, creator_id=creator_id
        )
        await ensure_listed_campaign(self.repository.session, campaign_id, total=total)
        return CampaignCreatorList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, campaign_id: UUID, booking_id: UUID) -> CampaignCreatorRead:
        return await self.repository.read_one(campaign_id, booking_id)

    async def book_creator(
        self, campaign_id: UUID, *, actor_id: UUID, data: CampaignCreatorCreate
    ) -> CampaignCreatorRead:
        campaign = await visible_campaign(self.repository.session, campaign_id, for_change=True)
        ensure_campaign_accepts(campaign.status, action="add", items=BOOKING_ITEMS)
        fee = checked_amount("agreed_fee", data.agreed_fee)
        creator = await self.repository.bookable_creator(data.creator_id)
        if creator is None:
            raise unknown_reference("creator_id", "no such creator in this team")
        if creator.archived_at is not None:
            raise unknown_reference("creator_id", "this creator is archived; restore them first")
        if await self.repository.is_booked(campaign_id, creator.id):
            raise ConflictError(f"{creator.name} is already on this campaign.", code=ErrorCode.DUPLICATE)
        booking = await self.repository.add(
            CampaignCreator(
                team_id=campaign.team_id,
                campaign_id=campaign_id,
                creator_id=creator.id,
                agreed_fee=fee,
                deliverables=data.deliverables,
            )
        )
        self._record(booking, actor_id, EventType.CREATED)
        return _booking_read(booking, creator.name)

    async def update_booking(
        self, campaign_id: UUID, booking_id: UUID, *, actor_id: UUID, data: CampaignCreatorUpdate
    ) -> CampaignCreatorRead:
        booking = await self._get(campaign_id, booking_id, action="change")
        ensure_current_version(kind="campaign creator", current=booking.version, sent=data.version)
        update_model_with_event(
            self.repository.session,
            booking,
            {"agreed_fee": checked_amount("agreed_fee", data.agreed_fee), "deliverables": data.deliverables},
            actor_id=actor_id,
            track_fields=BOOKING_TRACKED_FIELDS,
            object_type=BOOKING_OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return await self.repository.read_one(campaign_id, booking_id)

    async def remove_booking(self, campaign_id: UUID, booking_id: UUID, *, actor_id: UUID) -> None:
        """The creator stays on the roster and the campaign keeps going; only the booking goes."""
        booking = await self._get(campaign_id, booking_id, action="remove")
        self._record(booking, actor_id, EventType.DELETED)
        await self.repository.session.delete(booking)
        await self.repository.session.flush()

    async def _get(self, campaign_id: UUID, booking_id: UUID, *, action: CampaignAction) -> CampaignCreator:
        found = await campaign_item(self.repository.session, CampaignCreator, campaign_id, booking_id)
        if found is None:
            raise ResourceNotFoundError("Campaign creator not found.")
        booking, campaign_status = found
        ensure_campaign_accepts(campaign_status, action=action, items=BOOKING_ITEMS)
        return booking

    def _record(self, booking: CampaignCreator, actor_id: UUID, event_type: EventType) -> None:
        emit_event(
            self.repository.session,
            team_id=booking.team_id,
            actor_id=actor_id,
            object_type=BOOKING_OBJECT_TYPE,
            object_id=booking.id,
            event_type=event_type,
            changes=snapshot(booking, BOOKING_TRACKED_FIELDS) if event_type is EventType.CREATED else None,
        )


def _booking_read(booking: CampaignCreator, creator_name: str) -> CampaignCreatorRead:
    return CampaignCreatorRead(
        id=booking.id,
        team_id=booking.team_id,
        campaign_id=booking.campaign_id,
        creator_id=booking.creator_id,
        creator_name=creator_name,
        agreed_fee=booking.agreed_fee,
        deliverables=booking.deliverables,
        version=booking.version,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
    )
