"""Email verification, the welcome mail, and password reset — through the API and the outbox."""

from __future__ import annotations

import asyncpg
import pytest

from tests.background import token_from
from tests.conftest import ApiClient
from tests.factories import DEFAULT_PASSWORD, UserFactory

PASSWORD = "a sturdy passphrase"


async def outbox(conn: asyncpg.Connection, to: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT template, subject, text_body, html_body FROM email_messages WHERE to_address = $1 ORDER BY created_at",
        to,
    )


async def jobs_for_emails(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM saq_jobs WHERE key LIKE 'email:%' AND status = 'queued'")
        or 0
    )


async def test_registration_queues_a_verification_email(test_client: ApiClient, owner_connection) -> None:
    response = await test_client.post(
        "/api/auth/register", json={"email": "new@example.com", "password": PASSWORD, "name": "Nova"}
    )
    assert response.status_code == 201
    assert response.json()["email_verified"] is False
    mails = await outbox(owner_connection, "new@example.com")
    assert [mail["template"] for mail in mails] == ["email_verification"]
    assert "Nova" in mails[0]["text_body"]
    assert token_from(mails[0]["text_body"]) in mails[0]["html_body"]
    assert await jobs_for_emails(owner_connection) == 1


async def test_a_failed_registration_sends_nothing(test_client: ApiClient, owner_connection) -> None:
    await UserFactory.create_async(email="taken@example.com")
    response = await test_client.post(
        "/api/auth/register", json={"email": "taken@example.com", "password": PASSWORD, "name": "Copy"}
    )
    assert response.status_code == 409
    assert await outbox(owner_connection, "taken@example.com") == []
    assert await jobs_for_emails(owner_connection) == 0


async def test_verify_email_marks_the_account_and_sends_a_welcome(
    test_client: ApiClient, owner_connection
) -> None:
    await test_client.post(
        "/api/auth/register", json={"email": "v@example.com", "password": PASSWORD, "name": "Vee"}
    )
    token = token_from((await outbox(owner_connection, "v@example.com"))[0]["text_body"])

    verified = await test_client.post("/api/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    assert [mail["template"] for mail in await outbox(owner_connection, "v@example.com")] == [
        "email_verification",
        "welcome",
    ]

    reused = await test_client.post("/api/auth/verify-email", json={"token": token})
    assert reused.status_code == 400
    assert "already used" in reused.json()["detail"]
    bogus = await test_client.post("/api/auth/verify-email", json={"token": "nope"})
    assert bogus.status_code == 400


async def test_resend_verification_replaces_the_old_link(client_for, owner_connection, test_client) -> None:
    user = await UserFactory.create_async(email="r@example.com")
    client = client_for(user)
    assert (await client.post("/api/auth/verify-email/resend")).status_code == 202
    assert (await client.post("/api/auth/verify-email/resend")).status_code == 202
    first, second = [
        token_from(mail["text_body"]) for mail in await outbox(owner_connection, "r@example.com")
    ]

    assert (await test_client.post("/api/auth/verify-email", json={"token": first})).status_code == 400
    assert (await test_client.post("/api/auth/verify-email", json={"token": second})).status_code == 200
    assert (await client.post("/api/auth/verify-email/resend")).status_code == 409


async def test_resend_verification_needs_a_signed_in_user(test_client: ApiClient) -> None:
    assert (await test_client.post("/api/auth/verify-email/resend")).status_code == 401


async def test_password_reset_request_reveals_nothing(test_client: ApiClient, owner_connection) -> None:
    await UserFactory.create_async(email="known@example.com")
    known = await test_client.post("/api/auth/password-reset", json={"email": "known@example.com"})
    unknown = await test_client.post("/api/auth/password-reset", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(await outbox(owner_connection, "known@example.com")) == 1
    assert await outbox(owner_connection, "ghost@example.com") == []
    bad = await test_client.post("/api/auth/password-reset", json={"email": "not an email"})
    assert bad.status_code == 400


async def test_reset_password_sets_it_once_and_signs_out_everywhere(
    test_client: ApiClient, owner_connection
) -> None:
    user = await UserFactory.create_async(email="forgetful@example.com")
    session = (
        await test_client.post("/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    ).json()
    await test_client.post("/api/auth/password-reset", json={"email": user.email})
    token = token_from((await outbox(owner_connection, user.email))[0]["text_body"])

    weak = await test_client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert weak.status_code == 400
    done = await test_client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": PASSWORD}
    )
    assert done.status_code == 204

    again = await test_client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "yet another one"}
    )
    assert again.status_code == 400
    refresh = await test_client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refresh.status_code == 401
    old = await test_client.post("/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert old.status_code == 401
    new = await test_client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert new.status_code == 200


@pytest.mark.parametrize("purpose_path", ["/api/auth/password-reset/confirm", "/api/auth/verify-email"])
async def test_expired_tokens_are_refused(
    test_client: ApiClient, owner_connection, client_for, purpose_path
) -> None:
    user = await UserFactory.create_async(email="late@example.com")
    if purpose_path.endswith("confirm"):
        await test_client.post("/api/auth/password-reset", json={"email": user.email})
        body = {"password": PASSWORD}
    else:
        await client_for(user).post("/api/auth/verify-email/resend")
        body = {}
    token = token_from((await outbox(owner_connection, user.email))[0]["text_body"])
    await owner_connection.execute("UPDATE action_tokens SET expires_at = now() - interval '1 minute'")
    response = await test_client.post(purpose_path, json={"token": token, **body})
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]


async def test_reset_emails_are_capped_per_account_without_telling(
    test_client: ApiClient, owner_connection
) -> None:
    user = await UserFactory.create_async(email="flooded@example.com")
    for _ in range(5):
        response = await test_client.post("/api/auth/password-reset", json={"email": user.email})
        assert response.status_code == 202
    assert len(await outbox(owner_connection, user.email)) == 3


async def test_verification_resends_are_capped_per_account(client_for, owner_connection) -> None:
    user = await UserFactory.create_async(email="impatient@example.com")
    client = client_for(user)
    for _ in range(3):
        assert (await client.post("/api/auth/verify-email/resend")).status_code == 202
    capped = await client.post("/api/auth/verify-email/resend")
    assert capped.status_code == 429
    assert capped.headers["retry-after"] == "3600"
    assert len(await outbox(owner_connection, user.email)) == 3
