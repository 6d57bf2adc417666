"""`/api/ws`: the one socket a client keeps open (authenticate, subscribe, receive).

Protocol: send `{"type": "auth", "token": "<access token>"}` first (or offer
`Sec-WebSocket-Protocol: campaign-platform, bearer.<token>`); without a valid token within 5 s
the server closes with 4401. Then `subscribe` to topics; each is answered by `subscribed` or
an `error` naming the topic. The socket closes with 4401 when the token expires, unless the
client sent a fresh `auth` first. Frames are documented in `app.realtime.frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.config import Settings
from app.lib.errors import DomainError, SessionEndedError
from app.realtime.auth import InvalidTokenError, token_from_subprotocols, verify_token
from app.realtime.frames import (
    AnyClientFrame,
    AuthFrame,
    CloseCode,
    ErrorCode,
    ErrorFrame,
    PingFrame,
    PongFrame,
    ReadyFrame,
    SubscribedFrame,
    SubscribeFrame,
    UnsubscribedFrame,
    UnsubscribeFrame,
)
from app.realtime.hub import Client, Hub

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 5.0
MAX_SUBSCRIPTIONS = 100
_decoder = msgspec.json.Decoder(AnyClientFrame)


class _ClosedError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _error_code(exc: DomainError) -> ErrorCode:
    if exc.status_code == 404:
        return ErrorCode.NOT_FOUND
    if exc.status_code == 403:
        return ErrorCode.FORBIDDEN
    return ErrorCode.UNKNOWN_TOPIC


async def _receive(socket: WebSocket[Any, Any, Any]) -> AnyClientFrame | ErrorFrame:
    data = await socket.receive_data(mode="text")
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        return ErrorFrame(code=ErrorCode.BAD_FRAME, detail=f"Not a frame this socket accepts: {exc}")
    except msgspec.DecodeError:
        return ErrorFrame(code=ErrorCode.BAD_FRAME, detail="Frames are JSON objects with a `type`.")


@websocket("/api/ws", opt={"exclude_from_auth": True}, name="realtime_socket")
async def realtime_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """The real-time socket: team feeds, object threads and your notifications, live."""
    settings: Settings = socket.app.state.settings
    hub: Hub = socket.app.state.realtime_hub
    token, protocol = token_from_subprotocols(socket.headers.get("sec-websocket-protocol"))
    await socket.accept(subprotocols=protocol)
    try:
        user, expires_at = await _authenticate(socket, settings, token)
    except _ClosedError as closed:
        await socket.close(code=closed.code, reason=closed.reason)
        return
    except WebSocketDisconnect:
        return
    client = Client(user, socket.send)
    hub.add_client(client)
    sender = asyncio.create_task(_pump(hub, client))
    try:
        client.send_frame(ReadyFrame(user_id=user.id, expires_at=expires_at))
        await _serve(socket, settings, hub, client, expires_at)
    except _ClosedError as closed:
        with contextlib.suppress(Exception):
            await socket.close(code=closed.code, reason=closed.reason)
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove_client(client)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _authenticate(
    socket: WebSocket[Any, Any, Any], settings: Settings, token: str | None
) -> tuple[Any, datetime]:
    if token is None:
        try:
            frame = await asyncio.wait_for(_receive(socket), timeout=AUTH_TIMEOUT_SECONDS)
        except TimeoutError:
            raise _ClosedError(CloseCode.UNAUTHENTICATED, "no access token within 5 s") from None
        if not isinstance(frame, AuthFrame):
            raise _ClosedError(CloseCode.UNAUTHENTICATED, "the first frame must be `auth`")
        token = frame.token
    try:
        return verify_token(settings.auth, token)
    except InvalidTokenError:
        raise _ClosedError(CloseCode.UNAUTHENTICATED, "invalid or expired access token") from None


async def _serve(
    socket: WebSocket[Any, Any, Any], settings: Settings, hub: Hub, client: Client, expires_at: datetime
) -> None:
    overflow = asyncio.create_task(client.overflowed.wait())
    try:
        while True:
            remaining = (expires_at - datetime.now(tz=UTC)).total_seconds()
            if remaining <= 0:
                raise _ClosedError(CloseCode.UNAUTHENTICATED, "access token expired")
            receive = asyncio.create_task(_receive(socket))
            done, _ = await asyncio.wait(
                {receive, overflow}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if overflow in done:
                receive.cancel()
                raise _ClosedError(CloseCode.TOO_SLOW, "the client is not reading fast enough")
            if receive not in done:
                receive.cancel()
                raise _ClosedError(CloseCode.UNAUTHENTICATED, "access token expired")
            expires_at = await _handle(receive.result(), settings, hub, client, expires_at)
    finally:
        overflow.cancel()


async def _handle(
    frame: AnyClientFrame | ErrorFrame, settings: Settings, hub: Hub, client: Client, expires_at: datetime
) -> datetime:
    match frame:
        case ErrorFrame():
            client.send_frame(frame)
        case PingFrame():
            client.send_frame(PongFrame())
        case AuthFrame(token=token):
            try:
                user, fresh_expiry = verify_token(settings.auth, token)
            except InvalidTokenError:
                client.send_frame(
                    ErrorFrame(code=ErrorCode.BAD_FRAME, detail="That access token is not valid.")
                )
                return expires_at
            if user.id != client.user.id:
                raise _ClosedError(CloseCode.UNAUTHENTICATED, "a socket belongs to one user")
            client.send_frame(ReadyFrame(user_id=user.id, expires_at=fresh_expiry))
            return fresh_expiry
        case SubscribeFrame(topic=topic):
            await _subscribe(hub, client, topic)
        case UnsubscribeFrame(topic=topic):
            hub.unsubscribe(client, topic)
            client.send_frame(UnsubscribedFrame(topic=topic, reason="requested"))
    return expires_at


async def _subscribe(hub: Hub, client: Client, topic: str) -> None:
    if topic not in client.subscriptions and len(client.subscriptions) >= MAX_SUBSCRIPTIONS:
        client.send_frame(
            ErrorFrame(
                code=ErrorCode.TOO_MANY, detail=f"At most {MAX_SUBSCRIPTIONS} topics per socket.", topic=topic
            )
        )
        return
    try:
        await hub.subscribe(client, topic)
    except SessionEndedError:
        raise _ClosedError(CloseCode.UNAUTHENTICATED, "this session has ended; log in again") from None
    except DomainError as exc:
        client.send_frame(ErrorFrame(code=_error_code(exc), detail=exc.detail, topic=topic))
        return
    client.send_frame(SubscribedFrame(topic=topic))


async def _pump(hub: Hub, client: Client) -> None:
    outbox = client.outbox
    while True:
        item = await outbox.get()
        if item is None:
            return
        try:
            await hub.deliver(client, item)
        except WebSocketDisconnect:
            return
        except Exception:
            logger.exception("realtime: could not deliver a frame")
