"""Who may list and run actions: another team's user gets 404 and nothing runs; a guest only
what their role allows (no writes) on the campaigns granted to them."""

from __future__ import annotations

import asyncpg
import pytest

from app.lib.roles import TeamRole
from tests.actions_helpers import actions_url, body, booked_campaign, bulk_url
from tests.conftest import MultiTeamSetup
from tests.factories import (
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)


async def _events(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events") or 0)


async def _objects(team_id):
    campaign, booking = await booked_campaign(team_id)
    post = await PostFactory.for_booking(booking, status="submitted")
    todo = await TodoFactory.for_campaign(campaign)
    creator = await CreatorFactory.create_async(team_id=team_id)
    return {
        "post": (post.id, "approve"),
        "campaign": (campaign.id, "launch"),
        "todo": (todo.id, "complete"),
        "creator": (creator.id, "archive"),
    }


async def test_another_teams_objects_are_404_and_nothing_runs(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    objects = await _objects(a.team.id)
    before = await _events(owner_connection)
    for object_type, (object_id, action) in objects.items():
        for team_id in (b.team.id, a.team.id):  # through their own team, and through ours
            listed = await b.owner_client.get(actions_url(team_id, object_type, object_id))
            assert listed.status_code == 404, (object_type, team_id)
            run = await b.owner_client.post(
                actions_url(team_id, object_type, object_id, action), json=body(object_type, action, 1)
            )
            assert run.status_code == 404, (object_type, team_id, run.text)
            bulk = await b.owner_client.post(
                bulk_url(team_id, object_type, action),
                json={"action": f"{object_type}.{action}", "objects": [{"id": str(object_id), "version": 1}]},
            )
            assert bulk.status_code == 404, (object_type, team_id, bulk.text)
        each = await b.owner_client.post(
            bulk_url(b.team.id, object_type, action),
            json={
                "action": f"{object_type}.{action}",
                "objects": [{"id": str(object_id), "version": 1}],
                "mode": "each",
            },
        )
        assert each.status_code == 200
        assert each.json()["items"][0]["problem"]["status"] == 404
    assert await _events(owner_connection) == before
    post_id = objects["post"][0]
    assert await owner_connection.fetchval("SELECT status FROM posts WHERE id = $1", post_id) == "submitted"


@pytest.fixture
async def guest_client(multi_team_setup: MultiTeamSetup, client_for):
    team = multi_team_setup.a.team
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    return guest, client_for(guest)


async def test_a_guest_sees_no_write_actions_and_cannot_run_them(
    multi_team_setup: MultiTeamSetup, guest_client, owner_connection: asyncpg.Connection
) -> None:
    team = multi_team_setup.a.team
    guest, client = guest_client
    visible, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    todo = await TodoFactory.for_campaign(visible)
    await CampaignGuestAccessFactory.create_async(team_id=team.id, campaign_id=visible.id, user_id=guest.id)
    hidden = await CampaignFactory.create_async(team_id=team.id, brand_id=visible.brand_id)
    hidden_todo = await TodoFactory.for_campaign(hidden)
    before = await _events(owner_connection)

    for object_type, object_id, action in (
        ("post", post.id, "approve"),
        ("todo", todo.id, "assign_to_me"),
        ("campaign", visible.id, "duplicate"),
    ):
        listed = await client.get(actions_url(team.id, object_type, object_id))
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []
        run = await client.post(
            actions_url(team.id, object_type, object_id, action), json=body(object_type, action, 1)
        )
        assert run.status_code == 403, (object_type, run.text)
    bulk = await client.post(
        bulk_url(team.id, "post", "approve"),
        json={"action": "post.approve", "objects": [{"id": str(post.id), "version": 1}]},
    )
    assert bulk.status_code == 403
    for object_type, object_id in (("campaign", hidden.id), ("todo", hidden_todo.id)):
        assert (await client.get(actions_url(team.id, object_type, object_id))).status_code == 404
        run = await client.post(
            actions_url(team.id, object_type, object_id, "complete"), json=body(object_type, "complete", 1)
        )
        assert run.status_code == 404
    creator = await CreatorFactory.create_async(team_id=team.id)
    assert (await client.get(actions_url(team.id, "creator", creator.id))).status_code == 403
    assert await _events(owner_connection) == before
