"""The team feed's cost per page stays flat as the feed grows: capped total, keyset cursor.

Checked by plan and query count, never by time (speed lives in benchmarks).
"""

from __future__ import annotations

import json
from typing import Any

from app.db.engine import tenant_session
from app.db.tenancy import TenantContext
from app.events.feed import TOTAL_CAP
from tests.conftest import ApiClient
from tests.roundtrips import RoundTripCounter

FEED_SIZE = TOTAL_CAP + 500


async def fill_feed(owner_connection, team_id, count: int = FEED_SIZE) -> None:
    await owner_connection.execute(
        "INSERT INTO events (id, team_id, actor_id, object_type, object_id, event_type, changes, created_at, updated_at) "
        "SELECT gen_random_uuid(), $1, NULL, 'brand', gen_random_uuid(), 'created', NULL, "
        "now() - make_interval(secs => n), now() FROM generate_series(1, $2) AS n",
        team_id,
        count,
    )
    await owner_connection.execute("ANALYZE events")  # as autovacuum would, after a burst of writes


async def test_the_total_is_capped_and_flagged(
    authenticated_client: ApiClient, team, owner_connection
) -> None:
    await fill_feed(owner_connection, team.id)
    body = (await authenticated_client.get(f"/api/teams/{team.id}/events?limit=10")).json()
    assert body["total"] == TOTAL_CAP + 1
    assert body["total_exact"] is False
    small = (
        await authenticated_client.get(f"/api/teams/{team.id}/events?limit=10&event_type=deleted")
    ).json()
    assert (small["total"], small["total_exact"], small["next_cursor"]) == (0, True, None)


async def test_the_cursor_walks_the_whole_feed_in_order(
    authenticated_client: ApiClient, team, owner_connection
) -> None:
    await fill_feed(owner_connection, team.id)
    seen: list[dict[str, Any]] = []
    url = f"/api/teams/{team.id}/events?limit=100"
    cursor: str | None = None
    while True:
        response = await authenticated_client.get(url + (f"&after={cursor}" if cursor else ""))
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len({item["id"] for item in seen}) == FEED_SIZE
    stamps = [item["created_at"] for item in seen]
    assert stamps == sorted(stamps, reverse=True)


async def test_a_foreign_cursor_is_a_400_naming_after(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.get(f"/api/teams/{team.id}/events?after=not-a-cursor")
    assert response.status_code == 400
    assert response.json()["errors"][0]["key"] == "after"


async def test_a_cursor_does_not_cross_teams(multi_team_setup, owner_connection) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    await fill_feed(owner_connection, a.team.id, count=30)
    cursor = (await a.owner_client.get(f"/api/teams/{a.team.id}/events?limit=10")).json()["next_cursor"]
    response = await b.owner_client.get(f"/api/teams/{a.team.id}/events?after={cursor}")
    assert response.status_code == 404
    other = (await b.owner_client.get(f"/api/teams/{b.team.id}/events?after={cursor}")).json()
    assert other["items"] == []


async def test_a_deep_page_costs_the_queries_and_rows_of_the_first(
    app, authenticated_client: ApiClient, team, owner_connection, round_trips: RoundTripCounter
) -> None:
    await fill_feed(owner_connection, team.id)
    first = (await authenticated_client.get(f"/api/teams/{team.id}/events?limit=50")).json()
    page = first
    for _ in range(20):  # 1,000 events deep
        page = (
            await authenticated_client.get(
                f"/api/teams/{team.id}/events?limit=50&after={page['next_cursor']}"
            )
        ).json()
    round_trips.reset()
    await authenticated_client.get(f"/api/teams/{team.id}/events?limit=50")
    shallow = round_trips.steady_entries()
    round_trips.reset()
    await authenticated_client.get(f"/api/teams/{team.id}/events?limit=50&after={page['next_cursor']}")
    deep = round_trips.steady_entries()
    assert len(deep) == len(shallow)

    statement, parameters = next((sql, arguments) for _, sql, arguments in deep if "FROM events" in sql)
    assert "OVER ()" not in statement
    async with tenant_session(app.state.session_maker, TenantContext(team_id=team.id)) as session:
        raw = await (await session.connection()).get_raw_connection()
        plan = await raw.driver_connection.fetchval(  # pyright: ignore[reportOptionalMemberAccess]
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *parameters
        )
    plan = json.loads(plan) if isinstance(plan, str) else plan
    rows_read = _max_actual_rows(plan[0]["Plan"])
    assert rows_read <= TOTAL_CAP + 1, json.dumps(plan, indent=1)  # not the 1,500 of the whole feed


def _max_actual_rows(node: dict[str, Any]) -> float:
    own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
    return max([own, *(_max_actual_rows(child) for child in node.get("Plans", []))])
