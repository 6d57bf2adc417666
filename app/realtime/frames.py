"""The frames `/api/ws` speaks: JSON objects tagged by `type`, as msgspec Structs.

Client -> server: `auth`, `subscribe`, `unsubscribe`, `ping`. Server -> client: `ready`,
`subscribed`, `unsubscribed`, `error`, `pong`, `resync`, and the deliveries `event` (team feed, here),
`message` (`app.threads.schemas.ThreadMessageFrame`) and `notification`
(`app.notifications.schemas.NotificationFrame`). All are in the OpenAPI document's
`components.schemas`, so the generated client has their types.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.events.schemas import EventRead

Topic = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        description=(
            "`team:{team_id}` (the team's activity feed), `thread:{team_id}:{object_type}:{object_id}` "
            "(an object's thread) or `notifications` (your own)."
        ),
        examples=["team:0193a6f0-2c4e-7c7e-9a51-3f0e2d1b8a77", "notifications"],
    ),
]


class ClientFrame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """Base of what a client sends."""


class AuthFrame(ClientFrame, tag="auth"):
    """The first frame (unless the token came in `Sec-WebSocket-Protocol`), and again with a
    fresh token before the current one expires."""

    token: str


class SubscribeFrame(ClientFrame, tag="subscribe"):
    topic: Topic


class UnsubscribeFrame(ClientFrame, tag="unsubscribe"):
    topic: Topic


class PingFrame(ClientFrame, tag="ping"):
    pass


AnyClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame


class ServerFrame(msgspec.Struct, tag_field="type", kw_only=True):
    """Base of what the server sends."""


class ReadyFrame(ServerFrame, tag="ready"):
    """Authenticated; the socket closes with 4401 at `expires_at` unless a fresh `auth` arrives."""

    user_id: UUID
    expires_at: datetime


class SubscribedFrame(ServerFrame, tag="subscribed"):
    topic: str


class UnsubscribedFrame(ServerFrame, tag="unsubscribed"):
    """Sent on request, and when access is lost (removed from the team, grant revoked)."""

    topic: str
    reason: str


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"
    UNKNOWN_TOPIC = "unknown_topic"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    TOO_MANY = "too_many_subscriptions"


class ErrorFrame(ServerFrame, tag="error"):
    """A refused frame or subscription; `topic` names the refused topic, if any."""

    code: ErrorCode
    detail: str
    topic: str | None = None


class PongFrame(ServerFrame, tag="pong"):
    pass


class ResyncFrame(ServerFrame, tag="resync"):
    """Deliveries for `topic` may have been missed since `since` (the server's database listener
    reconnected): re-read what you show through the HTTP API (e.g. `ListThreadMessages` with
    `after` your newest id) and merge by id. Live deliveries go on after this frame."""

    topic: str
    since: datetime


class EventFrame(ServerFrame, tag="event"):
    """An activity event of the team (`team:{team_id}`), as `ListTeamEvents` shows it."""

    topic: str
    event: EventRead


class CloseCode:
    """WebSocket close codes of `/api/ws` (4000-4999 are the application's)."""

    UNAUTHENTICATED = 4401
    """No valid token within 5 s, or the token expired."""
    TOO_SLOW = 4408
    """The client read too slowly and its outbox overflowed."""
