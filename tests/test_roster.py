"""The roster: creators with handles per platform, tags, archiving; another team sees nothing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext, set_tenant
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import CreatorFactory


def creators_url(team_id, creator_id=None) -> str:
    base = f"/api/teams/{team_id}/creators"
    return f"{base}/{creator_id}" if creator_id else base


def update_body(creator: dict, **changes) -> dict:
    fields = ("name", "handles", "follower_counts", "contact_email", "tags", "notes", "version")
    return {**{k: creator[k] for k in fields}, "archived": creator["archived_at"] is not None, **changes}


async def test_create_and_get_a_creator(authenticated_client: ApiClient, team) -> None:
    body = {
        "name": " Ada Lovelace ",
        "handles": {"instagram": "@ada", "tiktok": "@ada.codes"},
        "follower_counts": {"instagram": 120000, "tiktok": 5000},
        "contact_email": "Ada@Example.com",
        "tags": ["tech", "tech", "math"],
        "notes": "Prefers email.",
    }
    response = await authenticated_client.post(creators_url(team.id), json=body)
    assert response.status_code == 201, response.text
    creator = response.json()
    assert creator["name"] == "Ada Lovelace"
    assert creator["handles"] == {"instagram": "@ada", "tiktok": "@ada.codes"}
    assert creator["follower_counts"] == {"instagram": 120000, "tiktok": 5000}
    assert (creator["contact_email"], creator["tags"]) == ("ada@example.com", ["tech", "math"])
    assert (creator["archived_at"], creator["version"]) == (None, 1)
    fetched = await authenticated_client.get(creators_url(team.id, creator["id"]))
    assert fetched.json() == creator


async def test_create_creator_rejects_bad_input(authenticated_client: ApiClient, team) -> None:
    for body in (
        {},
        {"name": ""},
        {"name": "A", "handles": {"myspace": "@a"}},
        {"name": "A", "handles": {"instagram": "has space"}},
        {"name": "A", "follower_counts": {"instagram": -1}},
        {"name": "A", "contact_email": "not-an-email"},
        {"name": "A", "tags": [""]},
        {"name": "A", "archived_at": None},
    ):
        response = await authenticated_client.post(creators_url(team.id), json=body)
        assert response.status_code == 400, body
        assert response.json()["errors"], body
    assert (await authenticated_client.get(creators_url(team.id))).json()["total"] == 0


async def test_update_is_declarative_versioned_and_archives(authenticated_client: ApiClient, team) -> None:
    creator = (await authenticated_client.post(creators_url(team.id), json={"name": "Old"})).json()
    url = creators_url(team.id, creator["id"])
    assert (await authenticated_client.put(url, json={"name": "New", "version": 1})).status_code == 400

    archived = await authenticated_client.put(url, json=update_body(creator, name="New", archived=True))
    assert archived.status_code == 200, archived.text
    assert (archived.json()["name"], archived.json()["version"]) == ("New", 2)
    assert archived.json()["archived_at"] is not None

    stale = await authenticated_client.put(url, json=update_body(creator, name="Lost"))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert (await authenticated_client.get(url)).json()["name"] == "New"

    listed = (await authenticated_client.get(creators_url(team.id))).json()
    assert listed["total"] == 0
    with_archived = (await authenticated_client.get(creators_url(team.id) + "?include_archived=true")).json()
    assert [c["name"] for c in with_archived["items"]] == ["New"]

    restored = await authenticated_client.put(url, json=update_body(archived.json(), archived=False))
    assert restored.json()["archived_at"] is None
    history = (await authenticated_client.get(f"/api/teams/{team.id}/events/creator/{creator['id']}")).json()
    assert [e["event_type"] for e in history["items"]] == ["updated", "updated", "created"]
    assert history["items"][1]["changes"]["name"] == {"old": "Old", "new": "New"}
    assert history["items"][1]["changes"]["archived_at"]["old"] is None


async def test_list_filters_searches_sorts_and_paginates(authenticated_client: ApiClient, team) -> None:
    await CreatorFactory.create_async(team_id=team.id, name="Bea", tags=["food"], handles={"tiktok": "@bea"})
    await CreatorFactory.create_async(team_id=team.id, name="alice", tags=["tech", "food"])
    await CreatorFactory.create_async(team_id=team.id, name="Carl", tags=["tech"], handles={"youtube": "@c"})
    url = creators_url(team.id)

    first = (await authenticated_client.get(url + "?limit=2")).json()
    assert ([c["name"] for c in first["items"]], first["total"]) == (["alice", "Bea"], 3)
    assert [c["name"] for c in (await authenticated_client.get(url + "?offset=2")).json()["items"]] == [
        "Carl"
    ]
    assert (await authenticated_client.get(url + "?order=desc&limit=1")).json()["items"][0]["name"] == "Carl"
    newest = (await authenticated_client.get(url + "?sort=created_at&order=desc&limit=1")).json()
    assert newest["items"][0]["name"] == "Carl"
    food = (await authenticated_client.get(url + "?tag=food")).json()
    assert [c["name"] for c in food["items"]] == ["alice", "Bea"]
    tiktok = (await authenticated_client.get(url + "?platform=tiktok")).json()
    assert [c["name"] for c in tiktok["items"]] == ["Bea"]
    assert (await authenticated_client.get(url + "?q=AL")).json()["total"] == 1
    assert (await authenticated_client.get(url + "?q=&tag=")).json()["total"] == 3  # empty: no filter
    assert (await authenticated_client.get(url + "?platform=myspace")).status_code == 400
    assert (await authenticated_client.get(url + "?sort=followers")).status_code == 400


async def test_delete_needs_admin_and_removes_the_creator(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    creator = await CreatorFactory.create_async(team_id=a.team.id)
    url = creators_url(a.team.id, creator.id)
    assert (await a.member_client.delete(url)).status_code == 403
    assert (await a.owner_client.delete(url)).status_code == 204
    assert (await a.owner_client.get(url)).status_code == 404
    assert (await a.owner_client.delete(url)).status_code == 404


async def test_another_teams_user_gets_404_and_no_data(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    creator = await CreatorFactory.create_async(team_id=b.team.id, name="Secret Creator")
    body = {
        "name": "Hacked",
        "handles": {},
        "follower_counts": {},
        "contact_email": None,
        "tags": [],
        "notes": None,
        "archived": False,
        "version": 1,
    }
    attempts = [
        ("GET", creators_url(b.team.id), None),
        ("POST", creators_url(b.team.id), {"name": "Injected"}),
        ("GET", creators_url(b.team.id, creator.id), None),
        ("PUT", creators_url(b.team.id, creator.id), body),
        ("DELETE", creators_url(b.team.id, creator.id), None),
        ("GET", creators_url(a.team.id, creator.id), None),
        ("PUT", creators_url(a.team.id, creator.id), body),
        ("DELETE", creators_url(a.team.id, creator.id), None),
    ]
    for method, url, payload in attempts:
        response = await a.owner_client.request(method, url, json=payload)
        assert response.status_code == 404, (method, url, response.text)
        assert "Secret Creator" not in response.text
    assert (await a.owner_client.get(creators_url(a.team.id))).json()["items"] == []
    assert (await b.owner_client.get(creators_url(b.team.id, creator.id))).json()["name"] == "Secret Creator"


async def test_list_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    await CreatorFactory.create_async(team_id=team.id)
    query_counter.reset()
    await authenticated_client.get(creators_url(team.id) + "?limit=100")
    with_one = query_counter.count
    for _ in range(20):
        await CreatorFactory.create_async(team_id=team.id)
    query_counter.reset()
    response = await authenticated_client.get(creators_url(team.id) + "?limit=100")
    assert response.json()["total"] == 21
    assert query_counter.count == with_one <= 3


async def test_rows_are_invisible_to_a_direct_query_of_another_team(
    db_session: AsyncSession, multi_team_setup: MultiTeamSetup
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    await CreatorFactory.create_async(team_id=b.team.id)
    set_tenant(db_session, TenantContext(user_id=a.owner.id, team_id=a.team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM creators"))).scalar_one() == 0
