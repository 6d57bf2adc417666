"""The team dashboard: counts, money per currency, overdue to-dos, in a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.todos.services import today
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import CampaignCreatorFactory, CampaignFactory, PostFactory, TodoFactory


def dashboard_url(team_id) -> str:
    return f"/api/teams/{team_id}/dashboard"


async def _populate(team_id) -> None:
    active = await CampaignFactory.create_async(team_id=team_id, status="active", budget=Decimal("5000.00"))
    ada = await CampaignCreatorFactory.book(active, agreed_fee=Decimal("1200.50"))
    bob = await CampaignCreatorFactory.book(active, agreed_fee=Decimal("800.00"))
    await PostFactory.for_booking(ada, status="published")
    await PostFactory.for_booking(ada, status="published")  # paid once per campaign
    await PostFactory.for_booking(bob, status="approved")
    await CampaignFactory.create_async(team_id=team_id, budget=Decimal("300.00"), currency="USD")
    archived = await CampaignFactory.create_async(
        team_id=team_id, status="archived", budget=Decimal("9999.00")
    )
    await CampaignCreatorFactory.book(archived, agreed_fee=Decimal("100.00"))
    yesterday = today() - timedelta(days=1)
    await TodoFactory.for_campaign(active, due_date=yesterday)
    await TodoFactory.for_campaign(active, due_date=yesterday, status="done")
    await TodoFactory.for_campaign(active, due_date=today())
    await TodoFactory.for_campaign(archived, due_date=yesterday, status="in_progress")


async def test_dashboard_summarises_the_team(authenticated_client: ApiClient, team) -> None:
    await _populate(team.id)
    response = await authenticated_client.get(dashboard_url(team.id))
    assert response.status_code == 200, response.text
    dashboard = response.json()
    assert dashboard["campaigns_by_status"] == {
        "draft": 1,
        "active": 1,
        "paused": 0,
        "completed": 0,
        "archived": 1,
    }
    assert dashboard["posts_by_status"] == {
        "draft": 0,
        "submitted": 0,
        "changes_requested": 0,
        "approved": 1,
        "scheduled": 0,
        "published": 2,
    }
    assert dashboard["money"] == [
        {
            "currency": "EUR",
            "budget": "5000.00",
            "committed": "2000.50",
            "spent": "1200.50",
            "remaining": "2999.50",
        },
        {"currency": "USD", "budget": "300.00", "committed": "0.00", "spent": "0.00", "remaining": "300.00"},
    ]
    assert dashboard["overdue_todos"] == 2
    assert dashboard["as_of"] == today().isoformat()


async def test_an_empty_team_has_zeros(authenticated_client: ApiClient, team) -> None:
    dashboard = (await authenticated_client.get(dashboard_url(team.id))).json()
    assert set(dashboard["campaigns_by_status"].values()) == {0}
    assert (dashboard["money"], dashboard["overdue_todos"]) == ([], 0)


async def test_another_teams_user_gets_404_and_their_own_numbers(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    await _populate(b.team.id)
    response = await a.owner_client.get(dashboard_url(b.team.id))
    assert response.status_code == 404
    assert "5000" not in response.text
    own = (await a.member_client.get(dashboard_url(a.team.id))).json()
    assert (own["money"], own["overdue_todos"], own["posts_by_status"]["published"]) == ([], 0, 0)


async def test_dashboard_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    query_counter.reset()
    await authenticated_client.get(dashboard_url(team.id))
    empty = query_counter.count
    await _populate(team.id)
    await _populate(team.id)
    query_counter.reset()
    assert (await authenticated_client.get(dashboard_url(team.id))).json()["overdue_todos"] == 4
    assert query_counter.count == empty <= 6  # context, membership, four aggregates
