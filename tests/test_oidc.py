"""Sign in with Google, against a real OpenID provider on the loopback (npm `oidc-provider`).

The provider signs with its own key, requires PKCE and checks the redirect URI; the browser's
part is `follow_to_redirect_uri`. ID tokens the certified provider would never issue (expired,
another audience, another nonce, an unpublished key) come from `RogueProvider` in
tests/test_oidc_tokens.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.database import TestDatabase
from tests.factories import UserFactory
from tests.oidc_helpers import (
    CLIENT_ID,
    REDIRECT_URI,
    OidcProviderProcess,
    authorization_params,
    bearer,
    follow_to_redirect_uri,
    sign_in_app,
)
from tests.test_totp import code_at


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProviderProcess]:
    process = OidcProviderProcess().start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def google(
    database: TestDatabase, provider: OidcProviderProcess, app: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with sign_in_app(database, provider.issuer) as client:
        yield client


async def fetch_row(connection: asyncpg.Connection, query: str, *args: Any) -> asyncpg.Record:
    row = await connection.fetchrow(query, *args)
    assert row is not None
    return row


async def start(client: httpx.AsyncClient, login_hint: str) -> dict[str, Any]:
    response = await client.post("/api/auth/oidc/google/start", json={"login_hint": login_hint})
    assert response.status_code == 200, response.text
    return response.json()


async def sign_in(
    client: httpx.AsyncClient, provider: OidcProviderProcess, *, email: str, verified: bool = True
) -> tuple[httpx.Response, str]:
    """The whole flow for a new Google account; returns the callback's answer and the subject."""
    sub = f"google-{uuid.uuid4().hex[:12]}"
    await provider.add_account(sub, email=email, email_verified=verified)
    return await sign_in_as(client, sub), sub


async def sign_in_as(client: httpx.AsyncClient, sub: str) -> httpx.Response:
    started = await start(client, sub)
    back = await follow_to_redirect_uri(started["authorization_url"])
    return await client.post(
        "/api/auth/oidc/google/callback",
        json={"code": back["code"], "state": back["state"], "flow_token": started["flow_token"]},
    )


async def test_the_authorization_url_carries_pkce_state_and_nonce(google: httpx.AsyncClient) -> None:
    started = await start(google, "anyone")
    params = authorization_params(started["authorization_url"])
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    assert params["state"]
    assert params["nonce"]
    assert params["state"] != params["nonce"]
    assert started["flow_token"] not in started["authorization_url"]
    assert started["expires_in"] == 600


async def test_a_new_google_user_is_created_and_signed_in(
    google: httpx.AsyncClient, provider: OidcProviderProcess, owner_connection: asyncpg.Connection
) -> None:
    response, sub = await sign_in(google, provider, email="New.Person@Example.com")
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = await google.get("/api/me", headers=bearer(tokens))
    assert me.status_code == 200
    profile = me.json()
    assert profile["email"] == "new.person@example.com"
    assert profile["email_verified"] is True
    assert profile["name"] == "Ada Google"
    row = await fetch_row(
        owner_connection, "SELECT google_subject, password_hash FROM users WHERE email = $1", profile["email"]
    )
    assert row["google_subject"] == sub
    assert not row["password_hash"].startswith("$argon2")

    # The refresh token works like any other.
    refreshed = await google.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200

    # Signing in again finds the same account by its Google subject.
    again = await sign_in_as(google, sub)
    assert again.status_code == 200, again.text
    assert (await google.get("/api/me", headers=bearer(again.json()))).json()["id"] == profile["id"]
    count = await owner_connection.fetchval("SELECT count(*) FROM users WHERE email = $1", profile["email"])
    assert count == 1


async def test_an_existing_account_is_linked_by_its_verified_email(
    google: httpx.AsyncClient, provider: OidcProviderProcess, owner_connection: asyncpg.Connection
) -> None:
    existing = await UserFactory.create_async(email="linked@example.com", email_verified_at=None)
    old_hash = existing.password_hash
    response, sub = await sign_in(google, provider, email="linked@example.com", verified=True)
    assert response.status_code == 200, response.text
    me = (await google.get("/api/me", headers=bearer(response.json()))).json()
    assert me["id"] == str(existing.id)
    row = await fetch_row(
        owner_connection,
        "SELECT google_subject, password_hash, email_verified_at, session_epoch FROM users WHERE id = $1",
        existing.id,
    )
    assert row["google_subject"] == sub
    assert row["email_verified_at"] is not None
    # The address was never verified here: the password someone set on it no longer works.
    assert row["password_hash"] != old_hash
    assert row["session_epoch"] == 1


async def test_a_verified_account_keeps_its_password_when_linked(
    google: httpx.AsyncClient, provider: OidcProviderProcess, owner_connection: asyncpg.Connection
) -> None:
    from datetime import UTC, datetime

    existing = await UserFactory.create_async(
        email="kept@example.com", email_verified_at=datetime.now(tz=UTC)
    )
    response, _ = await sign_in(google, provider, email="kept@example.com")
    assert response.status_code == 200, response.text
    row = await fetch_row(owner_connection, "SELECT password_hash FROM users WHERE id = $1", existing.id)
    assert row["password_hash"] == existing.password_hash


async def test_an_unverified_email_never_links_nor_creates(
    google: httpx.AsyncClient, provider: OidcProviderProcess, owner_connection: asyncpg.Connection
) -> None:
    existing = await UserFactory.create_async(email="victim@example.com")
    response, _ = await sign_in(google, provider, email="victim@example.com", verified=False)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "email_not_verified"
    assert "verified" in problem["detail"]
    assert (
        await owner_connection.fetchval("SELECT google_subject FROM users WHERE id = $1", existing.id) is None
    )

    response, _ = await sign_in(google, provider, email="nobody-yet@example.com", verified=False)
    assert response.status_code == 403
    assert (
        await owner_connection.fetchval("SELECT count(*) FROM users WHERE email = 'nobody-yet@example.com'")
        == 0
    )


async def test_a_wrong_state_or_flow_token_is_refused(
    google: httpx.AsyncClient, provider: OidcProviderProcess
) -> None:
    sub = "google-wrong-state"
    await provider.add_account(sub, email="state@example.com", email_verified=True)
    started = await start(google, sub)
    back = await follow_to_redirect_uri(started["authorization_url"])
    wrong_state = await google.post(
        "/api/auth/oidc/google/callback",
        json={"code": back["code"], "state": "not-the-state", "flow_token": started["flow_token"]},
    )
    assert wrong_state.status_code == 400
    assert wrong_state.json()["code"] == "sign_in_failed"
    # Another browser (without this flow token) cannot complete it: a link someone sent you.
    other_browser = await google.post(
        "/api/auth/oidc/google/callback",
        json={"code": back["code"], "state": back["state"], "flow_token": "another-browsers-token"},
    )
    assert other_browser.status_code == 400
    assert "not started in this browser" in other_browser.json()["detail"]
    # Neither attempt used the flow up: the right browser still completes it.
    right = await google.post(
        "/api/auth/oidc/google/callback",
        json={"code": back["code"], "state": back["state"], "flow_token": started["flow_token"]},
    )
    assert right.status_code == 200, right.text


async def test_a_state_works_once(google: httpx.AsyncClient, provider: OidcProviderProcess) -> None:
    sub = "google-replay"
    await provider.add_account(sub, email="replay@example.com", email_verified=True)
    started = await start(google, sub)
    back = await follow_to_redirect_uri(started["authorization_url"])
    body = {"code": back["code"], "state": back["state"], "flow_token": started["flow_token"]}
    assert (await google.post("/api/auth/oidc/google/callback", json=body)).status_code == 200
    replay = await google.post("/api/auth/oidc/google/callback", json=body)
    assert replay.status_code == 400
    assert "already" in replay.json()["detail"]


async def test_an_expired_flow_is_refused(
    google: httpx.AsyncClient, provider: OidcProviderProcess, owner_connection: asyncpg.Connection
) -> None:
    sub = "google-slow"
    await provider.add_account(sub, email="slow@example.com", email_verified=True)
    started = await start(google, sub)
    back = await follow_to_redirect_uri(started["authorization_url"])
    await owner_connection.execute("UPDATE oidc_login_flows SET expires_at = now() - interval '1 second'")
    response = await google.post(
        "/api/auth/oidc/google/callback",
        json={"code": back["code"], "state": back["state"], "flow_token": started["flow_token"]},
    )
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]


async def test_a_code_from_another_sign_in_fails_pkce_at_the_provider(
    google: httpx.AsyncClient, provider: OidcProviderProcess
) -> None:
    """Code injection: a code obtained in flow B, delivered with flow A's state, is exchanged
    with A's verifier, which the provider refuses (the code was bound to B's challenge)."""
    sub = "google-pkce"
    await provider.add_account(sub, email="pkce@example.com", email_verified=True)
    first = await start(google, sub)
    second = await start(google, sub)
    first_back = authorization_params(first["authorization_url"])
    second_back = await follow_to_redirect_uri(second["authorization_url"])
    response = await google.post(
        "/api/auth/oidc/google/callback",
        json={"code": second_back["code"], "state": first_back["state"], "flow_token": first["flow_token"]},
    )
    assert response.status_code == 401, response.text
    problem = response.json()
    assert problem["code"] == "sign_in_failed"
    assert "invalid_grant" in problem["detail"]


async def test_two_factor_applies_after_google_too(
    google: httpx.AsyncClient, provider: OidcProviderProcess
) -> None:
    response, sub = await sign_in(google, provider, email="twofactor@example.com")
    tokens = response.json()
    secret = (await google.post("/api/me/two-factor/totp", headers=bearer(tokens))).json()["secret"]
    confirmed = await google.post(
        "/api/me/two-factor/totp/confirm", headers=bearer(tokens), json={"code": code_at(secret)}
    )
    assert confirmed.status_code == 200

    again = await sign_in_as(google, sub)
    assert again.status_code == 401, again.text
    problem = again.json()
    assert problem["code"] == "mfa_required"
    finished = await google.post(
        "/api/auth/login/second-factor",
        json={"challenge_token": problem["challenge_token"], "code": code_at(secret, 1)},
    )
    assert finished.status_code == 200, finished.text
    me = await google.get("/api/me", headers=bearer(finished.json()))
    assert me.json()["email"] == "twofactor@example.com"


async def test_not_configured_is_a_404(test_client: Any) -> None:
    response = await test_client.post("/api/auth/oidc/google/start", json={})
    assert response.status_code == 404
    assert "GOOGLE_OAUTH2_CLIENT_ID" in response.json()["detail"]


async def test_an_unreachable_provider_is_a_503(database: TestDatabase, app: Any) -> None:
    """Down before the start (no discovery), and down between the start and the callback."""
    provider = OidcProviderProcess().start()
    try:
        async with sign_in_app(database, provider.issuer) as client:
            await provider.add_account("google-down", email="down@example.com", email_verified=True)
            started = await start(client, "google-down")
            back = await follow_to_redirect_uri(started["authorization_url"])
            provider.stop()
            response = await client.post(
                "/api/auth/oidc/google/callback",
                json={"code": back["code"], "state": back["state"], "flow_token": started["flow_token"]},
            )
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "identity_provider_unavailable"
            assert response.headers["retry-after"] == "30"
    finally:
        provider.stop()
    nothing_there = OidcProviderProcess()  # a free port that nobody listens on
    async with sign_in_app(database, nothing_there.issuer) as client:
        response = await client.post("/api/auth/oidc/google/start", json={})
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "identity_provider_unavailable"
