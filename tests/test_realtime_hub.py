"""The hub's re-check after its LISTEN connection comes back, in process: a membership change
made while no notification could be heard must still end the member's subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar

from app.lib.auth import AuthUser
from app.realtime.hub import Client, Hub
from app.realtime.publish import frame_payload
from tests.conftest import MultiTeamSetup
from tests.waiting import wait_until_async


class _Inbox:
    def __init__(self) -> None:
        self.frames: list[dict[str, object]] = []

    async def send(self, message: dict[str, Any]) -> None:
        assert message["type"] == "websocket.send"
        self.frames.append(msgspec.json.decode(message["text"]))

    def of(self, frame_type: str) -> list[dict[str, object]]:
        return [frame for frame in self.frames if frame["type"] == frame_type]


async def _client(hub: Hub, user_id: object) -> tuple[Client, _Inbox]:
    inbox = _Inbox()
    client = Client(AuthUser(id=user_id), inbox.send)  # pyright: ignore[reportArgumentType]
    hub.add_client(client)
    return client, inbox


async def _drain(hub: Hub, *clients: Client) -> None:
    for client in clients:
        while not client.outbox.empty():
            await hub.deliver(client, client.outbox.get_nowait())  # pyright: ignore[reportArgumentType]


async def test_a_removal_missed_during_the_gap_ends_the_subscription(
    app: Litestar, multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    hub = Hub(session_maker=app.state.session_maker)
    owner, owner_inbox = await _client(hub, a.owner.id)
    member, member_inbox = await _client(hub, a.member.id)
    topic = f"team:{a.team.id}"
    for client in (owner, member):
        await hub.subscribe(client, topic)

    # Removed while the listener was away: its recheck notification never reached this hub.
    await owner_connection.execute(
        "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2", a.team.id, a.member.id
    )
    since = datetime.now(tz=UTC)
    hub.resynchronize(since)
    hub.dispatch(frame_payload(topic, {"type": "event", "topic": topic, "n": 1}))  # before the re-check ends

    async def rechecked() -> bool:
        await _drain(hub, owner, member)
        return bool(owner_inbox.of("resync")) and bool(member_inbox.of("unsubscribed"))

    await wait_until_async(rechecked, what="every subscription re-checked")
    assert member_inbox.of("unsubscribed") == [
        {"type": "unsubscribed", "topic": topic, "reason": "access_revoked"}
    ]
    assert not member_inbox.of("resync")
    assert owner_inbox.of("resync")[0]["topic"] == topic
    assert topic not in member.subscriptions

    hub.dispatch(frame_payload(topic, {"type": "event", "topic": topic, "n": 2}))
    await _drain(hub, owner, member)
    assert [frame.get("n") for frame in owner_inbox.of("event")] == [2]  # suspended frames were dropped
    assert not member_inbox.of("event")
