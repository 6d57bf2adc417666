"""Brands: the team-scoped pattern. Every endpoint: happy path, bad input, another team's user."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext, set_tenant
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import BrandFactory


def brands_url(team_id, brand_id=None) -> str:
    base = f"/api/teams/{team_id}/brands"
    return f"{base}/{brand_id}" if brand_id else base


async def test_create_and_get_a_brand(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        brands_url(team.id),
        json={"name": "  Acme  ", "website": "https://acme.com", "description": "Rockets"},
    )
    assert response.status_code == 201, response.text
    brand = response.json()
    assert (brand["name"], brand["version"], brand["team_id"]) == ("Acme", 1, str(team.id))

    fetched = await authenticated_client.get(brands_url(team.id, brand["id"]))
    assert fetched.status_code == 200
    assert fetched.json() == brand


async def test_create_brand_rejects_bad_input(authenticated_client: ApiClient, team) -> None:
    for body in (
        {},
        {"name": ""},
        {"name": "A", "website": "ftp://nope"},
        {"name": "A", "team_id": str(team.id)},
    ):
        response = await authenticated_client.post(brands_url(team.id), json=body)
        assert response.status_code == 400, body
    assert (await authenticated_client.get(brands_url(team.id))).json()["total"] == 0


async def test_brand_names_are_unique_per_team_ignoring_case(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    assert (await a.owner_client.post(brands_url(a.team.id), json={"name": "Acme"})).status_code == 201
    clash = await a.member_client.post(brands_url(a.team.id), json={"name": "ACME"})
    assert clash.status_code == 409
    assert "already exists" in clash.json()["detail"]
    # Another team may use the same name.
    assert (await b.owner_client.post(brands_url(b.team.id), json={"name": "Acme"})).status_code == 201


async def test_update_is_declarative_and_versioned(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id, name="Old")
    url = brands_url(team.id, brand.id)

    partial = await authenticated_client.put(url, json={"name": "New", "version": 1})
    assert partial.status_code == 400

    body = {"name": "New", "website": None, "description": None, "version": 1}
    updated = await authenticated_client.put(url, json=body)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["website"], updated.json()["version"]) == ("New", None, 2)

    stale = await authenticated_client.put(url, json={**body, "name": "Lost"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert (await authenticated_client.get(url)).json()["name"] == "New"


async def test_update_to_a_taken_name_is_a_conflict(authenticated_client: ApiClient, team) -> None:
    await BrandFactory.create_async(team_id=team.id, name="Taken")
    brand = await BrandFactory.create_async(team_id=team.id, name="Mine")
    response = await authenticated_client.put(
        brands_url(team.id, brand.id),
        json={"name": "taken", "website": None, "description": None, "version": 1},
    )
    assert response.status_code == 409
    renamed_case = await authenticated_client.put(
        brands_url(team.id, brand.id),
        json={"name": "MINE", "website": None, "description": None, "version": 1},
    )
    assert renamed_case.status_code == 200


async def test_delete_needs_admin(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    assert (await a.member_client.delete(brands_url(a.team.id, brand.id))).status_code == 403
    assert (await a.owner_client.delete(brands_url(a.team.id, brand.id))).status_code == 204
    assert (await a.owner_client.get(brands_url(a.team.id, brand.id))).status_code == 404
    assert (await a.owner_client.delete(brands_url(a.team.id, brand.id))).status_code == 404


async def test_another_teams_user_gets_404_and_no_data(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    brand = await BrandFactory.create_async(team_id=b.team.id, name="Secret Brand")
    update = {"name": "Hacked", "website": None, "description": None, "version": 1}
    attempts = [
        ("GET", brands_url(b.team.id), None),
        ("POST", brands_url(b.team.id), {"name": "Injected"}),
        ("GET", brands_url(b.team.id, brand.id), None),
        ("PUT", brands_url(b.team.id, brand.id), update),
        ("DELETE", brands_url(b.team.id, brand.id), None),
        # Through their own team's path, with the other team's brand id:
        ("GET", brands_url(a.team.id, brand.id), None),
        ("PUT", brands_url(a.team.id, brand.id), update),
        ("DELETE", brands_url(a.team.id, brand.id), None),
    ]
    for method, url, body in attempts:
        response = await a.owner_client.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert "Secret Brand" not in response.text
    own_list = await a.owner_client.get(brands_url(a.team.id))
    assert own_list.json()["items"] == []
    still_there = await b.owner_client.get(brands_url(b.team.id, brand.id))
    assert still_there.json()["name"] == "Secret Brand"
    assert (await b.owner_client.get(brands_url(b.team.id))).json()["total"] == 1


async def test_list_paginates_sorts_and_searches(authenticated_client: ApiClient, team) -> None:
    for name in ("Delta", "alpha", "Charlie", "bravo", "Alphabet Soup"):
        await BrandFactory.create_async(team_id=team.id, name=name)

    first = (await authenticated_client.get(brands_url(team.id) + "?limit=2")).json()
    assert [b["name"] for b in first["items"]] == ["alpha", "Alphabet Soup"]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)

    second = (await authenticated_client.get(brands_url(team.id) + "?limit=2&offset=2")).json()
    assert [b["name"] for b in second["items"]] == ["bravo", "Charlie"]

    desc = (await authenticated_client.get(brands_url(team.id) + "?order=desc&limit=1")).json()
    assert desc["items"][0]["name"] == "Delta"

    newest = (
        await authenticated_client.get(brands_url(team.id) + "?sort=created_at&order=desc&limit=1")
    ).json()
    assert newest["items"][0]["name"] == "Alphabet Soup"

    found = (await authenticated_client.get(brands_url(team.id) + "?q=ALPHA")).json()
    assert [b["name"] for b in found["items"]] == ["alpha", "Alphabet Soup"]
    assert found["total"] == 2

    literal = (await authenticated_client.get(brands_url(team.id) + "?q=%25")).json()
    assert literal["total"] == 0  # '%' is searched for, not used as a wildcard

    past_the_end = (await authenticated_client.get(brands_url(team.id) + "?offset=50")).json()
    assert (past_the_end["items"], past_the_end["total"]) == ([], 5)


async def test_list_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    await BrandFactory.create_async(team_id=team.id)
    query_counter.reset()
    await authenticated_client.get(brands_url(team.id) + "?limit=100")
    with_one = query_counter.count

    for _ in range(30):
        await BrandFactory.create_async(team_id=team.id)
    query_counter.reset()
    response = await authenticated_client.get(brands_url(team.id) + "?limit=100")
    assert response.json()["total"] == 31
    assert query_counter.count == with_one <= 3  # context, membership, the page with its total


async def test_rows_are_invisible_to_a_direct_query_as_the_app_role_of_another_team(
    db_session: AsyncSession, multi_team_setup: MultiTeamSetup
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    await BrandFactory.create_async(team_id=b.team.id)
    set_tenant(db_session, TenantContext(user_id=a.owner.id, team_id=a.team.id))
    count = await db_session.execute(text("SELECT count(*) FROM brands WHERE team_id = :t"), {"t": b.team.id})
    assert count.scalar_one() == 0


async def test_a_request_that_fails_leaves_no_connection_behind(
    app: Litestar, multi_team_setup: MultiTeamSetup
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    assert (await a.owner_client.get(brands_url(b.team.id))).status_code == 404
    assert app.state.engine.pool.checkedout() == 0
