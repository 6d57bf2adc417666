"""The writing side: frames and control messages, sent with `pg_notify` in the writer's transaction.

A notification's payload is one line of text: `F<topic>\\n<frame JSON>` for a frame, sent as is
to every subscriber of the topic; `R<topic>\\n<reference JSON>` when the frame would pass
PostgreSQL's 8,000-byte limit (each subscriber then reads it back under their own tenant
context); `C<control JSON>` for membership changes that re-check live subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

CHANNEL = "campaign_platform_realtime"
MAX_PAYLOAD_BYTES = 7_900
"""Below PostgreSQL's 8,000-byte NOTIFY limit, with room for the prefix and topic."""

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
# A function scan yields the array's elements in order, so the notifications keep it too.
_NOTIFY_MANY = text("SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload")


class Reference(msgspec.Struct, frozen=True, kw_only=True):
    """What a subscriber needs to read a too-large frame back: a resolver `kind` and its row."""

    kind: str
    id: UUID
    action: str


class Recheck(msgspec.Struct, frozen=True, kw_only=True):
    """A member's standing in a team changed: suspend their subscriptions there and re-authorise."""

    team_id: UUID
    user_id: UUID


def team_topic(team_id: UUID) -> str:
    return f"team:{team_id}"


def thread_topic(team_id: UUID, object_type: str, object_id: UUID) -> str:
    return f"thread:{team_id}:{object_type}:{object_id}"


def user_topic(user_id: UUID) -> str:
    """Internal topic of one user's notifications (clients subscribe to `notifications`)."""
    return f"user:{user_id}"


def frame_payload(topic: str, frame: Any, *, reference: Reference | None = None) -> str:
    """The NOTIFY payload for `frame`, or for its `reference` when the frame is too large."""
    encoded = msgspec.json.encode(frame).decode()
    payload = f"F{topic}\n{encoded}"
    if len(payload.encode()) <= MAX_PAYLOAD_BYTES:
        return payload
    if reference is None:
        raise ValueError(f"a {len(payload)}-byte frame for {topic} needs a reference")
    return f"R{topic}\n{msgspec.json.encode(reference).decode()}"


def publish(connection: Connection, topic: str, frame: Any, *, reference: Reference | None = None) -> None:
    """Queue `frame` for `topic`; PostgreSQL delivers it on commit and drops it on rollback."""
    connection.execute(
        _NOTIFY, {"channel": CHANNEL, "payload": frame_payload(topic, frame, reference=reference)}
    )


class Publication(msgspec.Struct, frozen=True):
    """One frame for one topic, for `publish_many`."""

    topic: str
    frame: Any
    reference: Reference | None = None

    def payload(self) -> str:
        return frame_payload(self.topic, self.frame, reference=self.reference)


_collected: ContextVar[list[str] | None] = ContextVar("realtime_collected_payloads", default=None)


def publish_many(connection: Connection, publications: Sequence[Publication | str]) -> None:
    """Queue every frame (or ready payload, e.g. `recheck_payload`) with one statement, in order:
    one round trip however many there are. Inside `publications_of_flush`, they wait for the
    flush's other listeners and all go in that one statement."""
    if not publications:
        return
    payloads = [item if isinstance(item, str) else item.payload() for item in publications]
    collected = _collected.get()
    if collected is not None:
        collected.extend(payloads)
        return
    connection.execute(_NOTIFY_MANY, {"channel": CHANNEL, "payloads": payloads})


@contextmanager
def publications_of_flush(session: Session) -> Iterator[None]:
    """Around one flush's event listeners (`app.events` enters it): what the threads,
    notifications and feed listeners publish is sent in one `pg_notify` statement, in the order
    they published it. Nothing is sent if a listener fails (the flush, and so the change, fails)."""
    payloads: list[str] = []
    token = _collected.set(payloads)
    try:
        yield
    finally:
        _collected.reset(token)
    if payloads:
        session.connection().execute(_NOTIFY_MANY, {"channel": CHANNEL, "payloads": payloads})


def recheck_payload(*, team_id: UUID, user_id: UUID) -> str:
    return "C" + msgspec.json.encode(Recheck(team_id=team_id, user_id=user_id)).decode()
