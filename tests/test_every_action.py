"""Every registered action, through the same checks: listed as available (or not, with its
reason), refused when unavailable, for bad input and a stale version, for another team and for
a role below the one it needs, each without a trace; then run, with its events recorded.

A new action without a case here fails `test_every_registered_action_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from app.actions.registry import action_registry
from app.lib.roles import TeamRole
from app.main import ACTION_MODULES
from tests.actions_helpers import actions_url, body, booked_campaign
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

READ_ONLY = "read-only"
"""What the reason says when the object's campaign lets nothing change (archived, completed)."""


@dataclass(frozen=True)
class Made:
    id: UUID
    campaign_id: UUID | None


Maker = Callable[[UUID, UUID], Awaitable[Made]]
"""(team id, acting user's id) -> an object in some state."""


def post(status: str, *, campaign_status: str = "active", **values: Any) -> Maker:
    async def make(team_id: UUID, actor_id: UUID) -> Made:
        campaign, booking = await booked_campaign(team_id, status=campaign_status)
        row = await PostFactory.for_booking(booking, status=status, **values)
        return Made(row.id, campaign.id)

    return make


def campaign(status: str) -> Maker:
    async def make(team_id: UUID, actor_id: UUID) -> Made:
        row = await CampaignFactory.create_async(team_id=team_id, status=status)
        return Made(row.id, row.id)

    return make


def todo(status: str = "open", *, campaign_status: str = "active", mine: bool = False) -> Maker:
    async def make(team_id: UUID, actor_id: UUID) -> Made:
        row_campaign = await CampaignFactory.create_async(team_id=team_id, status=campaign_status)
        row = await TodoFactory.for_campaign(
            row_campaign, status=status, assignee_id=actor_id if mine else None
        )
        return Made(row.id, row_campaign.id)

    return make


def creator(*, archived: bool = False, tags: list[str] | None = None) -> Maker:
    async def make(team_id: UUID, actor_id: UUID) -> Made:
        row = await CreatorFactory.create_async(
            team_id=team_id, archived_at=datetime.now(tz=UTC) if archived else None, tags=tags or []
        )
        return Made(row.id, None)

    return make


@dataclass(frozen=True)
class Case:
    available: Maker
    unavailable: Maker | None
    """`None`: the action has no state that blocks it."""
    reason: str | None
    """Part of the reason given for `unavailable` (the whole text where it is a fixed one)."""
    payload: Callable[[UUID], dict[str, Any]] | None = None
    """The valid input, given the acting user's id."""
    bad: tuple[dict[str, Any], str] | None = None
    """Bad input and the field its 400 names."""


def _future() -> str:
    return (datetime.now(tz=UTC) + timedelta(days=2)).isoformat()


CASES: dict[str, Case] = {
    "post.submit_for_review": Case(
        post("draft"), post("approved"), "Only draft posts or posts with changes requested can be submitted"
    ),
    "post.request_changes": Case(
        post("submitted"),
        post("draft"),
        "Only submitted or approved posts can be sent back for changes.",
        lambda _: {"comment": "Crop it tighter."},
        ({"comment": " "}, "input.comment"),
    ),
    "post.approve": Case(post("submitted"), post("submitted", campaign_status="archived"), READ_ONLY),
    "post.schedule": Case(
        post("approved"),
        post("submitted"),
        "Only approved posts can be scheduled.",
        lambda _: {"scheduled_at": _future()},
        ({"scheduled_at": "2001-01-01T00:00:00Z"}, "input.scheduled_at"),
    ),
    "post.publish": Case(
        post("scheduled", scheduled_at=datetime.now(tz=UTC) + timedelta(days=1)),
        post("draft"),
        "Only approved or scheduled posts can be published.",
        lambda _: {"published_url": "https://example.com/p/1", "views": 10},
        ({"published_url": "not a url"}, "input.published_url"),
    ),
    "post.unschedule": Case(
        post("scheduled", scheduled_at=datetime.now(tz=UTC) + timedelta(days=1)),
        post("approved"),
        "Only scheduled posts can be unscheduled.",
    ),
    "campaign.launch": Case(campaign("draft"), campaign("active"), "Only draft campaigns can be launched."),
    "campaign.pause": Case(campaign("active"), campaign("draft"), "Only active campaigns can be paused."),
    "campaign.resume": Case(campaign("paused"), campaign("active"), "Only paused campaigns can be resumed."),
    "campaign.complete": Case(
        campaign("paused"), campaign("draft"), "Only active or paused campaigns can be completed."
    ),
    "campaign.archive": Case(
        campaign("completed"), campaign("archived"), "This campaign is already archived."
    ),
    "campaign.duplicate": Case(campaign("active"), None, None),
    "todo.complete": Case(todo("open"), todo("done"), "This to-do is already done."),
    "todo.reopen": Case(todo("done"), todo("open"), "Only done to-dos can be reopened."),
    "todo.assign_to_me": Case(todo(), todo(mine=True), "This to-do is already assigned to you."),
    "todo.assign": Case(
        todo(),
        todo(campaign_status="archived"),
        READ_ONLY,
        lambda actor_id: {"assignee_id": str(actor_id)},
        ({"assignee_id": "someone"}, "input.assignee_id"),
    ),
    "creator.archive": Case(creator(), creator(archived=True), "This creator is already archived."),
    "creator.restore": Case(creator(archived=True), creator(), "Only archived creators can be restored."),
    # Tags may be added in any state (the 20-tag limit is checked when it runs).
    "creator.add_tag": Case(creator(), None, None, lambda _: {"tag": "vegan"}, ({"tag": 7}, "input.tag")),
    "creator.remove_tag": Case(
        creator(tags=["vegan"]),
        creator(),
        "This creator has no tags.",
        lambda _: {"tag": "vegan"},
        ({}, "input.tag"),
    ),
}


def test_every_registered_action_has_a_case() -> None:
    assert len(ACTION_MODULES) == len({key.split(".")[0] for key in CASES})  # app.main imported them
    assert sorted(action.key() for action in action_registry.all_actions()) == sorted(CASES)


async def _events(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events") or 0)


def _listed(listing: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((item for item in listing["items"] if item["name"] == name), None)


@pytest.mark.parametrize("key", sorted(CASES))
async def test_the_action_says_when_it_can_run_and_refuses_what_it_must(
    key: str, multi_team_setup: MultiTeamSetup, client_for, owner_connection: asyncpg.Connection
) -> None:
    object_type, name = key.split(".")
    action = action_registry.action(object_type, name)
    assert action is not None
    case = CASES[key]
    a, b = multi_team_setup.a, multi_team_setup.b
    team_id, owner, client = a.team.id, a.owner, a.owner_client
    target = await case.available(team_id, owner.id)
    payload = case.payload(owner.id) if case.payload else None
    url = actions_url(team_id, object_type, target.id, name)

    listed = _listed((await client.get(actions_url(team_id, object_type, target.id))).json(), name)
    assert listed is not None
    assert (listed["available"], listed["unavailable_reason"]) == (True, None)
    assert (listed["input_schema"] is None) == (action.InputSchema is None)
    before = await _events(owner_connection)

    if case.unavailable is not None:
        assert case.reason is not None
        blocked = await case.unavailable(team_id, owner.id)
        listing = (await client.get(actions_url(team_id, object_type, blocked.id))).json()
        entry = _listed(listing, name)
        assert entry is not None
        assert entry["available"] is False
        assert case.reason in entry["unavailable_reason"], entry
        refused = await client.post(
            actions_url(team_id, object_type, blocked.id, name), json=body(object_type, name, 1, payload)
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == entry["unavailable_reason"]

    if case.bad is not None:
        bad_input, field = case.bad
        refused = await client.post(url, json=body(object_type, name, 1, bad_input))
        assert refused.status_code == 400, refused.text
        assert field in {error["key"] for error in refused.json()["errors"]}, refused.json()

    stale = await client.post(url, json=body(object_type, name, 4, payload))
    assert stale.status_code == 409, stale.text
    assert "version" in stale.json()["detail"]

    for team in (b.team.id, team_id):  # another team's owner, through their team and through ours
        foreign = await b.owner_client.post(
            actions_url(team, object_type, target.id, name), json=body(object_type, name, 1, payload)
        )
        assert foreign.status_code == 404, foreign.text

    below = TeamRole.MEMBER if action.required_role is TeamRole.ADMIN else TeamRole.GUEST
    lesser = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team_id, user_id=lesser.id, role=below)
    if target.campaign_id is not None:
        await CampaignGuestAccessFactory.create_async(
            team_id=team_id, campaign_id=target.campaign_id, user_id=lesser.id
        )
    their_listing = await client_for(lesser).get(actions_url(team_id, object_type, target.id))
    if their_listing.status_code == 200:
        assert _listed(their_listing.json(), name) is None
    else:
        assert their_listing.status_code == 403  # a guest may not read team-level objects at all
    forbidden = await client_for(lesser).post(url, json=body(object_type, name, 1, payload))
    assert forbidden.status_code == 403, forbidden.text

    assert await _events(owner_connection) == before, "a refused action left events behind"

    done = await client.post(url, json=body(object_type, name, 1, payload))
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["object"]["id"] == str(target.id)
    recorded = await owner_connection.fetch(
        "SELECT object_type, object_id, actor_id FROM events WHERE created_at > now() - interval '1 hour'"
    )
    assert len(recorded) > before
    assert {row["actor_id"] for row in recorded} == {owner.id}
    if name == "duplicate":
        assert result["object"]["version"] == 1  # the original is untouched
        copy = UUID(result["result"]["id"])
        assert ("campaign", copy) in {(row["object_type"], row["object_id"]) for row in recorded}
    else:
        assert result["object"]["version"] == 2
        assert (object_type, target.id) in {(row["object_type"], row["object_id"]) for row in recorded}
