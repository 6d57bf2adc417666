"""Campaigns and the creators booked on them.

Rules: a campaign's brand is one of the team's (422 otherwise), its end date is not before its
start date, budgets and fees are exact, and its status moves only along `CAMPAIGN_TRANSITIONS`.
A creator is booked once per campaign, only if they are on the roster and not archived.
What a campaign's status allows for its posts, to-dos and bookings is `ensure_campaign_accepts`
(the rule itself is in the package docstring, app/campaigns/__init__.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal, TypeVar
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.brands.models import Brand
from app.campaigns.models import Campaign, CampaignCreator, CampaignGuestAccess
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignCreatorCreate,
    CampaignCreatorList,
    CampaignCreatorRead,
    CampaignCreatorSort,
    CampaignCreatorUpdate,
    CampaignGuestList,
    CampaignGuestRead,
    CampaignList,
    CampaignRead,
    CampaignSort,
    CampaignStatus,
    CampaignUpdate,
)
from app.db.base import CampaignScopedBase
from app.db.paging import fetch_one, fetch_page
from app.events.schemas import EventType
from app.events.services import emit_event, field_change, snapshot, update_model_with_event
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError, invalid_field, unknown_reference
from app.lib.money import checked_amount
from app.lib.pagination import Page, SortOrder
from app.lib.roles import TeamRole
from app.lib.search import contains_ignoring_case, ordered
from app.lib.transitions import ensure_transition
from app.lib.versioning import ensure_current_version
from app.roster.models import Creator
from app.teams.models import TeamMember
from app.users.models import User

CAMPAIGN_TRANSITIONS: Mapping[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED}),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.PAUSED: frozenset(
        {CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.COMPLETED: frozenset({CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}
"""Where a campaign may go from each status. Archived is final: the record stays for reporting."""

OBJECT_TYPE = "campaign"
TRACKED_FIELDS = ("name", "brand_id", "status", "budget", "currency", "start_date", "end_date", "description")
BOOKING_OBJECT_TYPE = "campaign_creator"
BOOKING_TRACKED_FIELDS = ("creator_id", "agreed_fee", "deliverables")
BOOKING_ITEMS = "creator bookings"

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


async def visible_campaign(session: AsyncSession, campaign_id: UUID, *, for_change: bool = False) -> Campaign:
    """The campaign if the caller may see it (RLS: their team, and a guest's list), else 404.

    `for_change`: also share-lock its row until commit, so its status cannot move (e.g. to
    archived) while the caller adds something to it on the strength of that status.
    """
    statement = select(Campaign).where(Campaign.id == campaign_id)
    if for_change:
        statement = statement.with_for_update(read=True)
    campaign = (await session.execute(statement)).scalar()
    if campaign is None:
        raise ResourceNotFoundError("Campaign not found.")
    return campaign


async def ensure_listed_campaign(session: AsyncSession, campaign_id: UUID, *, total: int) -> None:
    """404 for a list of a campaign the caller cannot see, checked after the list itself.

    A list with rows proves the campaign visible (its rows carry the campaign's team under the
    same policy), so only an empty one costs the extra statement of `visible_campaign`.
    """
    if total == 0:
        await visible_campaign(session, campaign_id)


CampaignAction = Literal["add", "change", "remove"]
"""What a service is about to do to a post, to-do or booking of a campaign."""

_CLOSED_TO_NEW = frozenset({CampaignStatus.COMPLETED.value, CampaignStatus.ARCHIVED.value})
_READ_ONLY = frozenset({CampaignStatus.ARCHIVED.value})


def ensure_campaign_accepts(status: str, *, action: CampaignAction, items: str) -> None:
    """409 unless a campaign in `status` allows `action` on its `items` ("posts", "to-dos", ...).

    Completed: nothing new is added; existing items may still be changed or removed (a
    published post's metrics keep coming in). Archived: read-only, nothing is added, changed
    or removed. The detail names the status and the way out: reopening where
    `CAMPAIGN_TRANSITIONS` allows it (today neither status may go back to active), else another campaign.
    """
    if status in _READ_ONLY:
        blocked = (
            f"This campaign is {status}, so its {items} are read-only: none can be added, changed or removed."
        )
    elif action == "add" and status in _CLOSED_TO_NEW:
        blocked = (
            f"This campaign is {status}, so no new {items} can be added (existing ones can still be updated)."
        )
    else:
        return
    if CampaignStatus.ACTIVE in CAMPAIGN_TRANSITIONS.get(CampaignStatus(status), frozenset()):
        remedy = f"Reopen it (set it to active) to {action} {items}."
    elif action == "add":
        remedy = f"{status.capitalize()} campaigns cannot be reopened; add new {items} to another campaign."
    else:
        remedy = f"{status.capitalize()} campaigns cannot be reopened; they stay as they are, for reporting."
    raise ConflictError(
        f"{blocked} {remedy}", code=ErrorCode.CAMPAIGN_FINISHED, extra={"campaign_status": status}
    )


def campaign_blocks_change(status: str, *, items: str) -> str | None:
    """Why a campaign in `status` lets none of its `items` change (the detail of
    `ensure_campaign_accepts`), or `None`: the reason an action on them is unavailable."""
    try:
        ensure_campaign_accepts(status, action="change", items=items)
    except ConflictError as exc:
        return exc.detail
    return None


ItemT = TypeVar("ItemT", bound=CampaignScopedBase)


async def campaign_item(
    session: AsyncSession, model: type[ItemT], campaign_id: UUID, item_id: UUID
) -> tuple[ItemT, str] | None:
    """A post, to-do or booking of the campaign, with the campaign's status, in one statement.

    The campaign's row is share-locked until commit (see `visible_campaign`), so the status the
    caller checks with `ensure_campaign_accepts` still holds when it writes.
    """
    statement = (
        select(model, Campaign.status)
        .join(Campaign, Campaign.id == model.campaign_id)
        .where(model.id == item_id, model.campaign_id == campaign_id)
        .with_for_update(read=True, of=Campaign)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


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


def _conditions(team_id: UUID, filters: CampaignFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Campaign.team_id == team_id]
    if filters.search:
        conditions.append(contains_ignoring_case(Campaign.name, filters.search))
    if filters.status is not None:
        conditions.append(Campaign.status == filters.status.value)
    if filters.brand_id is not None:
        conditions.append(Campaign.brand_id == filters.brand_id)
    if filters.start_after is not None:
        conditions.append(Campaign.start_date >= filters.start_after)
    if filters.start_before is not None:
        conditions.append(Campaign.start_date <= filters.start_before)
    if filters.end_after is not None:
        conditions.append(Campaign.end_date >= filters.end_after)
    if filters.end_before is not None:
        conditions.append(Campaign.end_date <= filters.end_before)
    return conditions


class CampaignService(SQLAlchemyAsyncRepositoryService[Campaign]):
    class Repo(SQLAlchemyAsyncRepository[Campaign]):
        model_type = Campaign

        def readable(self) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every campaign read starts from; RLS limits it to the team (and a guest's list)."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        async def list_page(
            self, *, team_id: UUID, page: Page, sort: CampaignSort, order: SortOrder, filters: CampaignFilters
        ) -> tuple[list[CampaignRead], int]:
            conditions = _conditions(team_id, filters)
            statement = (
                self.readable()
                .where(*conditions)
                .order_by(ordered(_sort_column(sort), order).nulls_last(), Campaign.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=CampaignRead)

        async def read_one(self, campaign_id: UUID) -> CampaignRead:
            return await fetch_one(
                self.session,
                self.readable().where(Campaign.id == campaign_id),
                schema=CampaignRead,
                missing="Campaign not found.",
            )

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


# --- Campaign creators ----------------------------------------------------------------------

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


# --- Guest access ---------------------------------------------------------------------------

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
