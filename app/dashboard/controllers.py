"""`GET /api/teams/{team_id}/dashboard` (members and up)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.dashboard.schemas import TeamDashboard
from app.dashboard.services import DashboardService
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS


def provide_dashboard(db_session: NamedDependency[AsyncSession], state: State) -> DashboardService:
    settings: Settings = state.settings
    return DashboardService(db_session, quota_bytes=settings.media.team_quota_bytes)


class DashboardController(Controller):
    path = "/api/teams/{team_id:uuid}/dashboard"
    tags = ["Dashboard"]
    dependencies = {"dashboard": Provide(provide_dashboard, sync_to_thread=False), **team_dependencies}

    @get("", operation_id="GetTeamDashboard", responses=TEAM_ROUTE_ERRORS)
    async def get_team_dashboard(
        self, team_access: NamedDependency[TeamAccess], dashboard: NamedDependency[DashboardService]
    ) -> TeamDashboard:
        """Campaigns and posts by status, money per currency (budget, committed, spent, remaining)
        over campaigns that are not archived, the number of overdue to-dos and the media storage
        used against the team's quota."""
        return await dashboard.team_dashboard(team_access.team_id)
