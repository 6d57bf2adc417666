"""Sessions that end: an access token stops working once its sessions were ended, at once."""

from __future__ import annotations

import pytest

from app.users.models import User
from tests.conftest import ApiClient
from tests.factories import DEFAULT_PASSWORD, TeamFactory, UserFactory


async def signed_in(test_client: ApiClient) -> tuple[ApiClient, dict, User]:
    user = await UserFactory.create_async()
    response = await test_client.post(
        "/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    return ApiClient(test_client.client, token=tokens["access_token"], user=user), tokens, user


async def assert_ended(client: ApiClient, team_id) -> None:
    """Refused everywhere: a user route, a team route, and a write (nothing written)."""
    for response in (
        await client.get("/api/me"),
        await client.get(f"/api/teams/{team_id}/brands"),
        await client.post("/api/teams", json={"name": "After the end"}),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "session_ended"


async def test_logout_everywhere_ends_the_access_token(test_client: ApiClient, owner_connection) -> None:
    client, _, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    assert (await client.get(f"/api/teams/{team.id}/brands")).status_code == 200
    assert (await client.post("/api/auth/logout", json={})).status_code == 204
    await assert_ended(client, team.id)
    assert await owner_connection.fetchval("SELECT count(*) FROM teams WHERE name = 'After the end'") == 0


async def test_a_password_change_ends_the_access_token_and_a_new_login_works(test_client: ApiClient) -> None:
    client, _, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    response = await client.post(
        "/api/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "a brand new password"},
    )
    assert response.status_code == 204, response.text
    await assert_ended(client, team.id)
    login = await test_client.post(
        "/api/auth/login", json={"email": user.email, "password": "a brand new password"}
    )
    fresh = ApiClient(test_client.client, token=login.json()["access_token"])
    assert (await fresh.get("/api/me")).status_code == 200
    assert (await fresh.get(f"/api/teams/{team.id}/brands")).status_code == 200


@pytest.mark.parametrize(
    "statement",
    ["UPDATE users SET is_active = false WHERE id = $1", "DELETE FROM users WHERE id = $1"],
    ids=["deactivated", "deleted"],
)
async def test_a_closed_account_ends_the_access_token(
    test_client: ApiClient, owner_connection, statement: str
) -> None:
    client, _, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    await owner_connection.execute(statement, user.id)
    await assert_ended(client, team.id)


async def test_logging_out_one_session_ends_its_access_token_and_keeps_the_others(
    test_client: ApiClient,
) -> None:
    client, tokens, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    login = await test_client.post(
        "/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    other = ApiClient(test_client.client, token=login.json()["access_token"])
    assert (
        await client.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204
    await assert_ended(client, team.id)
    assert (await other.get("/api/me")).status_code == 200
    assert (await other.get(f"/api/teams/{team.id}/brands")).status_code == 200


async def test_a_refreshed_token_belongs_to_the_same_session(test_client: ApiClient) -> None:
    _, tokens, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    refreshed = await test_client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    client = ApiClient(test_client.client, token=refreshed.json()["access_token"])
    assert (await client.get("/api/me")).status_code == 200
    logout = await client.post("/api/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert logout.status_code == 204
    await assert_ended(client, team.id)


async def test_a_token_with_a_malformed_session_id_is_refused(test_client: ApiClient, app) -> None:
    user = await UserFactory.create_async()
    token = app.state.access_tokens._jwt_auth.create_token(
        identifier=str(user.id),
        token_issuer="campaign-platform",
        token_extras={"adm": False, "sep": 0, "sid": "not-a-uuid"},
    )
    assert (await ApiClient(test_client.client, token=token).get("/api/me")).status_code == 401


async def test_a_team_route_checks_the_session_in_the_membership_statement(
    test_client: ApiClient, round_trips
) -> None:
    client, _, user = await signed_in(test_client)
    team = await TeamFactory.create_with_owner(user)
    round_trips.reset()
    assert (await client.get(f"/api/teams/{team.id}/brands")).status_code == 200
    session_checks = [sql for _, sql, _ in round_trips.entries if "session_epoch" in sql]
    assert len(session_checks) == 1
    assert "team_members" in session_checks[0]  # joined into the membership lookup: no extra round trip


async def test_a_token_with_a_forged_epoch_type_is_refused(test_client: ApiClient, app) -> None:
    user = await UserFactory.create_async()
    token = app.state.access_tokens._jwt_auth.create_token(
        identifier=str(user.id), token_issuer="campaign-platform", token_extras={"adm": False, "sep": "0"}
    )
    response = await ApiClient(test_client.client, token=token).get("/api/me")
    assert response.status_code == 401
