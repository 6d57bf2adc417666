"""To-do and creator actions: each one's available and unavailable states, inputs and events."""

from __future__ import annotations

import uuid

from tests.actions_helpers import actions_url, body, by_name
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import CampaignFactory, CreatorFactory, TodoFactory


async def test_todo_complete_reopen_and_assign_to_me(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id, status="active")
    todo = await TodoFactory.for_campaign(campaign)
    listing = by_name((await a.member_client.get(actions_url(a.team.id, "todo", todo.id))).json())
    assert {name: item["available"] for name, item in listing.items()} == {
        "complete": True,
        "reopen": False,
        "assign_to_me": True,
        "assign": True,
    }
    assert listing["reopen"]["unavailable_reason"] == "Only done to-dos can be reopened."

    version = 1
    for action, check in (
        ("assign_to_me", ("assignee_id", str(a.member.id))),
        ("complete", ("status", "done")),
        ("reopen", ("status", "open")),
    ):
        response = await a.member_client.post(
            actions_url(a.team.id, "todo", todo.id, action), json=body("todo", action, version)
        )
        assert response.status_code == 200, (action, response.text)
        assert response.json()["object"][check[0]] == check[1]
        version = response.json()["object"]["version"]

    again = await a.member_client.post(
        actions_url(a.team.id, "todo", todo.id, "assign_to_me"), json=body("todo", "assign_to_me", version)
    )
    assert again.status_code == 409
    assert again.json()["detail"] == "This to-do is already assigned to you."
    events = (await a.member_client.get(f"/api/teams/{a.team.id}/events/todo/{todo.id}")).json()["items"]
    assert [e["event_type"] for e in reversed(events)] == [
        "updated",
        "updated",
        "status_changed",
        "updated",
        "status_changed",
    ]


async def test_todo_assign_takes_a_member_of_the_team(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    todo = await TodoFactory.for_campaign(campaign)
    url = actions_url(a.team.id, "todo", todo.id, "assign")
    for payload, status, key in (
        ({}, 400, "input.assignee_id"),
        ({"assignee_id": "me"}, 400, "input.assignee_id"),
        ({"assignee_id": str(b.owner.id)}, 422, "input.assignee_id"),
        ({"assignee_id": str(uuid.uuid4())}, 422, "input.assignee_id"),
    ):
        response = await a.owner_client.post(url, json=body("todo", "assign", 1, payload))
        assert response.status_code == status, (payload, response.text)
        assert response.json()["errors"][0]["key"] == key
    ok = await a.owner_client.post(url, json=body("todo", "assign", 1, {"assignee_id": str(a.member.id)}))
    assert ok.status_code == 200, ok.text
    assert ok.json()["object"]["assignee_id"] == str(a.member.id)


async def test_nothing_changes_on_an_archived_campaign(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id, status="archived")
    todo = await TodoFactory.for_campaign(campaign)
    listing = (await authenticated_client.get(actions_url(team.id, "todo", todo.id))).json()
    assert all(not item["available"] for item in listing["items"])
    assert "read-only" in listing["items"][0]["unavailable_reason"]
    response = await authenticated_client.post(
        actions_url(team.id, "todo", todo.id, "complete"), json=body("todo", "complete", 1)
    )
    assert response.status_code == 409
    assert "read-only" in response.json()["detail"]


async def test_creator_archive_and_restore(authenticated_client: ApiClient, team) -> None:
    creator = await CreatorFactory.create_async(team_id=team.id)
    listing = by_name((await authenticated_client.get(actions_url(team.id, "creator", creator.id))).json())
    assert listing["restore"]["unavailable_reason"] == "Only archived creators can be restored."
    assert listing["remove_tag"]["unavailable_reason"] == "This creator has no tags."
    archived = await authenticated_client.post(
        actions_url(team.id, "creator", creator.id, "archive"), json=body("creator", "archive", 1)
    )
    assert archived.status_code == 200, archived.text
    assert archived.json()["object"]["archived_at"] is not None
    twice = await authenticated_client.post(
        actions_url(team.id, "creator", creator.id, "archive"), json=body("creator", "archive", 2)
    )
    assert twice.status_code == 409
    assert twice.json()["detail"] == "This creator is already archived."
    restored = await authenticated_client.post(
        actions_url(team.id, "creator", creator.id, "restore"), json=body("creator", "restore", 2)
    )
    assert restored.status_code == 200
    assert restored.json()["object"]["archived_at"] is None
    events = (await authenticated_client.get(f"/api/teams/{team.id}/events/creator/{creator.id}")).json()
    assert [e["changes"]["archived_at"]["new"] is None for e in reversed(events["items"])] == [False, True]


async def test_creator_tags_are_added_and_removed(authenticated_client: ApiClient, team) -> None:
    creator = await CreatorFactory.create_async(team_id=team.id, tags=["beauty"])
    add = actions_url(team.id, "creator", creator.id, "add_tag")
    remove = actions_url(team.id, "creator", creator.id, "remove_tag")
    response = await authenticated_client.post(add, json=body("creator", "add_tag", 1, {"tag": " vip "}))
    assert response.status_code == 200, response.text
    assert response.json()["object"]["tags"] == ["beauty", "vip"]
    same = await authenticated_client.post(add, json=body("creator", "add_tag", 2, {"tag": "vip"}))
    assert same.json()["object"]["tags"] == ["beauty", "vip"]
    assert same.json()["object"]["version"] == 2
    for payload in ({}, {"tag": ""}, {"tag": "x" * 51}, {"tag": "vip", "colour": "red"}):
        bad = await authenticated_client.post(add, json=body("creator", "add_tag", 2, payload))
        assert bad.status_code == 400, payload
    unknown = await authenticated_client.post(
        remove, json=body("creator", "remove_tag", 2, {"tag": "sports"})
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["key"] == "input.tag"
    removed = await authenticated_client.post(
        remove, json=body("creator", "remove_tag", 2, {"tag": "beauty"})
    )
    assert removed.status_code == 200
    assert removed.json()["object"]["tags"] == ["vip"]
    events = (await authenticated_client.get(f"/api/teams/{team.id}/events/creator/{creator.id}")).json()
    assert [e["changes"]["tags"]["new"] for e in reversed(events["items"])] == [["beauty", "vip"], ["vip"]]
