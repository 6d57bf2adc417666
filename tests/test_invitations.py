"""Team invitations: invite, list, revoke, accept — and who may do what."""

from __future__ import annotations

import asyncpg

from tests.background import token_from
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import UserFactory

PASSWORD = "a sturdy passphrase"


def invitations_url(team_id) -> str:
    return f"/api/teams/{team_id}/invitations"


async def invite(client: ApiClient, team_id, email: str, role: str = "member") -> dict:
    response = await client.post(invitations_url(team_id), json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


async def token_for(conn: asyncpg.Connection, email: str) -> str:
    body = await conn.fetchval(
        "SELECT text_body FROM email_messages WHERE to_address = $1 AND template = 'team_invitation' "
        "ORDER BY created_at DESC LIMIT 1",
        email,
    )
    return token_from(str(body))


async def test_admins_invite_and_list(multi_team_setup: MultiTeamSetup, owner_connection) -> None:
    a = multi_team_setup.a
    created = await invite(a.owner_client, a.team.id, "Guest@Example.com", role="admin")
    assert (created["email"], created["role"], created["status"]) == ("guest@example.com", "admin", "pending")
    mail = await owner_connection.fetchrow(
        "SELECT subject, text_body FROM email_messages WHERE to_address = $1", "guest@example.com"
    )
    assert a.team.name in mail["subject"]

    listed = (await a.owner_client.get(invitations_url(a.team.id))).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    pending = (await a.owner_client.get(invitations_url(a.team.id) + "?status=pending")).json()
    assert pending["total"] == 1
    accepted = (await a.owner_client.get(invitations_url(a.team.id) + "?status=accepted")).json()
    assert accepted["total"] == 0


async def test_invite_rejects_bad_input_and_members(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    assert (await a.owner_client.post(invitations_url(a.team.id), json={"email": "nope"})).status_code == 400
    assert (
        await a.owner_client.post(invitations_url(a.team.id), json={"email": "x@example.com", "role": "king"})
    ).status_code == 400
    existing = await a.owner_client.post(invitations_url(a.team.id), json={"email": a.member.email})
    assert existing.status_code == 409


async def test_members_cannot_invite_and_admins_cannot_invite_owners(
    multi_team_setup: MultiTeamSetup, client_for
) -> None:
    a = multi_team_setup.a
    assert (
        await a.member_client.post(invitations_url(a.team.id), json={"email": "x@example.com"})
    ).status_code == 403
    assert (await a.member_client.get(invitations_url(a.team.id))).status_code == 403
    await a.owner_client.put(f"/api/teams/{a.team.id}/members/{a.member.id}", json={"role": "admin"})
    owner_invite = await a.member_client.post(
        invitations_url(a.team.id), json={"email": "x@example.com", "role": "owner"}
    )
    assert owner_invite.status_code == 403


async def test_other_teams_users_see_nothing(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    created = await invite(b.owner_client, b.team.id, "secret@example.com")
    for method, url, body in [
        ("GET", invitations_url(b.team.id), None),
        ("POST", invitations_url(b.team.id), {"email": "x@example.com"}),
        ("DELETE", f"{invitations_url(b.team.id)}/{created['id']}", None),
        ("DELETE", f"{invitations_url(a.team.id)}/{created['id']}", None),
    ]:
        response = await a.owner_client.request(method, url, json=body)
        assert response.status_code == 404, (method, url)
        assert "secret@example.com" not in response.text
    assert (await a.owner_client.get(invitations_url(a.team.id))).json()["items"] == []


async def test_accepting_makes_you_a_member_and_verifies_your_email(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="join@example.com")
    await invite(a.owner_client, a.team.id, "join@example.com", role="admin")
    token = await token_for(owner_connection, "join@example.com")

    response = await client_for(invitee).post("/api/invitations/accept", json={"token": token})
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["role"]) == (str(a.team.id), "admin")
    assert (await client_for(invitee).get(f"/api/teams/{a.team.id}")).status_code == 200
    assert (await client_for(invitee).get("/api/me")).json()["email_verified"] is True

    reused = await client_for(invitee).post("/api/invitations/accept", json={"token": token})
    assert reused.status_code == 409
    status = (await a.owner_client.get(invitations_url(a.team.id))).json()["items"][0]["status"]
    assert status == "accepted"


async def test_an_address_without_an_account_registers_then_accepts(
    multi_team_setup: MultiTeamSetup, test_client: ApiClient, owner_connection
) -> None:
    a = multi_team_setup.a
    await invite(a.owner_client, a.team.id, "fresh@example.com")
    token = await token_for(owner_connection, "fresh@example.com")
    registered = await test_client.post(
        "/api/auth/register", json={"email": "fresh@example.com", "password": PASSWORD, "name": "Fresh"}
    )
    assert registered.status_code == 201
    tokens = (
        await test_client.post("/api/auth/login", json={"email": "fresh@example.com", "password": PASSWORD})
    ).json()
    accepted = await test_client.post(
        "/api/invitations/accept",
        json={"token": token},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert accepted.status_code == 200, accepted.text


async def test_only_the_invited_address_may_accept(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    await invite(a.owner_client, a.team.id, "right@example.com")
    token = await token_for(owner_connection, "right@example.com")
    stranger = await UserFactory.create_async(email="wrong@example.com")
    response = await client_for(stranger).post("/api/invitations/accept", json={"token": token})
    assert response.status_code == 403
    assert (await client_for(stranger).get(f"/api/teams/{a.team.id}")).status_code == 404


async def test_revoked_expired_and_unknown_tokens_are_refused(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="late@example.com")
    client = client_for(invitee)

    revoked = await invite(a.owner_client, a.team.id, "late@example.com")
    revoked_token = await token_for(owner_connection, "late@example.com")
    assert (await a.owner_client.delete(f"{invitations_url(a.team.id)}/{revoked['id']}")).status_code == 204
    response = await client.post("/api/invitations/accept", json={"token": revoked_token})
    assert response.status_code == 410
    assert "revoked" in response.json()["detail"]

    await invite(a.owner_client, a.team.id, "late@example.com")
    expired_token = await token_for(owner_connection, "late@example.com")
    await owner_connection.execute("UPDATE team_invitations SET expires_at = now() - interval '1 minute'")
    response = await client.post("/api/invitations/accept", json={"token": expired_token})
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]

    unknown = await client.post("/api/invitations/accept", json={"token": "made-up"})
    assert unknown.status_code == 404
    anonymous = await client.client.post("/api/invitations/accept", json={"token": expired_token})
    assert anonymous.status_code == 401


async def test_inviting_again_replaces_the_pending_invitation(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="twice@example.com")
    await invite(a.owner_client, a.team.id, "twice@example.com")
    first = await token_for(owner_connection, "twice@example.com")
    await invite(a.owner_client, a.team.id, "twice@example.com", role="admin")
    second = await token_for(owner_connection, "twice@example.com")
    assert (
        await client_for(invitee).post("/api/invitations/accept", json={"token": first})
    ).status_code == 410
    accepted = await client_for(invitee).post("/api/invitations/accept", json={"token": second})
    assert accepted.json()["role"] == "admin"


async def test_revoking_an_accepted_invitation_is_a_conflict(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="done@example.com")
    created = await invite(a.owner_client, a.team.id, "done@example.com")
    await client_for(invitee).post(
        "/api/invitations/accept", json={"token": await token_for(owner_connection, "done@example.com")}
    )
    assert (await a.owner_client.delete(f"{invitations_url(a.team.id)}/{created['id']}")).status_code == 409


async def test_the_team_feed_shows_invitations_and_the_new_member(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="feed@example.com")
    created = await invite(a.owner_client, a.team.id, "feed@example.com")
    await client_for(invitee).post(
        "/api/invitations/accept", json={"token": await token_for(owner_connection, "feed@example.com")}
    )
    feed = (await a.owner_client.get(f"/api/teams/{a.team.id}/events")).json()["items"]
    kinds = [(event["object_type"], event["event_type"]) for event in feed]
    assert ("team_invitation", "created") in kinds
    assert ("team_member", "created") in kinds
    invitation_event = next(event for event in feed if event["object_type"] == "team_invitation")
    assert invitation_event["object_id"] == created["id"]
    assert invitation_event["changes"]["email"] == {"old": None, "new": "feed@example.com"}
