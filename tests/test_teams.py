"""Teams and memberships: roles, the last owner, and other teams' users seeing nothing."""

from __future__ import annotations

from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import (
    CampaignCreatorFactory,
    CampaignFactory,
    PostFactory,
    TeamFactory,
    TeamMemberFactory,
    UserFactory,
)


async def test_creating_a_team_makes_you_its_owner(client_for) -> None:
    client = client_for(await UserFactory.create_async())
    response = await client.post("/api/teams", json={"name": "Northwind Agency", "description": "We do ads"})
    assert response.status_code == 201, response.text
    team = response.json()
    assert team["role"] == "owner"
    assert team["version"] == 1

    listed = (await client.get("/api/teams")).json()
    assert [t["id"] for t in listed["items"]] == [team["id"]]
    assert listed["total"] == 1
    members = (await client.get(f"/api/teams/{team['id']}/members")).json()
    assert [m["role"] for m in members["items"]] == ["owner"]


async def test_create_team_rejects_bad_input(authenticated_client: ApiClient) -> None:
    assert (await authenticated_client.post("/api/teams", json={"name": "   "})).status_code == 400
    assert (await authenticated_client.post("/api/teams", json={})).status_code == 400


async def test_list_teams_shows_only_mine_with_pagination(client_for) -> None:
    me = await UserFactory.create_async()
    for name in ("Alpha", "Bravo", "Charlie"):
        await TeamFactory.create_with_owner(me, name=name)
    await TeamFactory.create_with_owner(await UserFactory.create_async(), name="Not mine")

    page = (await client_for(me).get("/api/teams?limit=2&offset=1")).json()
    assert [t["name"] for t in page["items"]] == ["Bravo", "Charlie"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    beyond = (await client_for(me).get("/api/teams?offset=10")).json()
    assert beyond["items"] == []
    assert beyond["total"] == 3


async def test_other_teams_are_not_found(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    for method, path, body in [
        ("GET", f"/api/teams/{b.team.id}", None),
        ("PUT", f"/api/teams/{b.team.id}", {"name": "Hijacked", "description": None, "version": 1}),
        ("DELETE", f"/api/teams/{b.team.id}", None),
        ("GET", f"/api/teams/{b.team.id}/members", None),
        ("POST", f"/api/teams/{b.team.id}/members", {"email": a.member.email}),
        ("PUT", f"/api/teams/{b.team.id}/members/{b.member.id}", {"role": "admin"}),
        ("DELETE", f"/api/teams/{b.team.id}/members/{b.member.id}", None),
    ]:
        response = await a.owner_client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert b.team.name not in response.text
    assert (await b.owner_client.get(f"/api/teams/{b.team.id}")).json()["name"] == b.team.name


async def test_unknown_team_is_the_same_404_as_a_foreign_one(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    foreign = await a.owner_client.get(f"/api/teams/{b.team.id}")
    missing = await a.owner_client.get("/api/teams/00000000-0000-7000-8000-000000000000")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


async def test_update_team_needs_admin_and_the_current_version(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    url = f"/api/teams/{a.team.id}"
    forbidden = await a.member_client.put(url, json={"name": "X", "description": None, "version": 1})
    assert forbidden.status_code == 403

    updated = await a.owner_client.put(url, json={"name": "Renamed", "description": "new", "version": 1})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2

    stale = await a.owner_client.put(url, json={"name": "Lost update", "description": None, "version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert (await a.owner_client.get(url)).json()["name"] == "Renamed"

    partial = await a.owner_client.put(url, json={"name": "No version"})
    assert partial.status_code == 400


async def test_only_owners_delete_a_team(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    assert (await a.member_client.delete(f"/api/teams/{a.team.id}")).status_code == 403
    assert (await a.owner_client.delete(f"/api/teams/{a.team.id}")).status_code == 204
    assert (await a.owner_client.get(f"/api/teams/{a.team.id}")).status_code == 404
    assert (await b.owner_client.get(f"/api/teams/{b.team.id}")).status_code == 200


async def test_a_team_with_booked_creators_and_posts_can_be_deleted(
    multi_team_setup: MultiTeamSetup, owner_connection
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    await PostFactory.for_booking(booking)
    kept = await CampaignCreatorFactory.book(await CampaignFactory.create_async(team_id=b.team.id))
    response = await a.owner_client.delete(f"/api/teams/{a.team.id}")
    assert response.status_code == 204, response.text
    for table in ("creators", "campaigns", "campaign_creators", "posts"):
        assert (
            await owner_connection.fetchval(f"SELECT count(*) FROM {table} WHERE team_id = $1", a.team.id)
            == 0
        )
    assert (
        await owner_connection.fetchval("SELECT count(*) FROM campaign_creators WHERE id = $1", kept.id) == 1
    )
    # A booked creator on its own is still refused, by the roster's own check.
    refused = await b.owner_client.delete(f"/api/teams/{b.team.id}/creators/{kept.creator_id}")
    assert refused.status_code == 409, refused.text


async def test_admins_add_existing_users_by_email(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    newcomer = await UserFactory.create_async()
    url = f"/api/teams/{a.team.id}/members"

    assert (await a.member_client.post(url, json={"email": newcomer.email})).status_code == 403
    added = await a.owner_client.post(url, json={"email": newcomer.email.upper(), "role": "admin"})
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "admin"

    duplicate = await a.owner_client.post(url, json={"email": newcomer.email})
    assert duplicate.status_code == 409
    unknown = await a.owner_client.post(url, json={"email": "ghost@example.com"})
    assert unknown.status_code == 422
    bad_role = await a.owner_client.post(url, json={"email": newcomer.email, "role": "emperor"})
    assert bad_role.status_code == 400
    assert (await a.owner_client.get(url)).json()["total"] == 3


async def test_only_owners_grant_ownership(multi_team_setup: MultiTeamSetup, client_for) -> None:
    a = multi_team_setup.a
    admin = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=admin.id, role="admin")
    admin_client = client_for(admin)

    refused = await admin_client.put(f"/api/teams/{a.team.id}/members/{a.member.id}", json={"role": "owner"})
    assert refused.status_code == 403
    promoted = await a.owner_client.put(
        f"/api/teams/{a.team.id}/members/{a.member.id}", json={"role": "owner"}
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"


async def test_a_team_keeps_at_least_one_owner(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    demote = await a.owner_client.put(f"/api/teams/{a.team.id}/members/{a.owner.id}", json={"role": "member"})
    assert demote.status_code == 409
    assert "at least one owner" in demote.json()["detail"]
    leave = await a.owner_client.delete(f"/api/teams/{a.team.id}/members/{a.owner.id}")
    assert leave.status_code == 409

    await a.owner_client.put(f"/api/teams/{a.team.id}/members/{a.member.id}", json={"role": "owner"})
    assert (await a.owner_client.delete(f"/api/teams/{a.team.id}/members/{a.owner.id}")).status_code == 204
    assert (await a.owner_client.get(f"/api/teams/{a.team.id}")).status_code == 404


async def test_members_leave_but_cannot_remove_others(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    other = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=other.id)

    assert (await a.member_client.delete(f"/api/teams/{a.team.id}/members/{other.id}")).status_code == 403
    assert (await a.member_client.delete(f"/api/teams/{a.team.id}/members/{a.member.id}")).status_code == 204
    assert (await a.member_client.get(f"/api/teams/{a.team.id}")).status_code == 404
    assert (await a.owner_client.delete(f"/api/teams/{a.team.id}/members/{a.member.id}")).status_code == 404


async def test_platform_admins_see_any_team(
    admin_client: ApiClient, multi_team_setup: MultiTeamSetup
) -> None:
    b = multi_team_setup.b
    response = await admin_client.get(f"/api/teams/{b.team.id}")
    assert response.status_code == 200
    assert response.json()["role"] is None
    assert (await admin_client.get(f"/api/teams/{b.team.id}/members")).json()["total"] == 2
    assert (await admin_client.get("/api/teams/00000000-0000-7000-8000-000000000000")).status_code == 404


async def test_member_list_costs_constant_queries(multi_team_setup: MultiTeamSetup, query_counter) -> None:
    a = multi_team_setup.a
    url = f"/api/teams/{a.team.id}/members?limit=100"
    query_counter.reset()
    await a.owner_client.get(url)
    small = query_counter.count
    for _ in range(10):
        user = await UserFactory.create_async()
        await TeamMemberFactory.create_async(team_id=a.team.id, user_id=user.id)
    query_counter.reset()
    response = await a.owner_client.get(url)
    assert response.json()["total"] == 12
    assert query_counter.count == small
