"""Campaigns: create, read, list, update, delete and duplicate.

Rules: a campaign's brand is one of the team's (422 otherwise), its end date is not before its
start date, budgets are exact, and its status moves only along `CAMPAIGN_TRANSITIONS`
(app/campaigns/rules.py). Bookings are in `bookings.py`, guest grants in `guests.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.brands.models import Brand
from app.campaigns.bookings import CampaignCreatorService
from app.campaigns.models import Campaign, CampaignCreator
from app.campaigns.rules import CAMPAIGN_TRANSITIONS, visible_campaign
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignCreatorCreate,
    CampaignList,
    CampaignRead,
    CampaignSort,
    CampaignStatus,
    CampaignUpdate,
)
from app.db.paging import PreparedGet, PreparedPage, set_filters
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import invalid_field, unknown_reference
from app.lib.money import checked_amount
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, ordered, search_pattern
from app.lib.transitions import ensure_transition
from app.lib.versioning import ensure_current_version
from app.roster.models import Creator

OBJECT_TYPE = "campaign"
TRACKED_FIELDS = ("name", "brand_id", "status", "budget", "currency", "start_date", "end_date", "description")

_READ_COLUMNS = (
    Campaign.id,
    Campaign.team_id,
    Campaign.name,
    Campaign.brand_id,
    Campaign.status,
    Campaign.budget,
    Campaign.currency,
    Campaign.start_date,
    Campaign.end_date,
    Campaign.description,
    Campaign.version,
    Campaign.created_at,
    Campaign.updated_at,
)


def _check_dates(start_date: date | None, end_date: date | None) -> None:
    if start_date is not None and end_date is not None and end_date < start_date:
        raise invalid_field("end_date", "must not be before start_date")


class CampaignFilters(msgspec.Struct, frozen=True, kw_only=True):
    search: str | None = None
    status: CampaignStatus | None = None
    brand_id: UUID | None = None
    start_after: date | None = None
    start_before: date | None = None
    end_after: date | None = None
    end_before: date | None = None


def _sort_column(sort: CampaignSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case CampaignSort.NAME:
            return func.lower(Campaign.name)
        case CampaignSort.START_DATE:
            return Campaign.start_date
        case CampaignSort.END_DATE:
            return Campaign.end_date
        case CampaignSort.BUDGET:
            return Campaign.budget
        case CampaignSort.CREATED_AT:
            return Campaign.created_at
        case CampaignSort.UPDATED_AT:
            return Campaign.updated_at


_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "search": lambda: contains_ignoring_case(Campaign.name, bindparam("search")),
    "status": lambda: Campaign.status == bindparam("status"),
    "brand_id": lambda: Campaign.brand_id == bindparam("brand_id"),
    "start_after": lambda: Campaign.start_date >= bindparam("start_after"),
    "start_before": lambda: Campaign.start_date <= bindparam("start_before"),
    "end_after": lambda: Campaign.end_date >= bindparam("end_after"),
    "end_before": lambda: Campaign.end_date <= bindparam("end_before"),
}
"""Each filter's condition, its value bound by the filter's name."""


def _page_statement(sort: CampaignSort, order: SortOrder, filters: tuple[str, ...]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    return (
        CampaignService.Repo.readable()
        .where(Campaign.team_id == bindparam("team_id"), *(_FILTERS[name]() for name in filters))
        .order_by(ordered(_sort_column(sort), order).nulls_last(), Campaign.id)
    )


class CampaignService(SQLAlchemyAsyncRepositoryService[Campaign]):
    class Repo(SQLAlchemyAsyncRepository[Campaign]):
        model_type = Campaign

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every campaign read starts from; RLS limits it to the team (and a guest's list)."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        pages = PreparedPage(_page_statement, schema=CampaignRead)

        async def list_page(
            self, *, team_id: UUID, page: Page, sort: CampaignSort, order: SortOrder, filters: CampaignFilters
        ) -> tuple[list[CampaignRead], int]:
            values = set_filters(filters, search=search_pattern)
            return await self.pages.fetch(
                self.session, (sort, order, tuple(values)), page=page, team_id=team_id, **values
            )

        by_id = PreparedGet(
            lambda: CampaignService.Repo.readable().where(Campaign.id == bindparam("campaign_id")),
            schema=CampaignRead,
            missing="Campaign not found.",
        )

        async def read_one(self, campaign_id: UUID) -> CampaignRead:
            return await self.by_id.fetch(self.session, campaign_id=campaign_id)

        async def brand_is_visible(self, brand_id: UUID) -> bool:
            """Another team's brand is hidden by RLS, so it counts as missing."""
            return (
                await self.session.execute(select(Brand.id).where(Brand.id == brand_id))
            ).first() is not None

    repository_type = Repo

    async def list_campaigns(
        self, *, team_id: UUID, page: Page, sort: CampaignSort, order: SortOrder, filters: CampaignFilters
    ) -> CampaignList:
        items, total = await self.repository.list_page(
            team_id=team_id, page=page, sort=sort, order=order, filters=filters
        )
        return CampaignList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, campaign_id: UUID) -> CampaignRead:
        return await self.repository.read_one(campaign_id)

    async def create_campaign(self, *, team_id: UUID, actor_id: UUID, data: CampaignCreate) -> CampaignRead:
        _check_dates(data.start_date, data.end_date)
        budget = checked_amount("budget", data.budget)
        await self._ensure_brand(data.brand_id)
        campaign = await self.repository.add(
            Campaign(
                team_id=team_id,
                name=data.name.strip(),
                brand_id=data.brand_id,
                status=CampaignStatus.DRAFT.value,
                budget=budget,
                currency=data.currency,
                start_date=data.start_date,
                end_date=data.end_date,
                description=data.description,
            )
        )
        emit_event(
            self.repository.session,
            team_id=team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=campaign.id,
            event_type=EventType.CREATED,
            changes=snapshot(campaign, TRACKED_FIELDS),
        )
        return _campaign_read(campaign)

    async def update_campaign(
        self, campaign_id: UUID, *, actor_id: UUID, data: CampaignUpdate
    ) -> CampaignRead:
        campaign = await visible_campaign(self.repository.session, campaign_id)
        ensure_current_version(kind="campaign", current=campaign.version, sent=data.version)
        ensure_transition(
            CAMPAIGN_TRANSITIONS, kind="campaign", current=campaign.status, requested=data.status.value
        )
        _check_dates(data.start_date, data.end_date)
        budget = checked_amount("budget", data.budget)
        if data.brand_id != campaign.brand_id:
            await self._ensure_brand(data.brand_id)
        update_model_with_event(
            self.repository.session,
            campaign,
            {
                "name": data.name.strip(),
                "brand_id": data.brand_id,
                "status": data.status.value,
                "budget": budget,
                "currency": data.currency,
                "start_date": data.start_date,
                "end_date": data.end_date,
                "description": data.description,
            },
            actor_id=actor_id,
            track_fields=TRACKED_FIELDS,
            object_type=OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return _campaign_read(campaign)

    async def delete_campaign(self, campaign_id: UUID, *, actor_id: UUID) -> None:
        """Its campaign creators, posts, to-dos and guest grants go with it (FK cascade)."""
        campaign = await visible_campaign(self.repository.session, campaign_id)
        emit_event(
            self.repository.session,
            team_id=campaign.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=campaign.id,
            event_type=EventType.DELETED,
            changes={"name": {"old": campaign.name, "new": None}},
        )
        await self.repository.session.delete(campaign)
        await self.repository.session.flush()

    async def campaigns(self, campaign_ids: Sequence[UUID], *, for_change: bool) -> dict[UUID, Campaign]:
        """The visible campaigns among `campaign_ids`, in one query (`for_change`: locked until commit)."""
        statement = select(Campaign).where(Campaign.id.in_(campaign_ids))
        if for_change:
            statement = statement.with_for_update()
        return {
            campaign.id: campaign for campaign in (await self.repository.session.execute(statement)).scalars()
        }

    async def read_many(self, campaign_ids: Sequence[UUID]) -> dict[UUID, CampaignRead]:
        """The visible campaigns among `campaign_ids` as `GetCampaign` returns them, in one query."""
        statement = self.repository.readable().where(Campaign.id.in_(campaign_ids))
        rows = (await self.repository.session.execute(statement)).mappings().all()
        return {row["id"]: msgspec.convert(row, CampaignRead, strict=False) for row in rows}

    async def duplicate_campaign(self, campaign_id: UUID, *, actor_id: UUID) -> CampaignRead:
        """A new draft with the source's brand, budget (and currency) and booked creators (their
        fees and deliverables), named "<name> (copy)". Nothing else is copied: not the dates or the
        description, nor posts, to-dos or guest grants. Archived creators are left out, as they
        cannot be booked. Created through `create_campaign` and `book_creator`, so each gets its event.
        """
        source = await visible_campaign(self.repository.session, campaign_id)
        copy = await self.create_campaign(
            team_id=source.team_id,
            actor_id=actor_id,
            data=CampaignCreate(
                name=copy_name(source.name),
                brand_id=source.brand_id,
                budget=source.budget,
                currency=source.currency,
            ),
        )
        bookings = (
            await self.repository.session.execute(
                select(CampaignCreator.creator_id, CampaignCreator.agreed_fee, CampaignCreator.deliverables)
                .join(Creator, Creator.id == CampaignCreator.creator_id)
                .where(CampaignCreator.campaign_id == source.id, Creator.archived_at.is_(None))
                .order_by(CampaignCreator.created_at, CampaignCreator.id)
            )
        ).all()
        creators = CampaignCreatorService(session=self.repository.session)
        for booking in bookings:
            await creators.book_creator(
                copy.id,
                actor_id=actor_id,
                data=CampaignCreatorCreate(
                    creator_id=booking.creator_id,
                    agreed_fee=booking.agreed_fee,
                    deliverables=booking.deliverables,
                ),
            )
        return copy

    async def _ensure_brand(self, brand_id: UUID) -> None:
        if not await self.repository.brand_is_visible(brand_id):
            raise unknown_reference("brand_id", "no such brand in this team")


COPY_SUFFIX = " (copy)"
NAME_MAX_LENGTH = 200


def copy_name(name: str) -> str:
    """`name (copy)`, shortening the name so the result still fits the 200 characters of a name."""
    return name[: NAME_MAX_LENGTH - len(COPY_SUFFIX)].rstrip() + COPY_SUFFIX


def _campaign_read(campaign: Campaign) -> CampaignRead:
    return msgspec.convert(
        {column.key: getattr(campaign, column.key) for column in _READ_COLUMNS}, CampaignRead, strict=False
    )
