"""ID tokens a certified provider would never issue, from `RogueProvider` (a tiny real server):
each must be refused with 401 `sign_in_failed` (or 502 for an unusable answer), never a 500."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.database import TestDatabase
from tests.oidc_helpers import CLIENT_ID, CLIENT_SECRET, RogueProvider, authorization_params, sign_in_app


@pytest.fixture(scope="module")
def rogue() -> Iterator[RogueProvider]:
    provider = RogueProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
async def client(database: TestDatabase, rogue: RogueProvider, app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with sign_in_app(database, rogue.issuer) as client:
        yield client


@pytest.fixture(autouse=True)
def _reset(rogue: RogueProvider) -> None:
    rogue.signing_key = rogue.published_key
    rogue.token_status = 200
    rogue.forged_token = None
    rogue.token_requests.clear()


async def callback_with(
    client: httpx.AsyncClient, rogue: RogueProvider, **claim_overrides: Any
) -> httpx.Response:
    """Start a flow, have the rogue issue an ID token for its nonce (with overrides), call back."""
    started = (await client.post("/api/auth/oidc/google/start", json={})).json()
    params = authorization_params(started["authorization_url"])
    rogue.claims = rogue.good_claims(params["nonce"], **claim_overrides)
    return await client.post(
        "/api/auth/oidc/google/callback",
        json={"code": "a-code", "state": params["state"], "flow_token": started["flow_token"]},
    )


async def test_a_good_token_signs_in_and_the_exchange_is_well_formed(
    client: httpx.AsyncClient, rogue: RogueProvider, owner_connection: asyncpg.Connection
) -> None:
    """The control: the rogue's well-formed token is accepted, so the refusals below are the checks'."""
    started = (await client.post("/api/auth/oidc/google/start", json={})).json()
    params = authorization_params(started["authorization_url"])
    rogue.claims = rogue.good_claims(params["nonce"], sub="rogue-good")
    response = await client.post(
        "/api/auth/oidc/google/callback",
        json={"code": "the-code", "state": params["state"], "flow_token": started["flow_token"]},
    )
    assert response.status_code == 200, response.text
    (form,) = rogue.token_requests
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["the-code"]
    assert form["redirect_uri"] == [params["redirect_uri"]]
    verifier = form["code_verifier"][0]
    import base64
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == params["code_challenge"]  # the verifier matches the challenge we sent


async def test_another_nonce_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    response = await callback_with(client, rogue, nonce="not-the-nonce")
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "sign_in_failed"
    assert "nonce" in response.json()["detail"]


async def test_a_missing_nonce_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    response = await callback_with(client, rogue, nonce=None)
    assert response.status_code == 401
    assert "nonce" in response.json()["detail"]


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    now = int(time.time())
    response = await callback_with(client, rogue, iat=now - 7200, exp=now - 3600)
    assert response.status_code == 401, response.text
    assert "exp" in response.json()["detail"]


async def test_another_audience_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    response = await callback_with(client, rogue, aud="someone-elses-client")
    assert response.status_code == 401, response.text
    assert "aud" in response.json()["detail"]


async def test_several_audiences_need_us_as_authorized_party(
    client: httpx.AsyncClient, rogue: RogueProvider
) -> None:
    response = await callback_with(client, rogue, aud=[CLIENT_ID, "other"], azp="other")
    assert response.status_code == 401
    assert "azp" in response.json()["detail"]


async def test_another_issuer_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    response = await callback_with(client, rogue, iss="https://evil.example.com")
    assert response.status_code == 401
    assert "iss" in response.json()["detail"]


async def test_a_key_not_in_the_jwks_is_refused(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    # A key id the JWKS does not have (after a refetch, it still does not).
    rogue.signing_key = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    response = await callback_with(client, rogue)
    assert response.status_code == 401, response.text
    assert "signature" in response.json()["detail"]
    # The published key id, but another key: the signature does not verify.
    rogue.signing_key = RSAKey.generate_key(2048, parameters={"kid": "published"})
    response = await callback_with(client, rogue)
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]


async def test_an_unsigned_or_symmetric_token_is_refused(
    client: httpx.AsyncClient, rogue: RogueProvider
) -> None:
    """`alg: none`, and HS256 keyed with the client secret (an old trick), never pass."""
    import base64
    import json

    from joserfc import jwt
    from joserfc.jwk import OctKey

    started = (await client.post("/api/auth/oidc/google/start", json={})).json()
    params = authorization_params(started["authorization_url"])
    claims = rogue.good_claims(params["nonce"])

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none'})}.{b64(claims)}."
    hs256 = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))
    for forged in (unsigned, hs256):
        rogue.forged_token = forged
        started = (await client.post("/api/auth/oidc/google/start", json={})).json()
        params = authorization_params(started["authorization_url"])
        response = await client.post(
            "/api/auth/oidc/google/callback",
            json={"code": "c", "state": params["state"], "flow_token": started["flow_token"]},
        )
        assert response.status_code == 401, response.text


async def test_a_failing_token_endpoint_is_a_502(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    rogue.token_status = 500
    response = await callback_with(client, rogue)
    assert response.status_code == 502, response.text
    assert response.json()["code"] == "identity_provider_error"


async def test_a_refused_code_is_a_401(client: httpx.AsyncClient, rogue: RogueProvider) -> None:
    rogue.token_status = 400
    response = await callback_with(client, rogue)
    assert response.status_code == 401
    assert response.json()["code"] == "sign_in_failed"


async def test_the_flow_is_spent_even_when_the_token_fails(
    client: httpx.AsyncClient, rogue: RogueProvider
) -> None:
    started = (await client.post("/api/auth/oidc/google/start", json={})).json()
    params = authorization_params(started["authorization_url"])
    rogue.claims = rogue.good_claims("wrong-nonce")
    body = {"code": "c", "state": params["state"], "flow_token": started["flow_token"]}
    assert (await client.post("/api/auth/oidc/google/callback", json=body)).status_code == 401
    rogue.claims = rogue.good_claims(params["nonce"])
    again = await client.post("/api/auth/oidc/google/callback", json=body)
    assert again.status_code == 400
    assert "already" in again.json()["detail"]


async def test_bad_callback_bodies_are_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/oidc/google/callback", json={"code": "c", "state": "s"})
    assert response.status_code == 400
    assert "flow_token" in response.text
    response = await client.post("/api/auth/oidc/google/start", json={"extra": 1})
    assert response.status_code == 400
