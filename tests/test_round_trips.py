"""Round trips to PostgreSQL per read, counted at the driver (BEGIN and COMMIT included).

A team read costs four: BEGIN, one statement that sets the tenant context and checks the
membership, the read itself (page and total in one statement), COMMIT. Each endpoint is called
once first, and prepares are not counted: the first use of a statement on a pooled connection
also prepares it there (one more round trip, once per connection and statement, plus one per
statement asyncpg closes then: see `RoundTripCounter.steady_entries`).
"""

from __future__ import annotations

from typing import Any

import pytest

from app.lib.roles import TeamRole
from tests.conftest import ApiClient
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)
from tests.roundtrips import RoundTripCounter


async def _workspace(team_id: Any) -> dict[str, str]:
    brand = await BrandFactory.create_async(team_id=team_id)
    creator = await CreatorFactory.create_async(team_id=team_id)
    campaign = await CampaignFactory.create_async(team_id=team_id, brand_id=brand.id)
    booking = await CampaignCreatorFactory.book(campaign, creator)
    post = await PostFactory.for_booking(booking)
    todo = await TodoFactory.for_campaign(campaign)
    return {
        "brand": str(brand.id),
        "creator": str(creator.id),
        "campaign": str(campaign.id),
        "booking": str(booking.id),
        "post": str(post.id),
        "todo": str(todo.id),
    }


TEAM_READS = [
    ("GetTeam", ""),
    ("ListTeamMembers", "/members"),
    ("ListBrands", "/brands?limit=100"),
    ("GetBrand", "/brands/{brand}"),
    ("ListTeamEvents", "/events?limit=100"),
    ("ListObjectEvents", "/events/brand/{brand}"),
    ("ListCreators", "/creators?limit=100"),
    ("ListCreators (search)", "/creators?q=a"),
    ("GetCreator", "/creators/{creator}"),
    ("ListCampaigns", "/campaigns?limit=100"),
    ("GetCampaign", "/campaigns/{campaign}"),
    ("ListCampaignCreators", "/campaigns/{campaign}/creators"),
    ("GetCampaignCreator", "/campaigns/{campaign}/creators/{booking}"),
    ("ListPosts", "/campaigns/{campaign}/posts?limit=100"),
    ("GetPost", "/campaigns/{campaign}/posts/{post}"),
    ("ListTodos", "/campaigns/{campaign}/todos"),
    ("GetTodo", "/campaigns/{campaign}/todos/{todo}"),
    ("ListTeamInvitations", "/invitations"),
    ("GetTeamDashboard", "/dashboard"),
]


async def _count(client: ApiClient, url: str, round_trips: RoundTripCounter) -> int:
    """Round trips of a warm request: a statement's first use on a pooled connection also
    prepares it there (once per connection), which is not counted."""
    assert (await client.get(url)).status_code == 200
    round_trips.reset()
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return round_trips.steady_count


@pytest.mark.parametrize(("operation", "path"), TEAM_READS, ids=[op for op, _ in TEAM_READS])
async def test_a_team_read_costs_four_round_trips(
    authenticated_client: ApiClient, team, round_trips: RoundTripCounter, operation: str, path: str
) -> None:
    ids = await _workspace(team.id)
    created = await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": "Evented"})
    ids["brand"] = created.json()["id"]  # with a `created` event
    invited = await authenticated_client.post(
        f"/api/teams/{team.id}/invitations", json={"email": "invitee@example.com"}
    )
    assert invited.status_code == 201, invited.text
    url = f"/api/teams/{team.id}" + path.format(**ids)
    count = await _count(authenticated_client, url, round_trips)
    assert count <= 4, f"{operation}: {count} round trips\n{round_trips!r}"


async def test_the_four_are_begin_context_with_membership_read_commit(
    authenticated_client: ApiClient, team, round_trips: RoundTripCounter
) -> None:
    await BrandFactory.create_async(team_id=team.id)
    await _count(authenticated_client, f"/api/teams/{team.id}/brands", round_trips)
    begin, context, read, commit = round_trips.steady_calls()
    assert begin.startswith("query: BEGIN")
    assert "set_config('app.user_id'" in context
    assert "SELECT brands.id" in read
    assert commit.startswith("query: COMMIT")


async def test_the_page_size_does_not_change_the_count(
    authenticated_client: ApiClient, team, round_trips: RoundTripCounter
) -> None:
    for i in range(30):
        await BrandFactory.create_async(team_id=team.id, name=f"Brand {i}")
    small = await _count(authenticated_client, f"/api/teams/{team.id}/brands?limit=1", round_trips)
    large = await _count(authenticated_client, f"/api/teams/{team.id}/brands?limit=100", round_trips)
    assert small == large == 4, f"{small} and {large} round trips; the last request's:\n{round_trips!r}"


async def test_a_guest_read_costs_four_round_trips_too(
    authenticated_client: ApiClient, team, client_for, round_trips: RoundTripCounter
) -> None:
    ids = await _workspace(team.id)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(
        team_id=team.id, campaign_id=ids["campaign"], user_id=guest.id
    )
    url = f"/api/teams/{team.id}/campaigns/{ids['campaign']}/posts"
    assert await _count(client_for(guest), url, round_trips) <= 4


@pytest.mark.parametrize(("operation", "url"), [("GetCurrentUser", "/api/me"), ("ListTeams", "/api/teams")])
async def test_a_read_of_ones_own_account_costs_four_round_trips(
    authenticated_client: ApiClient, round_trips: RoundTripCounter, operation: str, url: str
) -> None:
    """BEGIN, the user's context with the session check in one statement, the read, COMMIT."""
    count = await _count(authenticated_client, url, round_trips)
    assert count == 4, f"{operation}: {count} round trips\n{round_trips!r}"


async def test_creating_a_brand_does_not_read_it_back(
    authenticated_client: ApiClient, team, round_trips: RoundTripCounter
) -> None:
    url = f"/api/teams/{team.id}/brands"
    assert (await authenticated_client.post(url, json={"name": "Warm-up"})).status_code == 201
    round_trips.reset()
    response = await authenticated_client.post(url, json={"name": "Fresh"})
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert body["created_at"]
    # BEGIN, context + membership, the name check, INSERT brand, INSERT event, then the event's
    # listeners: the brand's thread (found or created in one statement) with its system message
    # (inserted and read back in one), one pg_notify for the flush's frames (thread, feed), COMMIT.
    # The brand is never read back, nor checked for existence: the transaction has just created it.
    assert not any(call.startswith("bind_execute: SELECT brands.id, ") for call in round_trips.calls)
    notifies = [call for call in round_trips.calls if "pg_notify" in call and not call.startswith("prepare:")]
    assert len(notifies) == 1, repr(round_trips)  # a connection new to the statement also prepares it
    assert round_trips.steady_count == 9, repr(round_trips)
