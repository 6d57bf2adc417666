"""System messages: every activity event on a threadable object, shown in its thread.

Registered with `app.events` by `install()`; runs inside the flush that wrote the event, on its
connection, so the system message commits or rolls back with the change. A `deleted` event is
added only to a thread that already exists (a deleted object gets no new thread, and a deleted
campaign's threads are gone with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.tenancy import get_tenant
from app.db.threadable import threadable_models
from app.events.models import Event
from app.events.services import register_event_listener
from app.lib.auth import AuthUser
from app.lib.deps import verify_team_access
from app.lib.errors import BadRequestError
from app.lib.roles import TeamRole
from app.realtime.publish import Reference, thread_topic
from app.realtime.topics import Grant, parse_uuid, register_resolver, register_topic
from app.threads.models import Thread, ThreadMessage
from app.threads.objects import visible_object
from app.threads.schemas import MessageKind, ThreadMessageFrame, ThreadMessageRead
from app.threads.store import (
    MESSAGE_REFERENCE,
    add_message,
    ensure_thread,
    message_statement,
    publish_message,
    read_message,
)


def _campaign_of(session: Session, model: Any, object_id: UUID) -> tuple[bool, UUID | None]:
    """(found, campaign id) of the object, from the session when it is there."""
    key = model.__thread_campaign_key__
    instance = session.identity_map.get(inspect(model).identity_key_from_primary_key((object_id,)))
    if instance is not None:
        return True, getattr(instance, key) if key else None
    column = getattr(model, key) if key else model.id
    row = session.connection().execute(select(column).where(model.id == object_id)).first()
    if row is None:
        return False, None
    return True, row[0] if key else None


def write_system_messages(session: Session, events: Sequence[Event]) -> None:
    models = threadable_models()
    connection = session.connection()
    for event in events:
        model = models.get(event.object_type)
        if model is None:
            continue
        if event.event_type == "deleted":
            thread = connection.execute(
                select(Thread.id, Thread.campaign_id).where(
                    Thread.object_type == event.object_type, Thread.object_id == event.object_id
                )
            ).first()
            if thread is None:
                continue
            thread_id, campaign_id = thread
        else:
            found, campaign_id = _campaign_of(session, model, event.object_id)
            if not found:
                continue
            thread_id = ensure_thread(
                connection,
                team_id=event.team_id,
                campaign_id=campaign_id,
                object_type=event.object_type,
                object_id=event.object_id,
            )
        message_id = add_message(
            connection,
            thread_id=thread_id,
            team_id=event.team_id,
            campaign_id=campaign_id,
            kind=MessageKind.SYSTEM.value,
            author_id=event.actor_id,
            body="",
            event_id=event.id,
            event_type=event.event_type,
            changes=event.changes,
        )
        publish_message(
            connection,
            team_id=event.team_id,
            object_type=event.object_type,
            object_id=event.object_id,
            message=read_message(connection, message_id),
            action="created",
        )


async def _authorize_thread(session: AsyncSession, user: AuthUser, parts: list[str]) -> Grant:
    """As `ListThreadMessages`: a member, or a guest inside their campaigns, who sees the object."""
    if len(parts) != 4:
        raise BadRequestError("A thread topic is `thread:{team_id}:{object_type}:{object_id}`.")
    team_id = parse_uuid(parts[1], what="team_id")
    object_id = parse_uuid(parts[3], what="object_id")
    access = await verify_team_access(session, user, team_id=team_id, required=TeamRole.GUEST)
    await visible_object(session, access, parts[2], object_id)
    context = get_tenant(session)
    assert context is not None
    return Grant(key=thread_topic(team_id, parts[2], object_id), context=context, team_id=team_id)


async def _resolve_message(session: AsyncSession, reference: Reference, topic: str) -> bytes | None:
    row = (
        (await session.execute(message_statement().where(ThreadMessage.id == reference.id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    message = msgspec.convert(row, ThreadMessageRead, strict=False)
    return msgspec.json.encode(ThreadMessageFrame(topic=topic, action=reference.action, message=message))  # pyright: ignore[reportArgumentType]


def install() -> None:
    register_event_listener("threads.system_messages", write_system_messages)
    register_topic("thread", _authorize_thread)
    register_resolver(MESSAGE_REFERENCE, _resolve_message)
