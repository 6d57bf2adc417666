"""TOTP two-factor sign-in: enrol, confirm, recovery codes, the login challenge, disable."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import asyncpg
from pyotp.totp import TOTP
from sqlalchemy import text

from app.db.tenancy import TenantContext, set_tenant
from app.users.models import User
from tests.conftest import ApiClient
from tests.factories import DEFAULT_PASSWORD, UserFactory


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current 30-second step, or of a later one (still within the drift window)."""
    return TOTP(secret).at(time.time() + 30 * steps_ahead)


async def enable_totp(client: ApiClient) -> tuple[str, list[str]]:
    """Enrol and confirm; returns (secret, recovery codes). The confirmation uses the current step."""
    enrolment = await client.post("/api/me/two-factor/totp")
    assert enrolment.status_code == 201, enrolment.text
    secret = enrolment.json()["secret"]
    confirmed = await client.post("/api/me/two-factor/totp/confirm", json={"code": code_at(secret)})
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def password_login(client: ApiClient, user: User) -> Any:
    return await client.post("/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})


async def test_enrolment_is_pending_until_confirmed_and_gives_a_qr_uri(
    client_for: Any, test_client: ApiClient
) -> None:
    user = await UserFactory.create_async()
    client = client_for(user)
    response = await client.post("/api/me/two-factor/totp")
    assert response.status_code == 201, response.text
    body = response.json()
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/Campaign Platform:{user.email}"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == ["Campaign Platform"]

    status = (await client.get("/api/me/two-factor")).json()
    assert status == {"totp_enabled": False, "totp_pending": True, "recovery_codes_left": 0}
    # Pending: the password alone still signs in.
    assert (await password_login(test_client, user)).status_code == 200


async def test_confirmation_needs_the_right_code_and_returns_recovery_codes(client_for: Any) -> None:
    client = client_for(await UserFactory.create_async())
    assert (await client.post("/api/me/two-factor/totp/confirm", json={"code": "123456"})).status_code == 409
    secret = (await client.post("/api/me/two-factor/totp")).json()["secret"]
    wrong = str((int(code_at(secret)) + 1) % 1_000_000).zfill(6)
    response = await client.post("/api/me/two-factor/totp/confirm", json={"code": wrong})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_mfa_code"
    bad_shape = await client.post("/api/me/two-factor/totp/confirm", json={"code": "12ab56"})
    assert bad_shape.status_code == 400

    response = await client.post("/api/me/two-factor/totp/confirm", json={"code": code_at(secret)})
    assert response.status_code == 200, response.text
    codes = response.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    status = (await client.get("/api/me/two-factor")).json()
    assert status == {"totp_enabled": True, "totp_pending": False, "recovery_codes_left": 10}
    assert (await client.post("/api/me/two-factor/totp")).status_code == 409  # already on


async def test_recovery_codes_and_secret_are_not_stored_in_the_clear_for_codes(
    client_for: Any, owner_connection: asyncpg.Connection
) -> None:
    user = await UserFactory.create_async()
    _, codes = await enable_totp(client_for(user))
    stored = await owner_connection.fetch(
        "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1", user.id
    )
    hashes = {row["code_hash"] for row in stored}
    assert len(hashes) == 10
    assert not hashes & set(codes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)


async def test_login_asks_for_the_second_factor_and_each_code_works_once(
    client_for: Any, test_client: ApiClient
) -> None:
    user = await UserFactory.create_async()
    secret, recovery_codes = await enable_totp(client_for(user))

    response = await password_login(test_client, user)
    assert response.status_code == 401, response.text
    problem = response.json()
    assert problem["code"] == "mfa_required"
    assert problem["type"].endswith("/mfa-required")
    assert problem["challenge_expires_in"] == 300
    challenge = problem["challenge_token"]
    assert "access_token" not in problem

    # The challenge is no bearer token.
    me = await test_client.get("/api/me", headers={"Authorization": f"Bearer {challenge}"})
    assert me.status_code == 401

    # The confirmation used the current step: that code is spent; the next step's code works once.
    spent = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": code_at(secret)}
    )
    assert spent.status_code == 401
    assert spent.json()["code"] == "invalid_mfa_code"
    next_code = code_at(secret, steps_ahead=1)
    ok = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": next_code}
    )
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    me = await test_client.get("/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    replay = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": next_code}
    )
    assert replay.status_code == 401

    # A recovery code, in any case and without dashes, works once (each with its own challenge).
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    typed = recovery_codes[0].replace("-", "").upper()
    by_recovery = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "recovery_code": typed}
    )
    assert by_recovery.status_code == 200, by_recovery.text
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    again = await test_client.post(
        "/api/auth/login/second-factor",
        json={"challenge_token": challenge, "recovery_code": recovery_codes[0]},
    )
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_mfa_code"
    status = (await client_for(user).get("/api/me/two-factor")).json()
    assert status["recovery_codes_left"] == 9


async def test_second_factor_input_is_checked(client_for: Any, test_client: ApiClient) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    both = await test_client.post(
        "/api/auth/login/second-factor",
        json={
            "challenge_token": challenge,
            "code": code_at(secret, 1),
            "recovery_code": "aaaa-bbbb-cccc-dddd",
        },
    )
    assert both.status_code == 400
    neither = await test_client.post("/api/auth/login/second-factor", json={"challenge_token": challenge})
    assert neither.status_code == 400
    forged = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge[:-4] + "AAAA", "code": "123456"}
    )
    assert forged.status_code == 401
    assert forged.json()["code"] == "sign_in_failed"
    # An access token is no challenge either.
    access = client_for(user).token
    as_challenge = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": access, "code": code_at(secret, 1)}
    )
    assert as_challenge.status_code == 401
    # The code's pattern (`\d`) admits non-ASCII digits: a wrong code, not a 500.
    arabic_indic = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": "١٢٣٤٥٦"}
    )
    assert arabic_indic.status_code == 401, arabic_indic.text
    assert arabic_indic.json()["code"] == "invalid_mfa_code"


async def test_wrong_codes_are_rate_limited_like_passwords(client_for: Any, test_client: ApiClient) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    wrong = str((int(code_at(secret, 1)) + 500_000) % 1_000_000).zfill(6)
    statuses = []
    response = None
    for _ in range(6):
        response = await test_client.post(
            "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": wrong}
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert response is not None
    assert "Retry-After" in response.headers
    # Even the right code waits now.
    right = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": code_at(secret, 1)}
    )
    assert right.status_code == 429


async def test_disable_needs_proof(client_for: Any, test_client: ApiClient) -> None:
    user = await UserFactory.create_async()
    client = client_for(user)
    assert (
        await client.post("/api/me/two-factor/disable", json={"password": DEFAULT_PASSWORD})
    ).status_code == 409
    await enable_totp(client)
    assert (await client.post("/api/me/two-factor/disable", json={})).status_code == 400
    wrong = await client.post("/api/me/two-factor/disable", json={"password": "not the password"})
    assert wrong.status_code == 401
    assert (await client.get("/api/me/two-factor")).json()["totp_enabled"] is True

    assert (
        await client.post("/api/me/two-factor/disable", json={"password": DEFAULT_PASSWORD})
    ).status_code == 204
    assert (await client.get("/api/me/two-factor")).json() == {
        "totp_enabled": False,
        "totp_pending": False,
        "recovery_codes_left": 0,
    }
    assert (await password_login(test_client, user)).status_code == 200


async def test_disable_with_a_code(client_for: Any) -> None:
    client = client_for(await UserFactory.create_async())
    secret, _ = await enable_totp(client)
    response = await client.post("/api/me/two-factor/disable", json={"code": code_at(secret, 1)})
    assert response.status_code == 204, response.text


async def test_recovery_codes_can_be_replaced(client_for: Any, test_client: ApiClient) -> None:
    user = await UserFactory.create_async()
    client = client_for(user)
    assert (
        await client.post("/api/me/two-factor/recovery-codes", json={"code": "123456"})
    ).status_code == 409
    secret, old_codes = await enable_totp(client)
    spent = await client.post("/api/me/two-factor/recovery-codes", json={"code": code_at(secret)})
    assert spent.status_code == 401  # the confirmation's code, already used
    response = await client.post("/api/me/two-factor/recovery-codes", json={"code": code_at(secret, 1)})
    assert response.status_code == 200, response.text
    new_codes = response.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    old = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "recovery_code": old_codes[0]}
    )
    assert old.status_code == 401
    new = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "recovery_code": new_codes[0]}
    )
    assert new.status_code == 200, new.text


async def test_routes_need_a_token(test_client: ApiClient) -> None:
    assert (await test_client.get("/api/me/two-factor")).status_code == 401
    assert (await test_client.post("/api/me/two-factor/totp")).status_code == 401
    assert (
        await test_client.post("/api/me/two-factor/totp/confirm", json={"code": "123456"})
    ).status_code == 401
    assert (await test_client.post("/api/me/two-factor/disable", json={"code": "123456"})).status_code == 401
    assert (
        await test_client.post("/api/me/two-factor/recovery-codes", json={"code": "123456"})
    ).status_code == 401


async def test_another_users_second_factor_is_invisible(client_for: Any, db_session: Any) -> None:
    """Each user sees only their own; the tables' policies hold even for a query without a filter."""
    alice, bob = await UserFactory.create_async(), await UserFactory.create_async()
    await enable_totp(client_for(alice))
    assert (await client_for(bob).get("/api/me/two-factor")).json()["totp_enabled"] is False

    set_tenant(db_session, TenantContext(user_id=bob.id))
    seen = (await db_session.execute(text("SELECT count(*) FROM totp_credentials"))).scalar_one()
    codes = (await db_session.execute(text("SELECT count(*) FROM mfa_recovery_codes"))).scalar_one()
    assert (seen, codes) == (0, 0)
    await db_session.rollback()
    set_tenant(db_session, TenantContext(user_id=alice.id))
    seen = (await db_session.execute(text("SELECT count(*) FROM totp_credentials"))).scalar_one()
    assert seen == 1
    await db_session.rollback()
    set_tenant(db_session, None)
    nothing = (await db_session.execute(text("SELECT count(*) FROM totp_credentials"))).scalar_one()
    assert nothing == 0  # no context, no rows: fails closed


async def test_a_challenge_works_once_even_with_a_fresh_valid_code(
    client_for: Any, test_client: ApiClient
) -> None:
    user = await UserFactory.create_async()
    secret, recovery_codes = await enable_totp(client_for(user))
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    first = await test_client.post(
        "/api/auth/login/second-factor",
        json={"challenge_token": challenge, "recovery_code": recovery_codes[0]},
    )
    assert first.status_code == 200, first.text

    fresh_code = code_at(secret, steps_ahead=1)  # never used: only the challenge is spent
    second = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": fresh_code}
    )
    assert second.status_code == 401
    assert second.json()["code"] == "sign_in_failed"
    assert "already used" in second.json()["detail"]

    # The refused attempt used nothing up: the same code works with a new challenge.
    new_challenge = (await password_login(test_client, user)).json()["challenge_token"]
    third = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": new_challenge, "code": fresh_code}
    )
    assert third.status_code == 200, third.text


async def test_a_wrong_code_leaves_the_challenge_usable(client_for: Any, test_client: ApiClient) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    wrong = str((int(code_at(secret, 1)) + 500_000) % 1_000_000).zfill(6)
    refused = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": wrong}
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_mfa_code"
    right = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": code_at(secret, 1)}
    )
    assert right.status_code == 200, right.text


async def test_two_parallel_completions_of_one_challenge_sign_in_once(
    client_for: Any, test_client: ApiClient, owner_connection: asyncpg.Connection
) -> None:
    """Two valid second factors (a fresh code and a recovery code) race with one challenge."""
    user = await UserFactory.create_async()
    secret, recovery_codes = await enable_totp(client_for(user))
    challenge = (await password_login(test_client, user)).json()["challenge_token"]
    by_code, by_recovery = await asyncio.gather(
        test_client.post(
            "/api/auth/login/second-factor", json={"challenge_token": challenge, "code": code_at(secret, 1)}
        ),
        test_client.post(
            "/api/auth/login/second-factor",
            json={"challenge_token": challenge, "recovery_code": recovery_codes[0]},
        ),
    )
    assert sorted([by_code.status_code, by_recovery.status_code]) == [200, 401], (
        by_code.text,
        by_recovery.text,
    )
    loser = by_code if by_code.status_code == 401 else by_recovery
    assert loser.json()["code"] == "sign_in_failed"  # its factor was fine: the challenge was spent
    # The loser's transaction rolled back: a losing recovery code is still unused.
    left = (await client_for(user).get("/api/me/two-factor")).json()["recovery_codes_left"]
    assert left == (9 if by_recovery.status_code == 200 else 10)
    remaining = await owner_connection.fetchval(
        "SELECT count(*) FROM mfa_challenges WHERE user_id = $1", user.id
    )
    assert remaining == 0
