"""One process's sockets and their subscriptions; fans each NOTIFY payload out to them.

`dispatch` is called by the listener for every payload, in commit order, synchronously: a
membership change suspends the member's subscriptions before the next payload is looked at, so
nothing committed after a removal reaches the removed member. Each socket has its own outbox
and sender task, so a slow client never delays the others; one whose outbox overflows is closed.

PostgreSQL does not keep notifications for a listener that is away: when the LISTEN connection
comes back, `resynchronize` suspends every subscription (a removal in the gap was never heard),
authorises it again, and tells the client to re-read what it shows (`resync`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar.types import WebSocketSendEvent

from app.db.engine import SessionMaker, tenant_session
from app.db.tenancy import TenantContext
from app.lib.auth import AuthUser, ensure_session_live
from app.lib.errors import DomainError
from app.realtime.frames import ResyncFrame, UnsubscribedFrame
from app.realtime.publish import Recheck, Reference
from app.realtime.topics import Grant, authorize, resolver_for

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 2_000
RESYNC_CONCURRENCY = 4
"""Authorisation reads in flight at once while re-checking every subscription after a reconnect."""


@dataclass(slots=True)
class Subscription:
    topic: str
    """As the client named it."""
    grant: Grant
    suspended: bool = False
    generation: int = 0
    """Bumped at every suspension: only the latest re-authorisation may lift it."""
    resync_since: datetime | None = None
    """Set while a `resync` frame is owed (deliveries may have been missed since then)."""

    def suspend(self) -> int:
        self.suspended = True
        self.generation += 1
        return self.generation


@dataclass(frozen=True, slots=True)
class _Pending:
    reference: Reference
    subscription: Subscription
    topic: str


Outgoing = WebSocketSendEvent
"""A ready ASGI `websocket.send` message; one dispatch shares a single one among all subscribers."""


def outgoing(text: str) -> Outgoing:
    return {"type": "websocket.send", "bytes": None, "text": text}


class Client:
    """One authenticated socket, as the hub sees it. `send` is the socket's ASGI send: frames
    go out as ready messages, with no per-frame wrapping on the way."""

    def __init__(self, user: AuthUser, send: Callable[[Outgoing], Awaitable[None]]) -> None:
        self.user = user
        self.send = send
        self.outbox: asyncio.Queue[Outgoing | _Pending | None] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self.subscriptions: dict[str, Subscription] = {}
        self.overflowed = asyncio.Event()

    def offer(self, item: Outgoing | _Pending) -> None:
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed.set()

    def send_frame(self, frame: msgspec.Struct) -> None:
        self.offer(outgoing(msgspec.json.encode(frame).decode()))


@dataclass
class Hub:
    session_maker: SessionMaker
    topics: dict[str, dict[Client, Subscription]] = field(default_factory=dict)
    users: dict[UUID, set[Client]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # --- sockets and subscriptions ------------------------------------------------------------

    def add_client(self, client: Client) -> None:
        self.users.setdefault(client.user.id, set()).add(client)

    def remove_client(self, client: Client) -> None:
        for subscription in list(client.subscriptions.values()):
            self._drop(client, subscription)
        clients = self.users.get(client.user.id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self.users[client.user.id]

    async def subscribe(self, client: Client, topic: str) -> Subscription:
        """Authorise like the HTTP read (raises its `DomainError`), then start delivering."""
        if topic in client.subscriptions:
            return client.subscriptions[topic]
        grant = await self._authorize(client.user, topic)
        subscription = Subscription(topic=topic, grant=grant)
        client.subscriptions[topic] = subscription
        self.topics.setdefault(grant.key, {})[client] = subscription
        return subscription

    def unsubscribe(self, client: Client, topic: str) -> bool:
        subscription = client.subscriptions.get(topic)
        if subscription is None:
            return False
        self._drop(client, subscription)
        return True

    def _drop(self, client: Client, subscription: Subscription) -> None:
        client.subscriptions.pop(subscription.topic, None)
        subscribers = self.topics.get(subscription.grant.key)
        if subscribers is not None:
            subscribers.pop(client, None)
            if not subscribers:
                del self.topics[subscription.grant.key]

    async def _authorize(self, user: AuthUser, topic: str) -> Grant:
        """Every topic first checks that the token's session is live, as every HTTP route does."""
        context = TenantContext(
            user_id=user.id,
            is_platform_admin=user.is_platform_admin,
            session_epoch=user.session_epoch,
            session_id=user.session_id,
        )
        async with tenant_session(self.session_maker, context) as session:
            await ensure_session_live(session, user)
            return await authorize(session, user, topic)

    # --- delivery ---------------------------------------------------------------------------

    def dispatch(self, payload: str) -> None:
        """Handle one NOTIFY payload (see `app.realtime.publish` for the format)."""
        kind, rest = payload[:1], payload[1:]
        if kind == "C":
            self._recheck(msgspec.json.decode(rest, type=Recheck))
            return
        topic, _, body = rest.partition("\n")
        subscribers = self.topics.get(topic)
        if not subscribers:
            return
        if kind == "F":
            message = outgoing(body)
            for client, subscription in list(subscribers.items()):
                if not subscription.suspended:
                    client.offer(message)
        elif kind == "R":
            reference = msgspec.json.decode(body, type=Reference)
            for client, subscription in list(subscribers.items()):
                if not subscription.suspended:
                    client.offer(_Pending(reference, subscription, topic))

    async def deliver(self, client: Client, item: Outgoing | _Pending) -> None:
        """Send one outbox item (the client's sender task calls this in order)."""
        if isinstance(item, _Pending):
            data = await self._resolve(item)
            if data is None:
                return
            item = outgoing(data.decode())
        await client.send(item)

    async def _resolve(self, pending: _Pending) -> bytes | None:
        resolver = resolver_for(pending.reference.kind)
        if resolver is None:
            logger.warning("no resolver for realtime reference kind %r", pending.reference.kind)
            return None
        async with tenant_session(self.session_maker, pending.subscription.grant.context) as session:
            return await resolver(session, pending.reference, pending.topic)

    def _recheck(self, change: Recheck) -> None:
        for client in list(self.users.get(change.user_id, ())):
            for subscription in list(client.subscriptions.values()):
                if subscription.grant.team_id == change.team_id:
                    self._spawn(
                        self._reauthorize(client, subscription, subscription.suspend(), self._authorize)
                    )

    def resynchronize(self, since: datetime) -> None:
        """The LISTEN connection is back: nothing committed while it was away was delivered, and
        a membership change in that gap was never heard. Suspend every subscription now (before
        the next payload is dispatched), authorise each again, then owe its client a `resync`."""
        pending: list[tuple[Client, Subscription, int]] = []
        for clients in self.users.values():
            for client in clients:
                for subscription in client.subscriptions.values():
                    subscription.resync_since = since
                    pending.append((client, subscription, subscription.suspend()))
        if pending:
            self._spawn(self._resynchronize(pending))

    async def _resynchronize(self, pending: list[tuple[Client, Subscription, int]]) -> None:
        # Many sockets of one user on one topic (tabs, devices) share one authorisation read.
        limit = asyncio.Semaphore(RESYNC_CONCURRENCY)
        grants: dict[tuple[UUID, UUID | None, int, str], asyncio.Future[Grant]] = {}

        async def authorize_once(user: AuthUser, topic: str) -> Grant:
            key = (user.id, user.session_id, user.session_epoch, topic)
            if key not in grants:
                grants[key] = asyncio.ensure_future(self._limited(limit, user, topic))
            return await asyncio.shield(grants[key])

        await asyncio.gather(
            *(
                self._reauthorize(client, subscription, generation, authorize_once)
                for client, subscription, generation in pending
            )
        )

    async def _limited(self, limit: asyncio.Semaphore, user: AuthUser, topic: str) -> Grant:
        async with limit:
            return await self._authorize(user, topic)

    async def _reauthorize(
        self,
        client: Client,
        subscription: Subscription,
        generation: int,
        authorize: Callable[[AuthUser, str], Awaitable[Grant]],
    ) -> None:
        try:
            grant = await authorize(client.user, subscription.topic)
        except DomainError:
            if self._is_current(client, subscription, generation):
                self._drop(client, subscription)
                client.send_frame(UnsubscribedFrame(topic=subscription.topic, reason="access_revoked"))
            return
        except Exception:
            logger.exception("re-authorising %s failed; the subscription stays suspended", subscription.topic)
            return
        if not self._is_current(client, subscription, generation):
            return  # suspended again meanwhile: the later check decides
        subscription.grant = grant
        subscription.suspended = False
        if subscription.resync_since is not None:
            client.send_frame(ResyncFrame(topic=subscription.topic, since=subscription.resync_since))
            subscription.resync_since = None

    @staticmethod
    def _is_current(client: Client, subscription: Subscription, generation: int) -> bool:
        return (
            client.subscriptions.get(subscription.topic) is subscription
            and subscription.generation == generation
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscriber_count(self) -> int:
        return sum(len(subscribers) for subscribers in self.topics.values())
