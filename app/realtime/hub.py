"""One process's sockets and their subscriptions; fans each NOTIFY payload out to them.

`dispatch` is called by the listener for every payload, in commit order, synchronously: a
membership change suspends the member's subscriptions before the next payload is looked at, so
nothing committed after a removal reaches the removed member. Each socket has its own outbox
and sender task, so a slow client never delays the others; one whose outbox overflows is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import msgspec

from app.db.engine import SessionMaker, tenant_session
from app.db.tenancy import TenantContext
from app.lib.auth import AuthUser, ensure_session_live
from app.lib.errors import DomainError
from app.realtime.frames import UnsubscribedFrame
from app.realtime.publish import Recheck, Reference
from app.realtime.topics import Grant, authorize, resolver_for

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 2_000


@dataclass(slots=True)
class Subscription:
    topic: str
    """As the client named it."""
    grant: Grant
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class _Pending:
    reference: Reference
    subscription: Subscription
    topic: str


class Client:
    """One authenticated socket, as the hub sees it."""

    def __init__(self, user: AuthUser, send_text: Callable[[str], Awaitable[None]]) -> None:
        self.user = user
        self.send_text = send_text
        self.outbox: asyncio.Queue[str | bytes | _Pending | None] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self.subscriptions: dict[str, Subscription] = {}
        self.overflowed = asyncio.Event()

    def offer(self, item: str | bytes | _Pending) -> None:
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed.set()

    def send_frame(self, frame: msgspec.Struct) -> None:
        self.offer(msgspec.json.encode(frame))


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
            for client, subscription in list(subscribers.items()):
                if not subscription.suspended:
                    client.offer(body)
        elif kind == "R":
            reference = msgspec.json.decode(body, type=Reference)
            for client, subscription in list(subscribers.items()):
                if not subscription.suspended:
                    client.offer(_Pending(reference, subscription, topic))

    async def deliver(self, client: Client, item: str | bytes | _Pending) -> None:
        """Send one outbox item (the client's sender task calls this in order)."""
        if isinstance(item, _Pending):
            data = await self._resolve(item)
            if data is None:
                return
            item = data
        await client.send_text(item if isinstance(item, str) else item.decode())

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
                    subscription.suspended = True
                    task = asyncio.create_task(self._reauthorize(client, subscription))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _reauthorize(self, client: Client, subscription: Subscription) -> None:
        try:
            grant = await self._authorize(client.user, subscription.topic)
        except DomainError:
            if client.subscriptions.get(subscription.topic) is subscription:
                self._drop(client, subscription)
                client.send_frame(UnsubscribedFrame(topic=subscription.topic, reason="access_revoked"))
            return
        except Exception:
            logger.exception("re-authorising %s failed; the subscription stays suspended", subscription.topic)
            return
        subscription.grant = grant
        subscription.suspended = False

    def subscriber_count(self) -> int:
        return sum(len(subscribers) for subscribers in self.topics.values())
