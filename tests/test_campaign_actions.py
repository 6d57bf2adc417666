"""Campaign actions: status moves with their reasons, archive for admins, duplicate."""

from __future__ import annotations

from decimal import Decimal

from app.lib.roles import TeamRole
from tests.actions_helpers import actions_url, body, by_name
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import (
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)


async def test_a_campaign_goes_through_its_life_by_actions(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    version = 1
    for action, status in (
        ("launch", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("complete", "completed"),
        ("archive", "archived"),
    ):
        response = await authenticated_client.post(
            actions_url(team.id, "campaign", campaign.id, action), json=body("campaign", action, version)
        )
        assert response.status_code == 200, (action, response.text)
        assert response.json()["object"]["status"] == status
        version = response.json()["object"]["version"]
    history = (
        await authenticated_client.get(
            f"/api/teams/{team.id}/events/campaign/{campaign.id}?event_type=status_changed"
        )
    ).json()
    assert [e["changes"]["status"]["new"] for e in reversed(history["items"])] == [
        "active",
        "paused",
        "active",
        "completed",
        "archived",
    ]


async def test_campaign_actions_say_why_they_are_unavailable(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id, status="completed")
    actions = by_name((await authenticated_client.get(actions_url(team.id, "campaign", campaign.id))).json())
    assert {name: a["unavailable_reason"] for name, a in actions.items()} == {
        "launch": "Only draft campaigns can be launched.",
        "pause": "Only active campaigns can be paused.",
        "resume": "Only paused campaigns can be resumed.",
        "complete": "Only active or paused campaigns can be completed.",
        "archive": None,
        "duplicate": None,
    }
    response = await authenticated_client.post(
        actions_url(team.id, "campaign", campaign.id, "launch"), json=body("campaign", "launch", 1)
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Only draft campaigns can be launched."


async def test_only_admins_see_and_run_archive(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    listed = by_name((await a.member_client.get(actions_url(a.team.id, "campaign", campaign.id))).json())
    assert "archive" not in listed
    assert "launch" in listed
    response = await a.member_client.post(
        actions_url(a.team.id, "campaign", campaign.id, "archive"), json=body("campaign", "archive", 1)
    )
    assert response.status_code == 403
    current = await a.owner_client.get(f"/api/teams/{a.team.id}/campaigns/{campaign.id}")
    assert current.json()["status"] == "draft"


async def test_duplicate_copies_brand_budget_and_bookings_and_nothing_else(
    authenticated_client: ApiClient, team
) -> None:
    source = await CampaignFactory.create_async(
        team_id=team.id,
        name="Winter launch",
        status="active",
        budget=Decimal("12345.67"),
        currency="USD",
        description="The brief",
    )
    kept = await CampaignCreatorFactory.book(
        source,
        await CreatorFactory.create_async(team_id=team.id, name="Ada"),
        agreed_fee=Decimal("750.00"),
        deliverables="2 reels",
    )
    archived_creator = await CreatorFactory.create_async(team_id=team.id)
    await CampaignCreatorFactory.book(source, archived_creator)
    await authenticated_client.put(
        f"/api/teams/{team.id}/creators/{archived_creator.id}",
        json={
            "name": archived_creator.name,
            "handles": {},
            "follower_counts": {},
            "contact_email": None,
            "tags": [],
            "notes": None,
            "archived": True,
            "version": 1,
        },
    )
    await PostFactory.for_booking(kept)
    await TodoFactory.for_campaign(source)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(team_id=team.id, campaign_id=source.id, user_id=guest.id)

    response = await authenticated_client.post(
        actions_url(team.id, "campaign", source.id, "duplicate"), json=body("campaign", "duplicate", 1)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["object"]["id"] == str(source.id)
    assert result["object"]["version"] == 1
    copy = result["result"]
    assert (copy["name"], copy["status"], copy["brand_id"], copy["budget"], copy["currency"]) == (
        "Winter launch (copy)",
        "draft",
        str(source.brand_id),
        "12345.67",
        "USD",
    )
    assert (copy["start_date"], copy["end_date"], copy["description"]) == (None, None, None)
    base = f"/api/teams/{team.id}/campaigns/{copy['id']}"
    bookings = (await authenticated_client.get(f"{base}/creators")).json()["items"]
    assert [(b["creator_name"], b["agreed_fee"], b["deliverables"]) for b in bookings] == [
        ("Ada", "750.00", "2 reels")
    ]
    assert (await authenticated_client.get(f"{base}/posts")).json()["total"] == 0
    assert (await authenticated_client.get(f"{base}/todos")).json()["total"] == 0
    assert (await authenticated_client.get(f"{base}/guests")).json()["total"] == 0
    created = (await authenticated_client.get(f"/api/teams/{team.id}/events/campaign/{copy['id']}")).json()
    assert [e["event_type"] for e in created["items"]] == ["created"]
    booking_events = (
        await authenticated_client.get(f"/api/teams/{team.id}/events/campaign_creator/{bookings[0]['id']}")
    ).json()
    assert [e["event_type"] for e in booking_events["items"]] == ["created"]


async def test_a_long_name_still_fits_when_copied(authenticated_client: ApiClient, team) -> None:
    source = await CampaignFactory.create_async(team_id=team.id, name="x" * 200)
    response = await authenticated_client.post(
        actions_url(team.id, "campaign", source.id, "duplicate"), json=body("campaign", "duplicate", 1)
    )
    assert response.status_code == 200, response.text
    name = response.json()["result"]["name"]
    assert len(name) == 200
    assert name.endswith(" (copy)")
