"""Post actions: the review workflow as named steps, with their reasons, inputs, roles and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.actions_helpers import actions_url, body, booked_campaign, by_name
from tests.conftest import ApiClient
from tests.factories import PostFactory


async def test_listing_says_which_post_actions_are_available_and_why_not(
    authenticated_client: ApiClient, team
) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    response = await authenticated_client.get(actions_url(team.id, "post", post.id))
    assert response.status_code == 200, response.text
    listing = response.json()
    actions = by_name(listing)
    assert set(actions) == {
        "submit_for_review",
        "request_changes",
        "approve",
        "schedule",
        "publish",
        "unschedule",
    }
    assert listing["total"] == 6
    assert actions["approve"]["available"] is True
    assert actions["approve"]["unavailable_reason"] is None
    assert actions["approve"]["input_schema"] is None
    assert actions["schedule"]["available"] is False
    assert actions["schedule"]["unavailable_reason"] == "Only approved posts can be scheduled."
    schema = actions["request_changes"]["input_schema"]
    assert schema["$defs"]["PostRequestChangesInput"]["required"] == ["comment"]


async def test_approve_moves_the_post_and_records_events_like_the_direct_route(
    authenticated_client: ApiClient, team
) -> None:
    campaign, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    response = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "approve"), json=body("post", "approve", 1)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    direct = await authenticated_client.get(f"/api/teams/{team.id}/campaigns/{campaign.id}/posts/{post.id}")
    assert result["object"] == direct.json()
    assert (result["object"]["status"], result["object"]["version"], result["result"]) == (
        "approved",
        2,
        None,
    )
    events = (await authenticated_client.get(f"/api/teams/{team.id}/events/post/{post.id}")).json()["items"]
    assert {(e["event_type"], e["changes"]["status"]["new"]) for e in events} == {
        ("updated", "approved"),
        ("status_changed", "approved"),
    }
    assert authenticated_client.user is not None
    assert {e["actor_id"] for e in events} == {str(authenticated_client.user.id)}


async def test_an_unavailable_action_is_409_with_its_reason(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking)
    response = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "approve"), json=body("post", "approve", 1)
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Only submitted posts can be approved."
    assert response.json()["unavailable_reason"] == "Only submitted posts can be approved."


async def test_a_stale_version_is_409_and_nothing_changes(authenticated_client: ApiClient, team) -> None:
    campaign, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    response = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "approve"), json=body("post", "approve", 2)
    )
    assert response.status_code == 409
    assert response.json()["current_version"] == 1
    current = await authenticated_client.get(f"/api/teams/{team.id}/campaigns/{campaign.id}/posts/{post.id}")
    assert current.json()["status"] == "submitted"


async def test_schedule_names_every_bad_field(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="approved")
    url = actions_url(team.id, "post", post.id, "schedule")
    response = await authenticated_client.post(
        url, json=body("post", "schedule", 1, {"scheduled_at": "tomorrow", "colour": "red"})
    )
    assert response.status_code == 400
    keys = {error["key"] for error in response.json()["errors"]}
    assert keys == {"input.scheduled_at", "input.colour"}
    past = (datetime.now(tz=UTC) - timedelta(hours=1)).isoformat()
    response = await authenticated_client.post(url, json=body("post", "schedule", 1, {"scheduled_at": past}))
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "key": "input.scheduled_at",
        "message": "Must be in the future",
        "source": "body",
    }
    missing = await authenticated_client.post(url, json={"action": "post.schedule", "version": 1})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["key"] == "input.scheduled_at"
    when = (datetime.now(tz=UTC) + timedelta(days=2)).replace(microsecond=0)
    ok = await authenticated_client.post(
        url, json=body("post", "schedule", 1, {"scheduled_at": when.isoformat()})
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["object"]["status"] == "scheduled"
    assert datetime.fromisoformat(ok.json()["object"]["scheduled_at"]) == when
