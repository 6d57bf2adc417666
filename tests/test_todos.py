"""To-dos: assignees from the team, posts from the campaign, due dates; other teams see nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext, set_tenant
from app.todos.services import today
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import CampaignCreatorFactory, CampaignFactory, PostFactory, TodoFactory


def todos_url(team_id, campaign_id, todo_id=None) -> str:
    base = f"/api/teams/{team_id}/campaigns/{campaign_id}/todos"
    return f"{base}/{todo_id}" if todo_id else base


def update_body(todo: dict, **changes) -> dict:
    fields = ("title", "description", "assignee_id", "due_date", "status", "post_id", "version")
    return {**{k: todo[k] for k in fields}, **changes}


async def test_create_and_get_a_todo(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    body = {
        "title": "Review the draft",
        "assignee_id": str(a.member.id),
        "due_date": "2026-12-10",
        "post_id": str(post.id),
    }
    response = await a.owner_client.post(todos_url(a.team.id, campaign.id), json=body)
    assert response.status_code == 201, response.text
    todo = response.json()
    assert (todo["status"], todo["assignee_id"], todo["post_id"]) == ("open", str(a.member.id), str(post.id))
    assert (await a.member_client.get(todos_url(a.team.id, campaign.id, todo["id"]))).json() == todo


async def test_create_todo_rejects_bad_input_and_unknown_references(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    other_campaign = await CampaignFactory.create_async(team_id=a.team.id, brand_id=campaign.brand_id)
    other_post = await PostFactory.for_booking(await CampaignCreatorFactory.book(other_campaign))
    url = todos_url(a.team.id, campaign.id)
    for body in ({}, {"title": ""}, {"title": "T", "due_date": "soon"}, {"title": "T", "status": "done"}):
        assert (await a.owner_client.post(url, json=body)).status_code == 400, body
    for key, body in (
        ("assignee_id", {"title": "T", "assignee_id": str(b.member.id)}),
        ("post_id", {"title": "T", "post_id": str(other_post.id)}),
    ):
        response = await a.owner_client.post(url, json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["key"] == key
    assert (await a.owner_client.get(url)).json()["total"] == 0


async def test_update_is_declarative_versioned_and_recorded(
    authenticated_client: ApiClient, team, user
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    todo = await TodoFactory.for_campaign(campaign, title="Brief")
    url = todos_url(team.id, campaign.id, todo.id)
    current = (await authenticated_client.get(url)).json()
    assert (await authenticated_client.put(url, json={"title": "X", "version": 1})).status_code == 400

    done = await authenticated_client.put(
        url, json=update_body(current, status="done", assignee_id=str(user.id))
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["version"]) == ("done", 2)
    stale = await authenticated_client.put(url, json=update_body(current, title="Lost"))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2

    history = (await authenticated_client.get(f"/api/teams/{team.id}/events/todo/{todo.id}")).json()
    assert [e["event_type"] for e in history["items"]] == ["status_changed", "updated"]
    assert history["items"][1]["changes"]["assignee_id"] == {"old": None, "new": str(user.id)}


async def test_list_filters_by_status_assignee_and_due_dates(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    yesterday, next_week = today() - timedelta(days=1), today() + timedelta(days=7)
    await TodoFactory.for_campaign(campaign, title="Late", due_date=yesterday, assignee_id=a.member.id)
    await TodoFactory.for_campaign(campaign, title="Late but done", due_date=yesterday, status="done")
    await TodoFactory.for_campaign(campaign, title="Soon", due_date=next_week, status="in_progress")
    await TodoFactory.for_campaign(campaign, title="Someday")
    url = todos_url(a.team.id, campaign.id)

    ordered = (await a.owner_client.get(url)).json()
    assert [t["title"] for t in ordered["items"]] == ["Late", "Late but done", "Soon", "Someday"]
    assert [t["title"] for t in (await a.owner_client.get(url + "?overdue=true")).json()["items"]] == ["Late"]
    assert (await a.owner_client.get(url + f"?assignee_id={a.member.id}")).json()["total"] == 1
    assert (await a.owner_client.get(url + "?status=in_progress")).json()["total"] == 1
    after = (await a.owner_client.get(url + f"?due_after={today().isoformat()}")).json()
    assert [t["title"] for t in after["items"]] == ["Soon"]
    before = (await a.owner_client.get(url + f"?due_before={today().isoformat()}&limit=1")).json()
    assert (before["total"], len(before["items"])) == (2, 1)
    assert (await a.owner_client.get(url + "?q=soon")).json()["total"] == 1
    assert (await a.owner_client.get(url + "?due_before=2026-13-01")).status_code == 400


async def test_deleting_a_post_keeps_its_todos_and_a_campaign_takes_them(
    authenticated_client: ApiClient, team, db_session: AsyncSession
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    todo = await TodoFactory.for_campaign(campaign, post_id=post.id)
    campaign_url = f"/api/teams/{team.id}/campaigns/{campaign.id}"
    assert (await authenticated_client.delete(f"{campaign_url}/posts/{post.id}")).status_code == 204
    assert (await authenticated_client.get(todos_url(team.id, campaign.id, todo.id))).json()[
        "post_id"
    ] is None

    assert (await authenticated_client.delete(todos_url(team.id, campaign.id, todo.id))).status_code == 204
    assert (await authenticated_client.get(todos_url(team.id, campaign.id, todo.id))).status_code == 404
    await TodoFactory.for_campaign(campaign)
    assert (await authenticated_client.delete(campaign_url)).status_code == 204
    set_tenant(db_session, TenantContext(team_id=team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM todos"))).scalar_one() == 0


async def test_another_teams_user_gets_404_and_no_data(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=b.team.id)
    todo = await TodoFactory.for_campaign(campaign, title="Secret to-do")
    update = {
        "title": "Hacked",
        "description": None,
        "assignee_id": None,
        "due_date": None,
        "status": "done",
        "post_id": None,
        "version": 1,
    }
    attempts = []
    for team_id in (b.team.id, a.team.id):
        attempts += [
            ("GET", todos_url(team_id, campaign.id), None),
            ("POST", todos_url(team_id, campaign.id), {"title": "Injected"}),
            ("GET", todos_url(team_id, campaign.id, todo.id), None),
            ("PUT", todos_url(team_id, campaign.id, todo.id), update),
            ("DELETE", todos_url(team_id, campaign.id, todo.id), None),
        ]
    for method, url, payload in attempts:
        response = await a.owner_client.request(method, url, json=payload)
        assert response.status_code == 404, (method, url, response.text)
        assert "Secret to-do" not in response.text
    kept = (await b.owner_client.get(todos_url(b.team.id, campaign.id, todo.id))).json()
    assert (kept["title"], kept["status"]) == ("Secret to-do", "open")


async def test_list_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    await TodoFactory.for_campaign(campaign, due_date=date(2026, 1, 1))
    query_counter.reset()
    await authenticated_client.get(todos_url(team.id, campaign.id) + "?limit=100")
    with_one = query_counter.count
    for _ in range(15):
        await TodoFactory.for_campaign(campaign)
    query_counter.reset()
    assert (await authenticated_client.get(todos_url(team.id, campaign.id) + "?limit=100")).json()[
        "total"
    ] == 16
    assert query_counter.count == with_one <= 4


async def test_a_finished_campaign_takes_no_new_todos(authenticated_client: ApiClient, team) -> None:
    for status in ("completed", "archived", "active"):
        campaign = await CampaignFactory.create_async(team_id=team.id, status=status)
        url = todos_url(team.id, campaign.id)
        response = await authenticated_client.post(url, json={"title": "One more thing"})
        if status == "active":
            assert response.status_code == 201, response.text
            assert (await authenticated_client.get(url)).json()["total"] == 1
            continue
        assert response.status_code == 409, (status, response.text)
        assert response.json()["campaign_status"] == status
        assert f"This campaign is {status}" in response.json()["detail"]
        assert "to-dos" in response.json()["detail"]
        assert (await authenticated_client.get(url)).json()["total"] == 0, status


async def test_a_completed_campaigns_todos_still_update_an_archived_ones_are_read_only(
    authenticated_client: ApiClient, team
) -> None:
    completed = await CampaignFactory.create_async(team_id=team.id, status="completed")
    todo = await TodoFactory.for_campaign(completed, title="Send the report")
    url = todos_url(team.id, completed.id, todo.id)
    current = (await authenticated_client.get(url)).json()
    done = await authenticated_client.put(url, json=update_body(current, status="done"))
    assert done.status_code == 200, done.text
    assert (await authenticated_client.delete(url)).status_code == 204

    archived = await CampaignFactory.create_async(team_id=team.id, status="archived")
    todo = await TodoFactory.for_campaign(archived, title="Left open")
    url = todos_url(team.id, archived.id, todo.id)
    before = (await authenticated_client.get(url)).json()
    for method, payload in (("PUT", update_body(before, status="done")), ("DELETE", None)):
        response = await authenticated_client.request(method, url, json=payload)
        assert response.status_code == 409, (method, response.text)
        assert response.json()["campaign_status"] == "archived"
        assert "archived, so its to-dos are read-only" in response.json()["detail"]
    assert (await authenticated_client.get(url)).json() == before
