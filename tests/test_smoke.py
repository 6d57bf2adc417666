async def test_health_reports_database_and_version(test_client) -> None:
    response = await test_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["version"]


async def test_brand_factory(authenticated_client, team) -> None:
    from tests.factories import BrandFactory

    brand = await BrandFactory.create_async(team_id=team.id)
    response = await authenticated_client.get(f"/api/teams/{team.id}/brands")
    assert response.status_code == 200, response.text
    assert [b["id"] for b in response.json()["items"]] == [str(brand.id)]
