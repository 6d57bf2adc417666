"""The team dashboard in one statement, whatever the team's size."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID
from sqlalchemy import ColumnElement, Date, Select, Text, and_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign, CampaignCreator
from app.campaigns.schemas import CampaignStatus
from app.dashboard.schemas import CurrencyTotals, MediaStorage, TeamDashboard
from app.db.reads import CompiledRead, fetch_prepared, prepare
from app.media.services import storage_used
from app.posts.models import Post
from app.posts.schemas import PostStatus
from app.todos.models import Todo
from app.todos.services import overdue_condition, today

ZERO = Decimal("0.00")
TeamId = ColumnElement[UUID]
"""The team id as the statement sees it: a bound parameter, filled per request."""


class DashboardService:
    """Not a repository service: it owns no table, it only aggregates the others.

    The whole dashboard is one statement (five scalar subqueries), so a request costs BEGIN,
    the membership statement, this, COMMIT.
    """

    def __init__(self, session: AsyncSession, *, quota_bytes: int) -> None:
        self.session = session
        self.quota_bytes = quota_bytes

    async def team_dashboard(self, team_id: UUID) -> TeamDashboard:
        as_of = today()
        records = await fetch_prepared(self.session, _dashboard(), {"team_id": team_id, "as_of": as_of})
        campaigns, posts, money, overdue, storage = records[0]
        return TeamDashboard(
            campaigns_by_status=_counts(campaigns, CampaignStatus),
            posts_by_status=_counts(posts, PostStatus),
            money=[_totals(*row) for row in money or ()],
            overdue_todos=int(overdue),
            storage=MediaStorage(
                used_bytes=int(storage["used_bytes"]),
                files=int(storage["files"]),
                quota_bytes=self.quota_bytes,
            ),
            as_of=as_of,
        )


@functools.cache
def _dashboard() -> CompiledRead:
    """The statement, built and compiled on first use; only `team_id` and `as_of` vary."""
    team_id = bindparam("team_id", type_=GUID)
    as_of = bindparam("as_of", type_=Date)
    return prepare(_dashboard_statement(team_id, as_of))


def _dashboard_statement(team_id: TeamId, as_of: ColumnElement[date]) -> Select[Any, Any, Any, int, Any]:
    return select(
        _status_counts(Campaign.status, Campaign.team_id == team_id).label("campaigns"),
        _status_counts(Post.status, Post.team_id == team_id).label("posts"),
        _money(team_id).label("money"),
        select(func.count())
        .select_from(Todo)
        .where(Todo.team_id == team_id, overdue_condition(as_of))
        .scalar_subquery()
        .label("overdue"),
        _storage(team_id).label("storage"),
    )


def _storage(team_id: TeamId) -> Any:
    used = storage_used(team_id).subquery()
    return select(
        func.json_build_object("used_bytes", used.c.used_bytes, "files", used.c.files)
    ).scalar_subquery()


def _status_counts(column: Any, condition: ColumnElement[bool]) -> Any:
    counts = (
        select(column.label("status"), func.count().label("n")).where(condition).group_by(column).subquery()
    )
    return select(func.json_object_agg(counts.c.status, counts.c.n)).scalar_subquery()


def _money(team_id: TeamId) -> Any:
    """Per currency over the campaigns not archived: budget, committed (every booking's fee) and
    spent (the fees of bookings with a published post on their campaign). The published pairs
    are collected once and joined, rather than probed with an EXISTS per booking."""
    published = (
        select(Post.campaign_id, Post.creator_id)
        .where(Post.team_id == team_id, Post.status == PostStatus.PUBLISHED.value)
        .distinct()
        .cte("published")
        .prefix_with("MATERIALIZED")
    )
    fees = (
        select(
            CampaignCreator.campaign_id,
            func.sum(CampaignCreator.agreed_fee).label("committed"),
            func.sum(CampaignCreator.agreed_fee).filter(published.c.campaign_id.is_not(None)).label("spent"),
        )
        .outerjoin(
            published,
            and_(
                published.c.campaign_id == CampaignCreator.campaign_id,
                published.c.creator_id == CampaignCreator.creator_id,
            ),
        )
        .where(CampaignCreator.team_id == team_id)
        .group_by(CampaignCreator.campaign_id)
        .cte("fees")
        .prefix_with("MATERIALIZED")  # computed once: RLS hides row counts from the planner, whose
        # nested loop would otherwise re-run this aggregate for every campaign
    )
    per_currency = (
        select(
            Campaign.currency.label("currency"),
            func.sum(Campaign.budget).label("budget"),
            func.coalesce(func.sum(fees.c.committed), 0).label("committed"),
            func.coalesce(func.sum(fees.c.spent), 0).label("spent"),
        )
        .outerjoin(fees, fees.c.campaign_id == Campaign.id)
        .where(Campaign.team_id == team_id, Campaign.status != CampaignStatus.ARCHIVED.value)
        .group_by(Campaign.currency)
        .subquery()
    )
    row = func.json_build_array(
        per_currency.c.currency,
        cast(per_currency.c.budget, Text),  # as text: JSON numbers would lose the cents' exactness
        cast(per_currency.c.committed, Text),
        cast(per_currency.c.spent, Text),
    )
    return select(func.json_agg(aggregate_order_by(row, per_currency.c.currency))).scalar_subquery()


def _counts(counted: dict[str, int] | None, statuses: Any) -> dict[Any, int]:
    counts = dict.fromkeys(statuses, 0)
    for status, count in (counted or {}).items():
        counts[statuses(status)] = int(count)
    return counts


def _totals(currency: str, budget: str, committed: str, spent: str) -> CurrencyTotals:
    amounts = [Decimal(value).quantize(ZERO) for value in (budget, committed, spent)]
    return CurrencyTotals(
        currency=currency,
        budget=amounts[0],
        committed=amounts[1],
        spent=amounts[2],
        remaining=amounts[0] - amounts[1],
    )
