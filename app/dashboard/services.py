"""The team dashboard in a fixed number of queries (four), whatever the team's size."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign, CampaignCreator
from app.campaigns.schemas import CampaignStatus
from app.dashboard.schemas import CurrencyTotals, TeamDashboard
from app.posts.models import Post
from app.posts.schemas import PostStatus
from app.todos.models import Todo
from app.todos.services import overdue_condition, today

ZERO = Decimal("0.00")


class DashboardService:
    """Not a repository service: it owns no table, it only aggregates the others."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def team_dashboard(self, team_id: UUID) -> TeamDashboard:
        as_of = today()
        return TeamDashboard(
            campaigns_by_status=await self._counts(
                Campaign.status, Campaign.team_id == team_id, CampaignStatus
            ),
            posts_by_status=await self._counts(Post.status, Post.team_id == team_id, PostStatus),
            money=await self._money(team_id),
            overdue_todos=await self._overdue(team_id, as_of),
            as_of=as_of,
        )

    async def _counts(self, column: Any, condition: Any, statuses: Any) -> dict[Any, int]:
        rows = await self.session.execute(select(column, func.count()).where(condition).group_by(column))
        counts = dict.fromkeys(statuses, 0)
        for status, count in rows:
            counts[statuses(status)] = int(count)
        return counts

    async def _money(self, team_id: UUID) -> list[CurrencyTotals]:
        published = exists().where(
            Post.campaign_id == CampaignCreator.campaign_id,
            Post.creator_id == CampaignCreator.creator_id,
            Post.status == PostStatus.PUBLISHED.value,
        )
        fees = (
            select(
                CampaignCreator.campaign_id,
                func.sum(CampaignCreator.agreed_fee).label("committed"),
                func.coalesce(func.sum(CampaignCreator.agreed_fee).filter(published), 0).label("spent"),
            )
            .where(CampaignCreator.team_id == team_id)
            .group_by(CampaignCreator.campaign_id)
            .subquery()
        )
        statement = (
            select(
                Campaign.currency,
                func.sum(Campaign.budget),
                func.coalesce(func.sum(fees.c.committed), 0),
                func.coalesce(func.sum(fees.c.spent), 0),
            )
            .outerjoin(fees, fees.c.campaign_id == Campaign.id)
            .where(and_(Campaign.team_id == team_id, Campaign.status != CampaignStatus.ARCHIVED.value))
            .group_by(Campaign.currency)
            .order_by(Campaign.currency)
        )
        totals = []
        for currency, budget, committed, spent in await self.session.execute(statement):
            budget, committed, spent = (Decimal(value).quantize(ZERO) for value in (budget, committed, spent))
            totals.append(
                CurrencyTotals(
                    currency=currency,
                    budget=budget,
                    committed=committed,
                    spent=spent,
                    remaining=budget - committed,
                )
            )
        return totals

    async def _overdue(self, team_id: UUID, as_of: Any) -> int:
        statement = (
            select(func.count()).select_from(Todo).where(Todo.team_id == team_id, overdue_condition(as_of))
        )
        return int((await self.session.execute(statement)).scalar_one())
