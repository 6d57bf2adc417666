"""Real time over real sockets: two Granian processes on one database, delivery on commit only,
subscriptions authorised like the HTTP reads, revocation at once, 4401 without a valid token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from websockets.exceptions import ConnectionClosed

from app.db.tenancy import TenantContext, tenant_info
from app.lib.auth import ISSUER
from app.lib.deps import TeamAccess
from app.lib.roles import TeamRole
from app.threads.schemas import ThreadMessageCreate
from app.threads.services import ThreadService
from app.users.models import User
from tests.background import ApiProcess
from tests.conftest import MultiTeamSetup
from tests.database import TestDatabase
from tests.factories import (
    DEFAULT_PASSWORD,
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    PostFactory,
    TeamFactory,
    TeamMemberFactory,
    UserFactory,
)
from tests.realtime_client import Socket

# Real server processes start slowly on a shared machine; one xdist worker runs this whole module
# (`--dist loadgroup`), so the suite starts one pair of API processes, not one per worker.
pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("api_processes")]


@dataclass
class Pair:
    a: ApiProcess
    b: ApiProcess


@pytest.fixture(scope="module")
def api_pair(database: TestDatabase) -> Iterator[Pair]:
    """Two API instances (separate processes, one LISTEN connection each) on the test database."""
    a, b = ApiProcess(database).launch(), ApiProcess(database).launch()
    try:
        a.wait_ready()
        b.wait_ready()
        yield Pair(a, b)
    finally:
        a.stop()
        b.stop()


def token(app: Litestar, user: User, *, ttl: timedelta | None = None) -> str:
    tokens = app.state.access_tokens
    if ttl is None:
        return tokens.issue(user.id, is_platform_admin=user.is_platform_admin)
    return tokens._jwt_auth.create_token(  # a short-lived token, to watch it expire
        identifier=str(user.id), token_expiration=ttl, token_issuer=ISSUER, token_extras={"adm": False}
    )


@pytest.fixture
async def http_a(api_pair: Pair) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_pair.a.base_url, timeout=60) as client:
        yield client


def auth(app: Litestar, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(app, user)}"}


def thread_topic(team_id: Any, object_type: str, object_id: Any) -> str:
    return f"thread:{team_id}:{object_type}:{object_id}"


def messages_url(team_id: Any, object_type: str, object_id: Any) -> str:
    return f"/api/teams/{team_id}/threads/{object_type}/{object_id}/messages"


async def test_a_socket_on_b_receives_a_message_posted_through_a(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    topic = thread_topic(a.team.id, "brand", brand.id)
    socket = await Socket.open(api_pair.b.ws_url, token(app, a.member))
    assert (await socket.subscribe(topic))["type"] == "subscribed"

    loop = asyncio.get_running_loop()
    started = loop.time()
    posted = await http_a.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "hello B"}, headers=auth(app, a.owner)
    )
    assert posted.status_code == 201, posted.text
    frame = await socket.expect("message", topic=topic)
    elapsed = loop.time() - started
    assert frame["action"] == "created"
    assert frame["message"] == posted.json()
    assert elapsed < 2.0 or pytest.fail(f"delivery took {elapsed:.2f}s (the machine may be overloaded)")
    await socket.close()


async def test_a_rolled_back_post_reaches_nobody(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    topic = thread_topic(a.team.id, "brand", brand.id)
    on_a = await Socket.open(api_pair.a.ws_url, token(app, a.member))
    on_b = await Socket.open(api_pair.b.ws_url, token(app, a.member))
    for socket in (on_a, on_b):
        assert (await socket.subscribe(topic))["type"] == "subscribed"

    access = TeamAccess(team_id=a.team.id, user_id=a.owner.id, role=TeamRole.OWNER)
    context = TenantContext(user_id=a.owner.id, team_id=a.team.id)
    async with app.state.session_maker(info=tenant_info(context)) as session:
        await ThreadService(session=session).post_message(
            access, "brand", brand.id, ThreadMessageCreate(body="never")
        )
        await session.rollback()  # the request failed after the message (and its NOTIFY) was written
    committed = await http_a.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "kept"}, headers=auth(app, a.owner)
    )
    assert committed.status_code == 201

    for socket in (on_a, on_b):
        frame = await socket.expect("message", topic=topic)
        assert frame["message"]["body"] == "kept"  # commit order: had "never" been sent, it came first
        assert not [f for f in socket.seen if f.get("type") == "message" and f["message"]["body"] == "never"]
        await socket.close()


async def test_a_removed_member_receives_nothing_more(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    topic = thread_topic(a.team.id, "brand", brand.id)
    owner = await Socket.open(api_pair.b.ws_url, token(app, a.owner))
    member = await Socket.open(api_pair.b.ws_url, token(app, a.member))
    for socket in (owner, member):
        assert (await socket.subscribe(topic))["type"] == "subscribed"
        assert (await socket.subscribe(f"team:{a.team.id}"))["type"] == "subscribed"

    removed = await http_a.delete(f"/api/teams/{a.team.id}/members/{a.member.id}", headers=auth(app, a.owner))
    assert removed.status_code == 204, removed.text
    posted = await http_a.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "after"}, headers=auth(app, a.owner)
    )
    assert posted.status_code == 201
    await owner.expect("message", topic=topic)  # the instance has dispatched the message

    await member.frames_until_pong()
    # Each subscription is re-authorised on its own, so a pong may overtake an `unsubscribed`.
    while {f["topic"] for f in member.seen if f["type"] == "unsubscribed"} != {topic, f"team:{a.team.id}"}:
        await member.next()
    assert not [
        f
        for f in member.seen
        if f["type"] in {"message", "event"} and f.get("topic") in {topic, f"team:{a.team.id}"} and _after(f)
    ]
    assert (await member.subscribe(topic))["type"] == "error"  # and cannot come back
    for socket in (owner, member):
        await socket.close()


def _after(frame: dict[str, Any]) -> bool:
    """A frame about something after the removal (the removal's own event may precede it)."""
    if frame["type"] == "message":
        return frame["message"]["body"] == "after"
    return frame["event"]["object_type"] != "team_member"


async def test_a_revoked_guest_stops_receiving_the_campaign_at_once(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign), status="submitted")
    guest_user = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=guest_user.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(
        team_id=a.team.id, campaign_id=campaign.id, user_id=guest_user.id
    )
    topic = thread_topic(a.team.id, "post", post.id)
    guest = await Socket.open(api_pair.b.ws_url, token(app, guest_user))
    owner = await Socket.open(api_pair.b.ws_url, token(app, a.owner))
    assert (await guest.subscribe(topic))["type"] == "subscribed"
    assert (await owner.subscribe(topic))["type"] == "subscribed"
    refused = await guest.subscribe(f"team:{a.team.id}")  # the feed needs a member, as ListTeamEvents
    assert (refused["type"], refused["code"]) == ("error", "forbidden")

    first = await http_a.post(
        messages_url(a.team.id, "post", post.id), json={"body": "before"}, headers=auth(app, a.owner)
    )
    assert first.status_code == 201
    assert (await guest.expect("message", topic=topic))["message"]["body"] == "before"

    revoked = await http_a.delete(
        f"/api/teams/{a.team.id}/campaigns/{campaign.id}/guests/{guest_user.id}", headers=auth(app, a.owner)
    )
    assert revoked.status_code == 204, revoked.text
    await http_a.post(
        messages_url(a.team.id, "post", post.id), json={"body": "after"}, headers=auth(app, a.owner)
    )
    await owner.expect("message", topic=topic, action="created")
    while (await owner.next())["type"] != "message" or owner.seen[-1]["message"]["body"] != "after":
        pass
    frames = await guest.frames_until_pong()
    assert not [f for f in frames if f["type"] == "message" and f["message"]["body"] == "after"]
    assert any(f["type"] == "unsubscribed" and f["topic"] == topic for f in guest.seen)
    for socket in (guest, owner):
        await socket.close()


async def test_subscriptions_are_authorised_like_the_reads(
    api_pair: Pair, app: Litestar, multi_team_setup: MultiTeamSetup
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    brand = await BrandFactory.create_async(team_id=a.team.id)
    outsider = await Socket.open(api_pair.a.ws_url, token(app, b.owner))
    for topic, code in [
        (f"team:{a.team.id}", "not_found"),
        (thread_topic(a.team.id, "brand", brand.id), "not_found"),
        (thread_topic(b.team.id, "brand", brand.id), "not_found"),  # their team, our object
        (thread_topic(b.team.id, "planet", brand.id), "unknown_topic"),
        ("weather:today", "unknown_topic"),
        ("team:not-a-uuid", "unknown_topic"),
    ]:
        frame = await outsider.subscribe(topic)
        assert (frame["type"], frame["code"], frame["topic"]) == ("error", code, topic)
    await outsider.send({"type": "subscribe"})
    assert (await outsider.expect("error"))["code"] == "bad_frame"
    await outsider.connection.send("not json")
    assert (await outsider.expect("error"))["code"] == "bad_frame"
    assert (await outsider.subscribe(f"team:{b.team.id}"))["type"] == "subscribed"
    await outsider.close()


async def test_team_feed_and_own_notifications_arrive_live(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    socket = await Socket.open(api_pair.b.ws_url, token(app, a.member), via_protocol=True)
    assert (await socket.subscribe(f"team:{a.team.id}"))["type"] == "subscribed"
    assert (await socket.subscribe("notifications"))["type"] == "subscribed"

    brand = await http_a.post(
        f"/api/teams/{a.team.id}/brands", json={"name": "Live"}, headers=auth(app, a.owner)
    )
    assert brand.status_code == 201
    event = await socket.expect("event", topic=f"team:{a.team.id}")
    assert (event["event"]["object_type"], event["event"]["event_type"]) == ("brand", "created")

    mention = await http_a.post(
        messages_url(a.team.id, "brand", brand.json()["id"]),
        json={"body": "look", "mentions": [str(a.member.id)]},
        headers=auth(app, a.owner),
    )
    assert mention.status_code == 201
    notification = await socket.expect("notification")
    assert (notification["notification"]["kind"], notification["topic"]) == ("mention", "notifications")
    await socket.close()


async def test_a_large_message_is_sent_by_reference_and_read_back(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, multi_team_setup: MultiTeamSetup
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    topic = thread_topic(a.team.id, "brand", brand.id)
    socket = await Socket.open(api_pair.b.ws_url, token(app, a.member))
    assert (await socket.subscribe(topic))["type"] == "subscribed"
    body = "é" * 9_500  # 19,000 bytes of UTF-8: far past NOTIFY's 8,000
    posted = await http_a.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": body}, headers=auth(app, a.owner)
    )
    assert posted.status_code == 201
    frame = await socket.expect("message", topic=topic)
    assert frame["message"]["body"] == body
    await socket.close()


async def test_no_token_within_5_seconds_closes_with_4401(api_pair: Pair) -> None:
    socket = await Socket.open(api_pair.a.ws_url, None)
    with pytest.raises(ConnectionClosed) as closed:
        await socket.next(within=60)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_a_bad_token_or_wrong_first_frame_closes_with_4401(api_pair: Pair) -> None:
    for first in ({"type": "auth", "token": "not-a-jwt"}, {"type": "ping"}):
        socket = await Socket.open(api_pair.a.ws_url, None)
        await socket.send(first)
        with pytest.raises(ConnectionClosed) as closed:
            await socket.next(within=60)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_the_socket_closes_when_the_token_expires_unless_refreshed(
    api_pair: Pair, app: Litestar, multi_team_setup: MultiTeamSetup
) -> None:
    user = multi_team_setup.a.member
    refreshed = await Socket.open(api_pair.a.ws_url, token(app, user, ttl=timedelta(seconds=3)))
    expiring = await Socket.open(api_pair.a.ws_url, token(app, user, ttl=timedelta(seconds=3)))
    await refreshed.send({"type": "auth", "token": token(app, user)})
    assert (await refreshed.expect("ready"))["expires_at"]

    with pytest.raises(ConnectionClosed) as closed:
        await expiring.next(within=60)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert (await refreshed.frames_until_pong()) == []  # still open after the first token expired
    other = await UserFactory.create_async()
    await refreshed.send({"type": "auth", "token": token(app, other)})
    with pytest.raises(ConnectionClosed):
        await refreshed.next(within=60)


async def test_a_socket_follows_the_sessions_of_its_token(
    api_pair: Pair, app: Litestar, http_a: httpx.AsyncClient, owner_connection
) -> None:
    """A token minted after a password change (epoch > 0) subscribes; once its sign-in session is
    logged out, the next subscription closes the socket with 4401."""
    user = await UserFactory.create_async()
    team = await TeamFactory.create_with_owner(user)
    await owner_connection.execute("UPDATE users SET session_epoch = 3 WHERE id = $1", user.id)
    login = await http_a.post("/api/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    socket = await Socket.open(api_pair.b.ws_url, tokens["access_token"])
    assert (await socket.subscribe(f"team:{team.id}"))["type"] == "subscribed"
    logout = await http_a.post(
        "/api/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert logout.status_code == 204, logout.text
    await socket.send({"type": "subscribe", "topic": "notifications"})
    with pytest.raises(ConnectionClosed) as closed:
        await socket.next()  # nothing was published on the team since: the close is the next frame
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_after_the_listener_reconnects_clients_are_told_to_re_read(
    api_pair: Pair,
    app: Litestar,
    http_a: httpx.AsyncClient,
    multi_team_setup: MultiTeamSetup,
    owner_connection,
) -> None:
    """PostgreSQL keeps no notifications for a listener that is away: once it is back, each
    subscription gets `resync` (re-read over HTTP), and live delivery goes on."""
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    topic = thread_topic(a.team.id, "brand", brand.id)
    socket = await Socket.open(api_pair.b.ws_url, token(app, a.member))
    assert (await socket.subscribe(topic))["type"] == "subscribed"

    terminated = await owner_connection.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'campaign-platform-listen'"
    )
    assert terminated >= 2  # instance A's and B's (and the test process's own app)
    resync = await socket.expect("resync", topic=topic)
    assert resync["since"]
    posted = await http_a.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "after the gap"}, headers=auth(app, a.owner)
    )
    assert posted.status_code == 201
    assert (await socket.expect("message", topic=topic))["message"]["body"] == "after the gap"
    await socket.close()
