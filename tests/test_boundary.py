"""The decoding boundary: malformed bodies are refused before any handler runs, naming the problem."""

from __future__ import annotations

from typing import Any

import pytest

from app.lib.boundary import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import ApiClient

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


async def brand_count(owner_connection, team) -> int:
    return await owner_connection.fetchval("SELECT count(*) FROM brands WHERE team_id = $1", team.id)


async def test_invalid_utf8_is_a_400_on_a_public_route(test_client: ApiClient) -> None:
    response = await test_client.post("/api/auth/login", content=b'{"email":"\xff"}', headers=JSON)
    body = assert_problem(response, 400, "invalid_encoding")
    assert "UTF-8" in body["detail"]


async def test_invalid_utf8_inside_a_string_is_a_400(
    authenticated_client: ApiClient, team, owner_connection
) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=b'{"name":"ab\xc3\x28"}', headers=JSON
    )
    assert_problem(response, 400, "invalid_encoding")
    assert await brand_count(owner_connection, team) == 0


@pytest.mark.parametrize(
    "payload",
    [b"[" * 10_000 + b"]" * 10_000, b'{"name":"A","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}"],
    ids=["as-the-body", "as-an-unknown-field"],
)
async def test_deep_nesting_is_a_400(authenticated_client: ApiClient, team, payload: bytes) -> None:
    response = await authenticated_client.post(f"/api/teams/{team.id}/brands", content=payload, headers=JSON)
    body = assert_problem(response, 400, "too_deep")
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_depth_ignores_brackets_inside_strings() -> None:
    assert not json_depth_exceeds(b'{"name": "' + b"[" * 100 + b'"}')
    assert not json_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_json_is_a_415(
    authenticated_client: ApiClient, team, owner_connection, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=b'{"name": "Acme"}', headers=headers
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert await brand_count(owner_connection, team) == 0


async def test_json_with_a_charset_is_fine(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands",
        content=b'{"name": "Acme"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_nul_is_a_400_naming_every_field(
    authenticated_client: ApiClient, team, owner_connection
) -> None:
    payload = '{"name": "Ac\\u0000me", "website": null, "description": "x\\u0000"}'
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=payload.encode(), headers=JSON
    )
    body = assert_problem(response, 400, "validation_failed")
    assert {e["key"] for e in body["errors"]} == {"name", "description"}
    assert await brand_count(owner_connection, team) == 0


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff"])
async def test_an_unpaired_surrogate_is_a_400(authenticated_client: ApiClient, team, escape: str) -> None:
    payload = '{"name": "Ac' + escape + 'me"}'
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=payload.encode(), headers=JSON
    )
    assert_problem(response, 400, "malformed_json")


async def test_a_valid_surrogate_pair_is_fine(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", content=b'{"name": "Smile \\ud83d\\ude00"}', headers=JSON
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Smile \U0001f600"


async def test_nul_in_a_register_name_is_a_400_not_a_conflict(
    test_client: ApiClient, owner_connection
) -> None:
    response = await test_client.post(
        "/api/auth/register",
        json={"email": "nul@example.com", "password": "long enough password", "name": "a\x00b"},
    )
    assert assert_problem(response, 400, "validation_failed")["errors"][0]["key"] == "name"
    assert await owner_connection.fetchval("SELECT count(*) FROM users") == 0


async def test_nul_in_a_query_parameter_is_a_400(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.get(f"/api/teams/{team.id}/creators?q=a%00b")
    body = assert_problem(response, 400, "validation_failed")
    assert body["errors"][0] == {
        "key": "q",
        "message": "Must not contain the NUL character",
        "source": "query",
    }


async def test_every_failing_field_is_reported_at_once(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/brands", json={"name": 5, "website": 7, "colour": "red"}
    )
    body = assert_problem(response, 400, "validation_failed")
    assert {e["key"] for e in body["errors"]} == {"name", "website", "colour"}


async def test_missing_required_fields_are_all_named(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.post(f"/api/teams/{team.id}/campaigns", json={})
    body = assert_problem(response, 400, "validation_failed")
    keys = {e["key"] for e in body["errors"]}
    assert {"name", "brand_id", "budget"} <= keys
    assert all(e["message"] == "Is required" for e in body["errors"])


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("scheduled_before=0.5", "scheduled_before"),
        ("scheduled_after=2026-01-01T00:00:00", "scheduled_after"),
        ("scheduled_after=1700000000", "scheduled_after"),
    ],
)
async def test_query_date_times_must_be_rfc3339_with_a_zone(
    authenticated_client: ApiClient, team, query: str, key: str
) -> None:
    from tests.factories import CampaignFactory

    campaign = await CampaignFactory.create_async(team_id=team.id)
    response = await authenticated_client.get(f"/api/teams/{team.id}/campaigns/{campaign.id}/posts?{query}")
    body = assert_problem(response, 400, "validation_failed")
    assert body["errors"][0]["key"] == key


async def test_query_dates_must_be_dates(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.get(f"/api/teams/{team.id}/campaigns?start_after=20270101")
    assert assert_problem(response, 400, "validation_failed")["errors"][0]["key"] == "start_after"


async def test_an_offset_past_the_maximum_names_the_parameter(authenticated_client: ApiClient, team) -> None:
    response = await authenticated_client.get(f"/api/teams/{team.id}/brands?offset=99999999999999999999")
    assert assert_problem(response, 400, "validation_failed")["errors"][0]["key"] == "offset"


async def test_options_lists_every_method_of_the_path(authenticated_client: ApiClient, team) -> None:
    for path, methods in [
        ("/api/teams", "GET, OPTIONS, POST"),
        (f"/api/teams/{team.id}/brands/{team.id}", "DELETE, GET, OPTIONS, PUT"),
        ("/api/me", "GET, OPTIONS, PUT"),
    ]:
        response = await authenticated_client.request("OPTIONS", path)
        assert response.headers["allow"] == methods, path


async def test_a_naive_date_time_in_a_body_is_a_400_naming_the_field(
    authenticated_client: ApiClient, team, owner_connection
) -> None:
    from tests.factories import CampaignCreatorFactory, CampaignFactory

    campaign = await CampaignFactory.create_async(team_id=team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/campaigns/{campaign.id}/posts",
        json={
            "creator_id": str(booking.creator_id),
            "platform": "instagram",
            "scheduled_at": "2025-01-01T00:00:00",
        },
    )
    body = assert_problem(response, 400, "validation_failed")
    assert body["errors"][0]["key"] == "scheduled_at"
    assert "time zone" in body["errors"][0]["message"]
    assert await owner_connection.fetchval("SELECT count(*) FROM posts") == 0


@pytest.mark.parametrize("budget", ["1e-999999999", "0.001", 1e-300])
async def test_money_that_needs_rounding_is_refused(authenticated_client: ApiClient, team, budget) -> None:
    from tests.factories import BrandFactory

    brand = await BrandFactory.create_async(team_id=team.id)
    response = await authenticated_client.post(
        f"/api/teams/{team.id}/campaigns",
        json={"name": "Tiny", "brand_id": str(brand.id), "budget": budget, "currency": "EUR"},
    )
    assert assert_problem(response, 400, "validation_failed")["errors"][0]["key"] == "budget"
