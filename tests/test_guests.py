"""Campaign guests: read-only, and only the campaigns granted to them — enforced by the database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign
from app.db.tenancy import TenantContext, set_tenant
from app.lib.roles import TeamRole
from app.teams.models import Team
from app.users.models import User
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import (
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    PostFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)


@dataclass
class GuestSetup:
    team: Team
    guest: User
    client: ApiClient
    visible: Campaign
    hidden: Campaign
    ids: dict[str, dict[str, str]]


async def _campaign_with_content(team_id, name: str, **kwargs) -> tuple[Campaign, dict[str, str]]:
    campaign = await CampaignFactory.create_async(team_id=team_id, name=name, **kwargs)
    booking = await CampaignCreatorFactory.book(campaign)
    post = await PostFactory.for_booking(booking, caption=f"{name} caption")
    todo = await TodoFactory.for_campaign(campaign, title=f"{name} to-do")
    return campaign, {"booking": str(booking.id), "post": str(post.id), "todo": str(todo.id)}


@pytest.fixture
async def guest_setup(multi_team_setup: MultiTeamSetup, client_for) -> GuestSetup:
    team = multi_team_setup.a.team
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    visible, visible_ids = await _campaign_with_content(team.id, "Visible")
    hidden, hidden_ids = await _campaign_with_content(team.id, "Hidden", brand_id=visible.brand_id)
    await CampaignGuestAccessFactory.create_async(team_id=team.id, campaign_id=visible.id, user_id=guest.id)
    return GuestSetup(
        team, guest, client_for(guest), visible, hidden, {"visible": visible_ids, "hidden": hidden_ids}
    )


def campaign_url(setup: GuestSetup, campaign: Campaign, tail: str = "") -> str:
    return f"/api/teams/{setup.team.id}/campaigns/{campaign.id}{tail}"


async def test_guest_sees_only_the_campaigns_granted(guest_setup: GuestSetup) -> None:
    s = guest_setup
    listed = (await s.client.get(f"/api/teams/{s.team.id}/campaigns")).json()
    assert [c["name"] for c in listed["items"]] == ["Visible"]
    assert listed["total"] == 1
    ids = s.ids["visible"]
    for tail in (
        "",
        "/creators",
        f"/creators/{ids['booking']}",
        "/posts",
        f"/posts/{ids['post']}",
        "/todos",
        f"/todos/{ids['todo']}",
    ):
        response = await s.client.get(campaign_url(s, s.visible, tail))
        assert response.status_code == 200, (tail, response.text)
    posts = (await s.client.get(campaign_url(s, s.visible, "/posts"))).json()
    assert [p["caption"] for p in posts["items"]] == ["Visible caption"]


async def test_guest_cannot_see_other_campaigns(guest_setup: GuestSetup) -> None:
    s = guest_setup
    ids = s.ids["hidden"]
    for tail in (
        "",
        "/creators",
        f"/creators/{ids['booking']}",
        "/posts",
        f"/posts/{ids['post']}",
        "/todos",
        f"/todos/{ids['todo']}",
    ):
        response = await s.client.get(campaign_url(s, s.hidden, tail))
        assert response.status_code == 404, (tail, response.text)
        assert "Hidden" not in response.text
    # Hidden rows stay hidden even when asked for through the visible campaign's path.
    assert (await s.client.get(campaign_url(s, s.visible, f"/posts/{ids['post']}"))).status_code == 404


async def test_guest_is_read_only_and_kept_out_of_team_wide_routes(guest_setup: GuestSetup) -> None:
    s = guest_setup
    team_url = f"/api/teams/{s.team.id}"
    writes = [
        (
            "POST",
            f"{team_url}/campaigns",
            {"name": "X", "brand_id": str(s.visible.brand_id), "budget": "1", "currency": "EUR"},
        ),
        ("DELETE", campaign_url(s, s.visible), None),
        ("POST", campaign_url(s, s.visible, "/todos"), {"title": "Sneaky"}),
        ("DELETE", campaign_url(s, s.visible, f"/todos/{s.ids['visible']['todo']}"), None),
        ("GET", f"{team_url}/creators", None),
        ("GET", f"{team_url}/brands", None),
        ("GET", f"{team_url}/events", None),
        ("GET", campaign_url(s, s.visible, "/guests"), None),
    ]
    for method, url, body in writes:
        response = await s.client.request(method, url, json=body)
        assert response.status_code == 403, (method, url, response.text)
    assert (await s.client.get(campaign_url(s, s.visible, "/todos"))).json()["total"] == 1


async def test_a_guest_without_grants_sees_no_campaign(multi_team_setup: MultiTeamSetup, client_for) -> None:
    team = multi_team_setup.a.team
    await CampaignFactory.create_async(team_id=team.id)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    listed = (await client_for(guest).get(f"/api/teams/{team.id}/campaigns")).json()
    assert (listed["items"], listed["total"]) == ([], 0)


async def test_direct_sql_with_the_guests_context_returns_no_rows_of_other_campaigns(
    guest_setup: GuestSetup, db_session: AsyncSession
) -> None:
    s = guest_setup
    set_tenant(db_session, TenantContext(user_id=s.guest.id, team_id=s.team.id, campaign_ids=(s.visible.id,)))
    for table, column in (
        ("campaigns", "id"),
        ("campaign_creators", "campaign_id"),
        ("posts", "campaign_id"),
        ("todos", "campaign_id"),
    ):
        hidden = await db_session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :c"), {"c": s.hidden.id}
        )
        assert hidden.scalar_one() == 0, table
        visible = await db_session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :c"), {"c": s.visible.id}
        )
        assert visible.scalar_one() == 1, table
    await db_session.rollback()
    set_tenant(db_session, TenantContext(user_id=s.guest.id, team_id=s.team.id, campaign_ids=()))
    assert (await db_session.execute(text("SELECT count(*) FROM campaigns"))).scalar_one() == 0
    assert (await db_session.execute(text("SELECT count(*) FROM posts"))).scalar_one() == 0


async def test_admins_grant_and_revoke_guest_access(
    guest_setup: GuestSetup, multi_team_setup: MultiTeamSetup
) -> None:
    s, a = guest_setup, multi_team_setup.a
    url = campaign_url(s, s.hidden, "/guests")
    granted = await a.owner_client.post(url, json={"user_id": str(s.guest.id)})
    assert granted.status_code == 201, granted.text
    assert granted.json()["email"] == s.guest.email
    assert (await s.client.get(campaign_url(s, s.hidden))).status_code == 200
    assert (await a.owner_client.post(url, json={"user_id": str(s.guest.id)})).status_code == 409
    not_a_guest = await a.owner_client.post(url, json={"user_id": str(a.member.id)})
    assert not_a_guest.status_code == 422
    assert not_a_guest.json()["errors"][0]["key"] == "user_id"
    assert (await a.member_client.post(url, json={"user_id": str(s.guest.id)})).status_code == 403
    assert [g["user_id"] for g in (await a.owner_client.get(url)).json()["items"]] == [str(s.guest.id)]

    assert (await a.owner_client.delete(f"{url}/{s.guest.id}")).status_code == 204
    assert (await s.client.get(campaign_url(s, s.hidden))).status_code == 404
    assert (await a.owner_client.delete(f"{url}/{s.guest.id}")).status_code == 404


async def test_another_teams_admin_cannot_manage_guests(
    guest_setup: GuestSetup, multi_team_setup: MultiTeamSetup
) -> None:
    s, b = guest_setup, multi_team_setup.b
    url = campaign_url(s, s.visible, "/guests")
    for method, target, body in (
        ("GET", url, None),
        ("POST", url, {"user_id": str(s.guest.id)}),
        ("DELETE", f"{url}/{s.guest.id}", None),
        ("GET", f"/api/teams/{b.team.id}/campaigns/{s.visible.id}/guests", None),
    ):
        assert (await b.owner_client.request(method, target, json=body)).status_code == 404, (method, target)


async def test_a_guest_may_read_the_team_and_leave_it_but_not_remove_others(
    guest_setup: GuestSetup, multi_team_setup: MultiTeamSetup
) -> None:
    s, a = guest_setup, multi_team_setup.a
    team = await s.client.get(f"/api/teams/{s.team.id}")
    assert (team.status_code, team.json()["role"]) == (200, "guest")
    assert (await s.client.get(f"/api/teams/{s.team.id}/members")).status_code == 403
    assert (await s.client.delete(f"/api/teams/{s.team.id}/members/{a.member.id}")).status_code == 403
    assert (await s.client.delete(f"/api/teams/{s.team.id}/members/{s.guest.id}")).status_code == 204
    assert (await s.client.get(f"/api/teams/{s.team.id}/campaigns")).status_code == 404


async def test_leaving_the_team_ends_the_guests_grants(
    guest_setup: GuestSetup, multi_team_setup: MultiTeamSetup, owner_connection
) -> None:
    s, a = guest_setup, multi_team_setup.a
    assert (await s.client.delete(f"/api/teams/{s.team.id}/members/{s.guest.id}")).status_code == 204
    grants = await owner_connection.fetchval(
        "SELECT count(*) FROM campaign_guest_access WHERE user_id = $1", s.guest.id
    )
    assert grants == 0

    # Re-invited as a guest later, they start with no campaigns, not the old ones.
    await a.owner_client.post(
        f"/api/teams/{s.team.id}/members", json={"email": s.guest.email, "role": "guest"}
    )
    listed = await s.client.get(f"/api/teams/{s.team.id}/campaigns")
    assert listed.status_code == 200
    assert listed.json()["items"] == []
