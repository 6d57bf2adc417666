"""The team feed on the socket, and membership changes that re-check live subscriptions.

Registered with `app.events` by `install()`: every event is published to `team:{team_id}`
in the writing transaction. A change to someone's membership or campaign grant publishes a
re-check of that person's subscriptions in the team, ahead of anything committed after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.tenancy import TenantContext, get_tenant
from app.events.models import Event
from app.events.schemas import EventRead
from app.events.services import register_event_listener
from app.lib.auth import AuthUser
from app.lib.deps import verify_team_access
from app.lib.errors import BadRequestError
from app.lib.roles import TeamRole
from app.realtime.frames import EventFrame
from app.realtime.publish import (
    Publication,
    Reference,
    publish_many,
    recheck_payload,
    team_topic,
    user_topic,
)
from app.realtime.topics import Grant, parse_uuid, register_resolver, register_topic

MEMBERSHIP_OBJECT_TYPES = frozenset({"team_member", "campaign_guest"})

_EVENT_COLUMNS = (
    Event.id,
    Event.team_id,
    Event.actor_id,
    Event.object_type,
    Event.object_id,
    Event.event_type,
    Event.changes,
    Event.created_at,
)


def event_read(event: Event) -> EventRead:
    return msgspec.convert(event, EventRead, from_attributes=True)


def _member_of(event: Event) -> UUID | None:
    """The person whose standing changed: the member, or the guest whose grant changed."""
    if event.object_type == "team_member":
        return event.object_id
    change = (event.changes or {}).get("user_id") or {}
    user_id = change.get("new") or change.get("old")
    return UUID(user_id) if user_id else None


def publish_events(session: Session, events: Sequence[Event]) -> None:
    """All the flush's events (and re-checks, each ahead of its event) in one `pg_notify` statement."""
    publications: list[Publication | str] = []
    for event in events:
        if event.object_type in MEMBERSHIP_OBJECT_TYPES and (user_id := _member_of(event)) is not None:
            publications.append(recheck_payload(team_id=event.team_id, user_id=user_id))
        topic = team_topic(event.team_id)
        publications.append(
            Publication(
                topic,
                EventFrame(topic=topic, event=event_read(event)),
                Reference(kind="event", id=event.id, action="created"),
            )
        )
    publish_many(session.connection(), publications)


async def _authorize_team(session: AsyncSession, user: AuthUser, parts: list[str]) -> Grant:
    if len(parts) != 2:
        raise BadRequestError("A team feed topic is `team:{team_id}`.")
    team_id = parse_uuid(parts[1], what="team_id")
    await verify_team_access(session, user, team_id=team_id, required=TeamRole.MEMBER)  # as ListTeamEvents
    context = get_tenant(session) or TenantContext(user_id=user.id)
    return Grant(key=team_topic(team_id), context=context, team_id=team_id)


async def _authorize_notifications(session: AsyncSession, user: AuthUser, parts: list[str]) -> Grant:
    if len(parts) != 1:
        raise BadRequestError("Your notifications' topic is `notifications`.")
    return Grant(key=user_topic(user.id), context=TenantContext(user_id=user.id))


async def _resolve_event(session: AsyncSession, reference: Reference, topic: str) -> bytes | None:
    row = (await session.execute(select(*_EVENT_COLUMNS).where(Event.id == reference.id))).mappings().first()
    if row is None:
        return None
    return msgspec.json.encode(EventFrame(topic=topic, event=msgspec.convert(row, EventRead, strict=False)))


def install() -> None:
    register_event_listener("realtime.team_feed", publish_events)
    register_topic("team", _authorize_team)
    register_topic("notifications", _authorize_notifications)
    register_resolver("event", _resolve_event)
