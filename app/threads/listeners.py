"""System messages: every activity event on a threadable object, shown in its thread.

Registered with `app.events` by `install()`; runs inside the flush that wrote the event, on its
connection, so the system message commits or rolls back with the change. A `deleted` event is
added only to a thread that already exists (a deleted object gets no new thread, and a deleted
campaign's threads are gone with it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import inspect, literal, select
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
from app.realtime.publish import Reference, publish_many, thread_topic
from app.realtime.topics import Grant, parse_uuid, register_resolver, register_topic
from app.threads.models import ThreadMessage
from app.threads.objects import visible_object
from app.threads.schemas import MessageKind, ThreadMessageFrame, ThreadMessageRead
from app.threads.store import (
    MESSAGE_REFERENCE,
    ObjectKey,
    add_messages,
    message_publication,
    message_statement,
    threads_of,
)


def _campaigns_of(
    session: Session, keys: Iterable[ObjectKey], *, created: set[ObjectKey]
) -> dict[ObjectKey, UUID | None]:
    """The campaign of each object that still exists (absent: gone): none to look up for an
    object outside campaigns that this transaction created (`created`), else from the session
    where it is loaded, otherwise with one query per object type (a bulk action expires what it
    moved; a create on the fast path never loads an instance)."""
    models = threadable_models()
    found: dict[ObjectKey, UUID | None] = {}
    unloaded: dict[str, list[UUID]] = defaultdict(list)
    for object_type, object_id in keys:
        model = models[object_type]
        key = model.__thread_campaign_key__
        if key is None and (object_type, object_id) in created:
            found[(object_type, object_id)] = None
            continue
        instance = session.identity_map.get(inspect(model).identity_key_from_primary_key((object_id,)))
        if instance is not None and (key is None or key in inspect(instance).dict):
            found[(object_type, object_id)] = getattr(instance, key) if key else None
        else:
            unloaded[object_type].append(object_id)
    connection = session.connection()
    for object_type, object_ids in unloaded.items():
        model = models[object_type]
        key = model.__thread_campaign_key__
        campaign = getattr(model, key) if key else literal(None)
        for object_id, campaign_id in connection.execute(
            select(model.id, campaign).where(model.id.in_(object_ids))
        ):
            found[(object_type, object_id)] = campaign_id
    return found


def _comment_of(event: Event) -> str | None:
    """The comment a status change carries (e.g. "request changes"), said in the thread by its author."""
    if event.event_type != "status_changed" or event.actor_id is None:
        return None
    comment = ((event.changes or {}).get("comment") or {}).get("new")
    return comment if isinstance(comment, str) and comment.strip() else None


def write_system_messages(session: Session, events: Sequence[Event]) -> None:
    """One system message per event on a threadable object, plus the author's message for a
    status change that carries a comment. Whatever the number of events: at most one query for
    the objects' campaigns, one for the threads (found or created), one insert of the messages
    (read back in it) and one `pg_notify`."""
    models = threadable_models()
    relevant = [event for event in events if event.object_type in models]
    if not relevant:
        return
    keys = {(event.object_type, event.object_id) for event in relevant}
    deleted = {(e.object_type, e.object_id) for e in relevant if e.event_type == "deleted"}
    alive = {(e.object_type, e.object_id) for e in relevant} - deleted
    created = {(e.object_type, e.object_id) for e in relevant if e.event_type == "created"} - deleted
    campaigns = _campaigns_of(session, alive, created=created)
    team_of = {(event.object_type, event.object_id): event.team_id for event in relevant}
    connection = session.connection()
    # A deleted object gets no new thread; an object gone by now gets none either.
    threads = threads_of(
        connection, keys, create={key: (team_of[key], campaign) for key, campaign in campaigns.items()}
    )
    rows: list[dict[str, Any]] = []
    for event in relevant:
        key = (event.object_type, event.object_id)
        thread = threads.get(key)
        if thread is None or (event.event_type != "deleted" and key not in campaigns):
            continue
        common = {"thread_id": thread.id, "team_id": event.team_id, "campaign_id": thread.campaign_id}
        rows.append(
            {
                **common,
                "kind": MessageKind.SYSTEM.value,
                "author_id": event.actor_id,
                "body": "",
                "event_id": event.id,
                "event_type": event.event_type,
                "changes": event.changes,
            }
        )
        comment = _comment_of(event)
        if comment is not None:
            rows.append(
                {
                    **common,
                    "kind": MessageKind.USER.value,
                    "author_id": event.actor_id,
                    "body": comment.strip(),
                    "event_id": None,
                    "event_type": None,
                    "changes": None,
                }
            )
    messages = add_messages(connection, rows)
    object_of = {thread.id: key for key, thread in threads.items()}
    publish_many(
        connection,
        [
            message_publication(
                team_id=row["team_id"],
                object_type=object_of[message.thread_id][0],
                object_id=object_of[message.thread_id][1],
                message=message,
                action="created",
            )
            for row, message in zip(rows, messages, strict=True)
        ],
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
