"""Query plans of the list and search reads, as the application role, on tables large enough that
PostgreSQL's choice matters: 60 other teams' rows around the caller's team.

Row-level security changes which indexes qualify (a policy runs before non-leakproof operators
such as ILIKE), so the plans are taken exactly as the API runs them: the statement and arguments
the API sent are recorded at the driver and EXPLAINed on an app-role session in the team's
context. Each list must reach its table through an index — never a sequential scan over
every team's rows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from app.db.engine import tenant_session
from app.db.reads import driver_connection
from app.db.tenancy import TenantContext
from bench.data import Sizes, _team, fill_team
from tests.conftest import ApiClient
from tests.roundtrips import RoundTripCounter

SIZES = Sizes(
    brands=50, creators=300, campaigns=30, bookings_per_campaign=5, todos_per_campaign=2, events=300
)
OTHER_TEAMS = 60


@pytest.fixture
async def crowded(owner_connection: asyncpg.Connection, team, user) -> dict[str, Any]:
    """`team` with a full workspace among 60 other teams' (about 60,000 rows), analyzed."""
    conn = owner_connection
    for index in range(OTHER_TEAMS):
        await _team(conn, f"plan-team-{index}", SIZES, hot_campaign=False)
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.team_id', $1, true)", str(team.id))
        await fill_team(conn, team.id, user.id, SIZES)
    await conn.execute("ANALYZE")
    campaign_id = await conn.fetchval("SELECT id FROM campaigns WHERE team_id = $1 LIMIT 1", team.id)
    return {"campaign": campaign_id}


LISTS = [
    ("ListBrands", "/brands?limit=100", "brands"),
    ("ListBrands (search)", "/brands?q=and%2001", "brands"),
    ("ListCreators", "/creators?limit=100", "creators"),
    ("ListCreators (search)", "/creators?q=ab", "creators"),
    ("ListCampaigns", "/campaigns?limit=100", "campaigns"),
    ("ListCampaigns (search)", "/campaigns?q=0001", "campaigns"),
    ("ListPosts", "/campaigns/{campaign}/posts?limit=100", "posts"),
    ("ListTodos", "/campaigns/{campaign}/todos?limit=100", "todos"),
    ("ListCampaignCreators", "/campaigns/{campaign}/creators?limit=100", "campaign_creators"),
    ("ListTeamEvents", "/events?limit=100", "events"),
]


async def test_lists_and_searches_reach_their_tables_through_an_index_as_the_app_role(
    app: Litestar, authenticated_client: ApiClient, team, user, crowded, round_trips: RoundTripCounter
) -> None:
    failures = []
    for operation, path, table in LISTS:
        round_trips.reset()
        response = await authenticated_client.get(f"/api/teams/{team.id}" + path.format(**crowded))
        assert response.status_code == 200, response.text
        sql, arguments = _the_read(round_trips, table)
        plan = await _explain(app, team.id, user.id, sql, arguments)
        scans = {node["Node Type"] for node in _nodes(plan) if node.get("Relation Name") == table}
        if not scans or "Seq Scan" in scans:
            failures.append(f"{operation}: {sorted(scans)}\n{json.dumps(plan, indent=1)[:1500]}")
    assert not failures, "\n\n".join(failures)


def _the_read(round_trips: RoundTripCounter, table: str) -> tuple[str, list[Any]]:
    """The statement after the membership one that reads `table` (the list itself)."""
    for kind, sql, arguments in round_trips.entries:
        if kind == "bind_execute" and f"FROM {table}" in sql and "set_config" not in sql:
            return sql, arguments
    raise AssertionError(f"no read of {table} among\n{round_trips!r}")


async def _explain(
    app: Litestar, team_id: uuid.UUID, user_id: uuid.UUID, sql: str, arguments: list[Any]
) -> Any:
    context = TenantContext(user_id=user_id, team_id=team_id)
    async with tenant_session(app.state.session_maker, context) as session:
        driver = await driver_connection(session)
        assert await driver.fetchval("SELECT current_user") == app.state.settings.database.app_user
        plan = await driver.fetchval("EXPLAIN (FORMAT JSON) " + sql, *arguments)
        return json.loads(plan) if isinstance(plan, str) else plan


def _nodes(plan: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.get("Plans", []))
    return found
