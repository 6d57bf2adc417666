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


async def test_submit_request_changes_with_a_comment_then_resubmit(
    authenticated_client: ApiClient, team
) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking)
    submit = actions_url(team.id, "post", post.id, "submit_for_review")
    response = await authenticated_client.post(submit, json=body("post", "submit_for_review", 1))
    assert response.json()["object"]["status"] == "submitted"
    request_changes = actions_url(team.id, "post", post.id, "request_changes")
    blank = await authenticated_client.post(
        request_changes, json=body("post", "request_changes", 2, {"comment": " "})
    )
    assert blank.status_code == 400
    assert blank.json()["errors"][0]["key"] == "input.comment"
    response = await authenticated_client.post(
        request_changes, json=body("post", "request_changes", 2, {"comment": "Show the logo first."})
    )
    assert response.status_code == 200, response.text
    assert response.json()["object"]["status"] == "changes_requested"
    milestone = (
        await authenticated_client.get(
            f"/api/teams/{team.id}/events/post/{post.id}?event_type=status_changed"
        )
    ).json()["items"][0]
    assert milestone["changes"] == {
        "status": {"old": "submitted", "new": "changes_requested"},
        "comment": {"old": None, "new": "Show the logo first."},
    }
    again = await authenticated_client.post(submit, json=body("post", "submit_for_review", 3))
    assert again.json()["object"]["status"] == "submitted"


async def test_the_change_request_comment_is_the_requesters_message_in_the_posts_thread(
    authenticated_client: ApiClient, team, user
) -> None:
    """The reviewer's words arrive in the thread as their own message (editable, replyable, with
    their name), right after the system message of the status change that carries it too."""
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    response = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "request_changes"),
        json=body("post", "request_changes", 1, {"comment": "  Show the logo first.  "}),
    )
    assert response.status_code == 200, response.text
    thread = f"/api/teams/{team.id}/threads/post/{post.id}/messages"
    listed = await authenticated_client.get(thread)
    assert listed.status_code == 200, listed.text
    newest_first = listed.json()["items"]
    said = [m for m in newest_first if m["kind"] == "user"]
    assert [(m["author_id"], m["author_name"], m["body"]) for m in said] == [
        (str(user.id), user.name, "Show the logo first.")
    ]
    system = [m for m in newest_first if m["kind"] == "system" and m["event_type"] == "status_changed"]
    assert len(system) == 1
    assert system[0]["changes"]["comment"]["new"] == "Show the logo first."
    assert newest_first.index(said[0]) < newest_first.index(system[0])  # after it, in the thread's order

    edited = await authenticated_client.put(
        f"{thread}/{said[0]['id']}",
        json={"body": "Show the logo first, then the product.", "mentions": [], "version": 1},
    )
    assert edited.status_code == 200, edited.text

    approve = await PostFactory.for_booking(booking, status="submitted")
    await authenticated_client.post(
        actions_url(team.id, "post", approve.id, "approve"), json=body("post", "approve", 1)
    )
    quiet = (
        await authenticated_client.get(f"/api/teams/{team.id}/threads/post/{approve.id}/messages")
    ).json()
    assert [m["kind"] for m in quiet["items"]] == ["system", "system"]  # no comment, no message


async def test_publish_records_url_and_metrics_and_unschedule_clears_the_time(
    authenticated_client: ApiClient, team
) -> None:
    _, booking = await booked_campaign(team.id)
    when = datetime.now(tz=UTC) + timedelta(days=3)
    scheduled = await PostFactory.for_booking(booking, status="scheduled", scheduled_at=when)
    other = await PostFactory.for_booking(booking, status="scheduled", scheduled_at=when)
    response = await authenticated_client.post(
        actions_url(team.id, "post", scheduled.id, "unschedule"), json=body("post", "unschedule", 1)
    )
    assert response.status_code == 200, response.text
    assert (response.json()["object"]["status"], response.json()["object"]["scheduled_at"]) == (
        "approved",
        None,
    )

    publish = actions_url(team.id, "post", other.id, "publish")
    bad = await authenticated_client.post(
        publish, json=body("post", "publish", 1, {"published_url": "not a url", "views": -1})
    )
    assert bad.status_code == 400
    assert {e["key"] for e in bad.json()["errors"]} == {"input.published_url", "input.views"}
    response = await authenticated_client.post(
        publish, json=body("post", "publish", 1, {"published_url": "https://tiktok.com/@a/1", "views": 1200})
    )
    assert response.status_code == 200, response.text
    published = response.json()["object"]
    assert (published["status"], published["published_url"], published["views"], published["likes"]) == (
        "published",
        "https://tiktok.com/@a/1",
        1200,
        0,
    )
    assert published["published_at"] is not None
    listing = by_name((await authenticated_client.get(actions_url(team.id, "post", other.id))).json())
    assert not any(item["available"] for item in listing.values())


async def test_the_body_must_name_the_action_of_the_path(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    url = actions_url(team.id, "post", post.id, "approve")
    for sent, key in (
        ({"action": "post.publish", "version": 1}, "action"),
        ({"action": "post.approve"}, "version"),
        ({"action": "post.approve", "version": 1, "input": {"x": 1}}, "input"),
        ({"action": "post.approve", "version": 1, "extra": True}, "extra"),
    ):
        response = await authenticated_client.post(url, json=sent)
        assert response.status_code == 400, sent
        assert key in [e["key"] for e in response.json()["errors"]], (sent, response.json())
    truncated = await authenticated_client.post(
        url, content=b"[1", headers={"Content-Type": "application/json"}
    )
    assert truncated.status_code == 400
    assert (await authenticated_client.post(url, json=[1])).status_code == 400
    no_tag = await authenticated_client.post(url, json={"version": 1})
    assert no_tag.status_code == 200, no_tag.text
    assert (await authenticated_client.get(actions_url(team.id, "spaceship", post.id))).status_code == 404
    unknown = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "launch"), json={"version": 2}
    )
    assert unknown.status_code == 404
    assert "approve" in unknown.json()["detail"]


async def test_a_missing_or_empty_body_is_400(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    url = actions_url(team.id, "post", post.id, "approve")
    for kwargs in ({}, {"content": b""}, {"json": None}, {"json": "approve"}):
        response = await authenticated_client.post(url, **kwargs)
        assert response.status_code == 400, (kwargs, response.text)


async def test_an_action_records_exactly_the_events_of_the_same_put(
    authenticated_client: ApiClient, team
) -> None:
    campaign, booking = await booked_campaign(team.id)
    by_action = await PostFactory.for_booking(booking, status="submitted")
    by_put = await PostFactory.for_booking(booking, status="submitted")
    await authenticated_client.post(
        actions_url(team.id, "post", by_action.id, "approve"), json=body("post", "approve", 1)
    )
    url = f"/api/teams/{team.id}/campaigns/{campaign.id}/posts/{by_put.id}"
    current = (await authenticated_client.get(url)).json()
    fields = ("creator_id", "platform", "caption", "scheduled_at", "published_at", "published_url")
    sent = {k: current[k] for k in fields} | {"views": 0, "likes": 0, "comments": 0, "shares": 0}
    response = await authenticated_client.put(url, json={**sent, "status": "approved", "version": 1})
    assert response.status_code == 200, response.text

    def shape(post_id) -> list[tuple]:
        return [(e["event_type"], e["changes"], e["actor_id"]) for e in events[str(post_id)]]

    events = {}
    for post_id in (by_action.id, by_put.id):
        listed = await authenticated_client.get(f"/api/teams/{team.id}/events/post/{post_id}")
        events[str(post_id)] = listed.json()["items"]
    assert shape(by_action.id) == shape(by_put.id)
