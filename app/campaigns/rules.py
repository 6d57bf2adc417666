"""What a campaign's status allows, shared by every domain that works inside a campaign.

`CAMPAIGN_TRANSITIONS` is where a campaign may move; `ensure_campaign_accepts` says whether a
campaign in some status takes new, changed or removed posts, to-dos, bookings and media (the rule
itself is in the package docstring, app/campaigns/__init__.py). `visible_campaign` and
`campaign_item` read a campaign, or one of its items with its status, share-locking the
campaign's row so that status still holds when the caller writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign
from app.campaigns.schemas import CampaignStatus
from app.db.base import CampaignScopedBase
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError

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
