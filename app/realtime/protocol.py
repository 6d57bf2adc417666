"""`GetRealtimeProtocol`: how to use `/api/ws`, and (through its response type) every frame's
schema in the OpenAPI document's `components.schemas`, so generated clients have their types.

This is the one module of `realtime/` that names other modules' frames: it is documentation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from litestar import get

from app.lib.errors import problem_responses
from app.lib.schema import Schema
from app.notifications.schemas import NotificationFrame
from app.realtime.auth import SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX
from app.realtime.controllers import AUTH_TIMEOUT_SECONDS, MAX_SUBSCRIPTIONS
from app.realtime.frames import (
    AuthFrame,
    CloseCode,
    ErrorCode,
    ErrorFrame,
    EventFrame,
    PingFrame,
    PongFrame,
    ReadyFrame,
    ResyncFrame,
    SubscribedFrame,
    SubscribeFrame,
    UnsubscribedFrame,
    UnsubscribeFrame,
)
from app.threads.schemas import ThreadMessageFrame

ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame
ServerFrame = (
    ReadyFrame
    | SubscribedFrame
    | UnsubscribedFrame
    | ErrorFrame
    | PongFrame
    | ResyncFrame
    | EventFrame
    | ThreadMessageFrame
    | NotificationFrame
)


class RealtimeProtocol(Schema):
    url: str
    subprotocol: str
    """Offer it with `bearer.<access token>` in `Sec-WebSocket-Protocol`, or send `auth` first."""
    auth_timeout_seconds: float
    max_subscriptions: int
    topics: list[str]
    close_codes: dict[str, int]
    client_examples: list[ClientFrame]
    """What a client sends (`type` tells them apart)."""
    server_examples: list[ServerFrame]
    """What the server sends; deliveries are `event`, `message` and `notification`."""


_EXAMPLE_ID = UUID("0193a6f0-2c4e-7c7e-9a51-3f0e2d1b8a77")


@get(
    "/api/realtime",
    operation_id="GetRealtimeProtocol",
    tags=["Real time"],
    responses=problem_responses(401),
    sync_to_thread=False,
)
def get_realtime_protocol() -> RealtimeProtocol:
    """How to talk to the `/api/ws` socket: topics, close codes and the frames, with examples."""
    topic = f"team:{_EXAMPLE_ID}"
    return RealtimeProtocol(
        url="/api/ws",
        subprotocol=f"{SUBPROTOCOL} (with {TOKEN_PROTOCOL_PREFIX}<token>)",
        auth_timeout_seconds=AUTH_TIMEOUT_SECONDS,
        max_subscriptions=MAX_SUBSCRIPTIONS,
        topics=["team:{team_id}", "thread:{team_id}:{object_type}:{object_id}", "notifications"],
        close_codes={"unauthenticated": CloseCode.UNAUTHENTICATED, "too_slow": CloseCode.TOO_SLOW},
        client_examples=[AuthFrame(token="<access token>"), SubscribeFrame(topic=topic), PingFrame()],
        server_examples=[
            ReadyFrame(user_id=_EXAMPLE_ID, expires_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
            SubscribedFrame(topic=topic),
            ErrorFrame(code=ErrorCode.NOT_FOUND, detail="Team not found.", topic=topic),
            UnsubscribedFrame(topic=topic, reason="access_revoked"),
            ResyncFrame(topic=topic, since=datetime(2026, 12, 1, 11, 58, tzinfo=UTC)),
        ],
    )
