"""One error shape for every failure, with the right status and never a 500 for bad input."""

from __future__ import annotations

import pytest

from tests.conftest import ApiClient

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def test_malformed_json_is_a_400(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in assert_problem(response, 400)["detail"]


async def test_unknown_fields_are_rejected_by_name(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", json={"name": "A", "colour": "red"}
    )
    body = assert_problem(response, 400)
    assert body["errors"][0]["key"] == "colour"


async def test_wrong_types_name_the_field(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": 5})
    body = assert_problem(response, 400)
    assert body["errors"] == [{"key": "name", "message": "Expected `str`, got `int`", "source": "body"}]


async def test_a_body_that_is_not_an_object_is_a_400(authenticated_client: ApiClient, team) -> None:
    assert_problem(await authenticated_client.post(f"/api/teams/{team.id}/brands", json=[1, 2]), 400)


async def test_oversize_bodies_are_a_413(authenticated_client: ApiClient, team, settings) -> None:
    payload = b'{"name": "' + b"x" * settings.max_request_body_bytes + b'"}'
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=payload, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("path", ["/api/teams/not-a-uuid", "/api/teams/{team}/brands/123", "/api/nowhere"])
async def test_bad_ids_and_unknown_paths_are_a_404(authenticated_client: ApiClient, team, path: str) -> None:
    body = assert_problem(await authenticated_client.get(path.format(team=team.id)), 404)
    assert "UUID" in body["detail"]


async def test_bad_query_parameters_name_the_parameter(authenticated_client: ApiClient, team) -> None:
    body = assert_problem(await authenticated_client.get(f"/api/teams/{team.id}/brands?limit=0"), 400)
    assert body["errors"][0]["key"] == "limit"


async def test_wrong_method_is_a_405(authenticated_client: ApiClient) -> None:
    assert_problem(await authenticated_client.request("PATCH", "/api/me"), 405)


async def test_missing_token_is_a_401_problem(test_client: ApiClient) -> None:
    assert_problem(await test_client.get("/api/teams"), 401)
