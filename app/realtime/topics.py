"""Who may subscribe to what: one authoriser per topic prefix, and resolvers for references.

An authoriser runs the same check as the matching HTTP read, in a session under the socket
user's context, and returns a `Grant`: the tenant context the subscription reads under (for
references) and the team it depends on (for revocation). Refusals raise the same `DomainError`s
the HTTP read raises; the socket turns them into an error frame naming the topic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext
from app.lib.auth import AuthUser
from app.lib.errors import BadRequestError
from app.realtime.publish import Reference


@dataclass(frozen=True, slots=True)
class Grant:
    key: str
    """The internal topic frames are published on (`notifications` becomes `user:{id}`)."""
    context: TenantContext
    team_id: UUID | None = None
    """Membership changes in this team re-check the subscription."""


TopicAuthorizer = Callable[[AsyncSession, AuthUser, list[str]], Awaitable[Grant]]
"""Called with the topic split on `:` (prefix first)."""
Resolver = Callable[[AsyncSession, Reference, str], Awaitable[bytes | None]]
"""Reads a referenced frame back (`None`: not visible to this subscriber any more)."""

_authorizers: dict[str, TopicAuthorizer] = {}
_resolvers: dict[str, Resolver] = {}


def register_topic(prefix: str, authorizer: TopicAuthorizer) -> None:
    _authorizers[prefix] = authorizer


def register_resolver(kind: str, resolver: Resolver) -> None:
    _resolvers[kind] = resolver


def topic_prefixes() -> list[str]:
    return sorted(_authorizers)


async def authorize(session: AsyncSession, user: AuthUser, topic: str) -> Grant:
    parts = topic.split(":")
    authorizer = _authorizers.get(parts[0])
    if authorizer is None:
        raise BadRequestError(
            f"Unknown topic {topic!r}; topics start with one of: {', '.join(topic_prefixes())}."
        )
    return await authorizer(session, user, parts)


def resolver_for(kind: str) -> Resolver | None:
    return _resolvers.get(kind)


def parse_uuid(value: str, *, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise BadRequestError(f"{what} in the topic is not a UUID: {value!r}.") from None
