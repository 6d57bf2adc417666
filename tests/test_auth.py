"""Register, log in, refresh with rotation, log out, profile and password."""

from __future__ import annotations

import jwt
import pytest
from litestar import Litestar

from tests.conftest import ApiClient
from tests.factories import DEFAULT_PASSWORD, UserFactory

PASSWORD = "a sturdy passphrase"


async def register(client: ApiClient, email: str = "ada@example.com", password: str = PASSWORD) -> dict:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": password, "name": "Ada"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def login(client: ApiClient, email: str = "ada@example.com", password: str = PASSWORD) -> dict:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def test_register_then_login_returns_a_bearer_pair(test_client: ApiClient) -> None:
    user = await register(test_client, email="Ada@Example.com")
    assert user["email"] == "ada@example.com"
    assert "password" not in str(user)

    tokens = await login(test_client, email="ADA@example.com")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await test_client.get("/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_register_rejects_a_duplicate_email(test_client: ApiClient) -> None:
    await register(test_client)
    response = await test_client.post(
        "/api/auth/register", json={"email": "ADA@example.com", "password": PASSWORD, "name": "Other"}
    )
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "name": "A"}, "email"),
        ({"email": "a@b.co", "password": "short", "name": "A"}, "password"),
        ({"email": "a@b.co", "password": PASSWORD, "name": ""}, "name"),
        ({"email": "a@b.co", "password": PASSWORD}, "name"),
        (
            {"email": "a@b.co", "password": PASSWORD, "name": "A", "is_platform_admin": True},
            "is_platform_admin",
        ),
    ],
)
async def test_register_rejects_bad_input_naming_the_field(
    test_client: ApiClient, body: dict, field: str
) -> None:
    response = await test_client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


async def test_login_failure_does_not_reveal_whether_the_email_exists(test_client: ApiClient) -> None:
    await register(test_client)
    wrong_password = await test_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "nope"}
    )
    unknown_email = await test_client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": "nope"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]


async def test_login_is_throttled_per_account(test_client: ApiClient, settings) -> None:
    await register(test_client)
    for _ in range(settings.auth.login_max_failures_per_account):
        response = await test_client.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "wrong"}
        )
        assert response.status_code == 401
    blocked = await test_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_login_is_throttled_per_address(test_client: ApiClient, settings) -> None:
    await register(test_client)
    for attempt in range(settings.auth.login_max_failures_per_address):
        response = await test_client.post(
            "/api/auth/login", json={"email": f"nobody{attempt}@example.com", "password": "wrong"}
        )
        assert response.status_code == 401
    blocked = await test_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429


async def test_inactive_users_cannot_log_in(test_client: ApiClient) -> None:
    user = await UserFactory.create_async(is_active=False)
    response = await test_client.post(
        "/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 401


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(test_client: ApiClient) -> None:
    await register(test_client)
    first = await login(test_client)

    rotated = await test_client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    reused = await test_client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]

    # The thief's reuse also killed the legitimate successor.
    successor = await test_client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert successor.status_code == 401


async def test_refresh_rejects_unknown_tokens(test_client: ApiClient) -> None:
    response = await test_client.post("/api/auth/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401


async def test_logout_revokes_the_refresh_token(test_client: ApiClient) -> None:
    await register(test_client)
    tokens = await login(test_client)
    other_session = await login(test_client)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    response = await test_client.post(
        "/api/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=auth
    )
    assert response.status_code == 204
    assert (
        await test_client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    still_valid = await test_client.post(
        "/api/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert still_valid.status_code == 200


async def test_logout_without_a_token_signs_out_everywhere(test_client: ApiClient) -> None:
    await register(test_client)
    one, two = await login(test_client), await login(test_client)
    response = await test_client.post(
        "/api/auth/logout", json={}, headers={"Authorization": f"Bearer {one['access_token']}"}
    )
    assert response.status_code == 204
    for pair in (one, two):
        assert (
            await test_client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        ).status_code == 401


async def test_logout_cannot_revoke_someone_elses_token(test_client: ApiClient, client_for) -> None:
    await register(test_client)
    victim = await login(test_client)
    attacker = client_for(await UserFactory.create_async())
    await attacker.post("/api/auth/logout", json={"refresh_token": victim["refresh_token"]})
    assert (
        await test_client.post("/api/auth/refresh", json={"refresh_token": victim["refresh_token"]})
    ).status_code == 200


async def test_protected_routes_need_a_valid_token(test_client: ApiClient, app: Litestar, user) -> None:
    assert (await test_client.get("/api/me")).status_code == 401
    bad = await test_client.get("/api/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")

    expired = jwt.encode(
        {"sub": str(user.id), "exp": 1, "iat": 0, "iss": "campaign-platform"},
        app.state.settings.auth.secret_key,
        algorithm="HS256",
    )
    assert (
        await test_client.get("/api/me", headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401


async def test_update_profile_is_declarative_and_checks_email_uniqueness(client_for) -> None:
    user = await UserFactory.create_async()
    taken = await UserFactory.create_async()
    client = client_for(user)

    response = await client.put("/api/me", json={"email": "New@Example.com", "name": "New Name"})
    assert response.status_code == 200
    assert response.json()["email"] == "new@example.com"
    assert response.json()["name"] == "New Name"

    partial = await client.put("/api/me", json={"name": "Only name"})
    assert partial.status_code == 400
    clash = await client.put("/api/me", json={"email": taken.email, "name": "X"})
    assert clash.status_code == 409
    assert (await client.get("/api/me")).json()["email"] == "new@example.com"


async def test_change_password_requires_the_current_one_and_revokes_sessions(test_client: ApiClient) -> None:
    await register(test_client)
    tokens = await login(test_client)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    wrong = await test_client.post(
        "/api/me/password",
        json={"current_password": "wrong", "new_password": "another passphrase"},
        headers=auth,
    )
    assert wrong.status_code == 401

    ok = await test_client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "another passphrase"},
        headers=auth,
    )
    assert ok.status_code == 204
    assert (
        await test_client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    await login(test_client, password="another passphrase")
