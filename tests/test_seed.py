"""`make seed`: a demo team with every status, through the services, loaded once."""

from __future__ import annotations

from litestar import Litestar

from app.seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from tests.conftest import ApiClient
from tests.factories import _passwords


async def test_seed_loads_a_demo_team_once(app: Litestar, test_client: ApiClient) -> None:
    result = await seed_demo(app.state.session_maker, _passwords)
    assert result is not None
    assert await seed_demo(app.state.session_maker, _passwords) is None

    login = await test_client.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    demo = ApiClient(test_client.client, token=login.json()["access_token"])
    dashboard = (await demo.get(f"/api/teams/{result.team_id}/dashboard")).json()
    assert set(dashboard["campaigns_by_status"].values()) == {1}
    assert set(dashboard["posts_by_status"].values()) == {5}
    assert dashboard["overdue_todos"] > 0
    assert (await demo.get(f"/api/teams/{result.team_id}/creators")).json()["total"] == 4
    assert (await demo.get(f"/api/teams/{result.team_id}/events")).json()["total"] > 50
