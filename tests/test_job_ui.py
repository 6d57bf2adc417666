"""The SAQ web UI at /saq: open in development, platform admins only elsewhere."""

from __future__ import annotations

import httpx

from app.main import create_app
from tests.conftest import ApiClient, make_settings
from tests.database import TestDatabase
from tests.factories import UserFactory


async def test_job_ui_is_open_in_development(test_client: ApiClient) -> None:
    page = await test_client.get("/saq")
    assert page.status_code == 200
    queues = await test_client.get("/saq/api/queues")
    assert queues.status_code == 200
    assert [queue["name"] for queue in queues.json()["queues"]] == ["default"]


async def test_job_ui_is_for_platform_admins_outside_development(database: TestDatabase) -> None:
    production_app = create_app(make_settings(database, APP_ENV="production", SECRET_KEY="x" * 40))
    admin = await UserFactory.create_async(is_platform_admin=True)
    member = await UserFactory.create_async()

    def bearer(user) -> dict[str, str]:
        token = production_app.state.access_tokens.issue(user.id, is_platform_admin=user.is_platform_admin)
        return {"Authorization": f"Bearer {token}"}

    async with production_app.lifespan():
        transport = httpx.ASGITransport(app=production_app)  # pyright: ignore[reportArgumentType]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/saq/api/queues")).status_code == 401
            assert (await client.get("/saq/api/queues", headers=bearer(member))).status_code == 403
            assert (await client.get("/saq/api/queues", headers=bearer(admin))).status_code == 200
