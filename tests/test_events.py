"""Activity events: written with every change, immutable, readable as a feed per team and object."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext, set_tenant
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import BrandFactory, UserFactory


def events_url(team_id, object_type=None, object_id=None) -> str:
    base = f"/api/teams/{team_id}/events"
    return f"{base}/{object_type}/{object_id}" if object_type else base


async def test_brand_changes_are_recorded_with_field_changes(
    authenticated_client: ApiClient, team, user
) -> None:
    created = (await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": "Acme"})).json()
    url = f"/api/teams/{team.id}/brands/{created['id']}"
    body = {"name": "Acme Corp", "website": None, "description": "Rockets", "version": 1}
    assert (await authenticated_client.put(url, json=body)).status_code == 200
    assert (await authenticated_client.delete(url)).status_code == 204

    feed = (await authenticated_client.get(events_url(team.id, "brand", created["id"]))).json()
    assert [e["event_type"] for e in feed["items"]] == ["deleted", "updated", "created"]
    assert feed["total"] == 3
    updated = feed["items"][1]
    assert updated["changes"] == {
        "name": {"old": "Acme", "new": "Acme Corp"},
        "description": {"old": None, "new": "Rockets"},
    }
    assert updated["actor_id"] == str(user.id)
    assert feed["items"][2]["changes"]["name"] == {"old": None, "new": "Acme"}


async def test_an_update_that_changes_nothing_records_nothing(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id, name="Same", website=None, description=None)
    body = {"name": "Same", "website": None, "description": None, "version": 1}
    assert (
        await authenticated_client.put(f"/api/teams/{team.id}/brands/{brand.id}", json=body)
    ).status_code == 200
    assert (await authenticated_client.get(events_url(team.id, "brand", brand.id))).json()["total"] == 0


async def test_team_and_membership_changes_are_recorded(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    newcomer = await UserFactory.create_async()
    team_url = f"/api/teams/{a.team.id}"
    team = (await a.owner_client.get(team_url)).json()
    renamed = {"name": "Renamed", "description": None, "version": team["version"]}
    assert (await a.owner_client.put(team_url, json=renamed)).status_code == 200
    assert (
        await a.owner_client.post(f"{team_url}/members", json={"email": newcomer.email})
    ).status_code == 201
    assert (
        await a.owner_client.put(f"{team_url}/members/{newcomer.id}", json={"role": "admin"})
    ).status_code == 200
    assert (await a.owner_client.delete(f"{team_url}/members/{newcomer.id}")).status_code == 204

    member_feed = (await a.owner_client.get(events_url(a.team.id, "team_member", newcomer.id))).json()
    assert [(e["event_type"], e["changes"]["role"]) for e in member_feed["items"]] == [
        ("deleted", {"old": "admin", "new": None}),
        ("updated", {"old": "member", "new": "admin"}),
        ("created", {"old": None, "new": "member"}),
    ]
    team_feed = (await a.owner_client.get(events_url(a.team.id, "team", a.team.id))).json()
    assert team_feed["items"][0]["changes"]["name"]["new"] == "Renamed"


async def test_feed_filters_by_event_type_and_actor(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    url = f"/api/teams/{a.team.id}/brands"
    await a.owner_client.post(url, json={"name": "By owner"})
    by_member = (await a.member_client.post(url, json={"name": "By member"})).json()
    await a.member_client.put(
        f"{url}/{by_member['id']}",
        json={"name": "By member 2", "website": None, "description": None, "version": 1},
    )

    mine = (await a.owner_client.get(events_url(a.team.id) + f"?actor_id={a.member.id}")).json()
    assert {e["actor_id"] for e in mine["items"]} == {str(a.member.id)}
    assert mine["total"] == 2
    created = (await a.owner_client.get(events_url(a.team.id) + "?event_type=created")).json()
    assert created["total"] == 2
    assert (await a.owner_client.get(events_url(a.team.id) + "?event_type=exploded")).status_code == 400
    oldest = (await a.owner_client.get(events_url(a.team.id) + "?order=asc&limit=1")).json()
    assert oldest["items"][0]["changes"]["name"]["new"] == "By owner"


async def test_another_teams_user_sees_no_events(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    created = (await b.owner_client.post(f"/api/teams/{b.team.id}/brands", json={"name": "Secret"})).json()
    for url in (events_url(b.team.id), events_url(b.team.id, "brand", created["id"])):
        response = await a.owner_client.get(url)
        assert response.status_code == 404
        assert "Secret" not in response.text
    own = (await a.owner_client.get(events_url(a.team.id, "brand", created["id"]))).json()
    assert own["items"] == []


async def test_events_cannot_be_changed_or_deleted_by_the_app_role(
    db_session: AsyncSession, authenticated_client: ApiClient, team, user
) -> None:
    await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": "Acme"})
    set_tenant(db_session, TenantContext(user_id=user.id, team_id=team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM events"))).scalar_one() == 1
    for statement in ("UPDATE events SET event_type = 'deleted'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="permission denied"):
            await db_session.execute(text(statement))
        await db_session.rollback()


async def test_feed_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": "First"})
    query_counter.reset()
    await authenticated_client.get(events_url(team.id) + "?limit=100")
    with_one = query_counter.count
    for index in range(15):
        await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": f"Brand {index}"})
    query_counter.reset()
    response = await authenticated_client.get(events_url(team.id) + "?limit=100")
    assert response.json()["total"] == 16
    assert query_counter.count == with_one <= 3
