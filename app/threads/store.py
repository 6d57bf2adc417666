"""Writes that both the request path and the event listener make, on a sync `Connection`.

The listener runs inside a flush (sync); the services call these through `session.run_sync`,
so there is one implementation of "the thread of this object, created on first use".
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import CompoundSelect, Select, bindparam, func, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.engine import Connection
from uuid_utils.compat import uuid7

from app.realtime.publish import Publication, Reference, publish, thread_topic
from app.threads.models import Thread, ThreadMessage
from app.threads.schemas import ThreadMessageFrame, ThreadMessageRead
from app.users.models import User

MESSAGE_REFERENCE = "thread_message"

MESSAGE_COLUMNS = (
    ThreadMessage.id,
    ThreadMessage.thread_id,
    ThreadMessage.kind,
    ThreadMessage.author_id,
    User.name.label("author_name"),
    ThreadMessage.body,
    ThreadMessage.mentions,
    ThreadMessage.event_type,
    ThreadMessage.changes,
    ThreadMessage.created_at,
    ThreadMessage.edited_at,
    ThreadMessage.deleted_at,
    ThreadMessage.version,
)


def message_statement() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    """Messages with their author's name; RLS limits them to the team (and a guest's campaigns)."""
    return select(*MESSAGE_COLUMNS).outerjoin(User, User.id == ThreadMessage.author_id)  # pyright: ignore[reportReturnType]


def with_rows(statement: Insert, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """`statement.values(rows)`, in the form SQLAlchemy caches compiled when there is one row.

    A multi-row VALUES is never cached (`visit_dml_multi_values` marks it uncacheable), so each
    call compiles it again: for the one-event flush of a create or an update, compiling the
    thread and message inserts was most of the request's CPU. One row as a plain `.values(dict)`
    compiles once per process to the same SQL; several rows (bulk actions) still compile per call.
    """
    return statement.values(rows[0]) if len(rows) == 1 else statement.values(list(rows))


def thread_id_of(connection: Connection, object_type: str, object_id: UUID) -> UUID | None:
    statement = select(Thread.id).where(Thread.object_type == object_type, Thread.object_id == object_id)
    return connection.execute(statement).scalar()


def ensure_thread(
    connection: Connection, *, team_id: UUID, campaign_id: UUID | None, object_type: str, object_id: UUID
) -> UUID:
    """The object's thread, created if missing. Safe under concurrent first posts: the unique
    key makes the loser's insert wait for the winner's commit and then do nothing; the loser
    then reads the winner's row."""
    existing = thread_id_of(connection, object_type, object_id)
    if existing is not None:
        return existing
    now = datetime.now(tz=UTC)
    inserted = connection.execute(
        insert(Thread)
        .values(
            team_id=team_id,
            campaign_id=campaign_id,
            object_type=object_type,
            object_id=object_id,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["object_type", "object_id"])
        .returning(Thread.id)
    ).scalar()
    if inserted is not None:
        return inserted
    found = thread_id_of(connection, object_type, object_id)
    assert found is not None, "the conflicting thread is visible once its transaction committed"
    return found


def add_message(
    connection: Connection, *, thread_id: UUID, team_id: UUID, campaign_id: UUID | None, **values: Any
) -> UUID:
    now = datetime.now(tz=UTC)
    return connection.execute(
        insert(ThreadMessage)
        .values(
            thread_id=thread_id,
            team_id=team_id,
            campaign_id=campaign_id,
            version=1,
            created_at=now,
            updated_at=now,
            **values,
        )
        .returning(ThreadMessage.id)
    ).scalar_one()


def read_message(connection: Connection, message_id: UUID) -> ThreadMessageRead:
    row = connection.execute(message_statement().where(ThreadMessage.id == message_id)).mappings().one()
    return msgspec.convert(row, ThreadMessageRead, strict=False)


def publish_message(
    connection: Connection,
    *,
    team_id: UUID,
    object_type: str,
    object_id: UUID,
    message: ThreadMessageRead,
    action: str,
) -> None:
    topic = thread_topic(team_id, object_type, object_id)
    frame = ThreadMessageFrame(topic=topic, action=action, message=message)  # pyright: ignore[reportArgumentType]
    publish(
        connection, topic, frame, reference=Reference(kind=MESSAGE_REFERENCE, id=message.id, action=action)
    )


def count_messages(thread_id: UUID) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    return select(func.count()).where(ThreadMessage.thread_id == thread_id)  # pyright: ignore[reportReturnType]


# Batched forms, for the event listener: one statement per kind of write, whatever the number of
# events in the flush (a bulk action's 20 posts cost what one costs).

ObjectKey = tuple[str, UUID]
"""(object type, object id)."""


class ThreadRow(msgspec.Struct, frozen=True):
    id: UUID
    campaign_id: UUID | None


_THREAD_COLUMNS = (Thread.id, Thread.campaign_id, Thread.object_type, Thread.object_id)


def _threads_in(keys: Sequence[ObjectKey]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    return select(*_THREAD_COLUMNS).where(tuple_(Thread.object_type, Thread.object_id).in_(keys))  # pyright: ignore[reportReturnType]


@functools.cache
def _one_thread_statement() -> CompoundSelect:
    """`threads_of` for one object whose thread may be created (a create's or an update's event):
    built once, so neither the statement nor its cache key is rebuilt per call; values are bound."""
    inserted = (
        insert(Thread)
        .values(
            id=bindparam("new_id"),
            team_id=bindparam("new_team_id"),
            campaign_id=bindparam("new_campaign_id"),
            object_type=bindparam("new_object_type"),
            object_id=bindparam("new_object_id"),
            created_at=bindparam("new_created_at"),
            updated_at=bindparam("new_updated_at"),
        )
        .on_conflict_do_nothing(index_elements=["object_type", "object_id"])
        .returning(*_THREAD_COLUMNS)
        .cte("inserted_threads")
    )
    existing = select(*_THREAD_COLUMNS).where(
        Thread.object_type == bindparam("key_type"), Thread.object_id == bindparam("key_id")
    )
    # The statement's snapshot does not see its own CTE's rows: the union has both, once each.
    return union_all(select(inserted), existing)


def threads_of(
    connection: Connection,
    keys: Iterable[ObjectKey],
    *,
    create: Mapping[ObjectKey, tuple[UUID, UUID | None]],
) -> dict[ObjectKey, ThreadRow]:
    """The threads of `keys` that exist, and of every object in `create` ((team id, campaign id)
    by key), created where missing; one statement, plus one more only after losing a race (a
    concurrent first message's insert: ours waits for it, then reads its row, as `ensure_thread`)."""
    wanted = sorted(set(keys) | set(create))
    if not wanted:
        return {}
    now = datetime.now(tz=UTC)
    if len(wanted) == 1 and len(create) == 1:
        ((object_type, object_id), (team_id, campaign_id)) = next(iter(create.items()))
        rows = connection.execute(
            _one_thread_statement(),
            {
                "new_id": uuid7(),
                "new_team_id": team_id,
                "new_campaign_id": campaign_id,
                "new_object_type": object_type,
                "new_object_id": object_id,
                "new_created_at": now,
                "new_updated_at": now,
                "key_type": object_type,
                "key_id": object_id,
            },
        )
    else:
        statement: Any = _threads_in(wanted)
        if create:
            inserted = (
                with_rows(
                    insert(Thread),
                    [
                        {
                            "id": uuid7(),
                            "team_id": team_id,
                            "campaign_id": campaign_id,
                            "object_type": object_type,
                            "object_id": object_id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for (object_type, object_id), (team_id, campaign_id) in sorted(create.items())
                    ],
                )
                .on_conflict_do_nothing(index_elements=["object_type", "object_id"])
                .returning(*_THREAD_COLUMNS)
                .cte("inserted_threads")
            )
            statement = union_all(select(inserted), statement)
        rows = connection.execute(statement)
    found = {(row.object_type, row.object_id): ThreadRow(row.id, row.campaign_id) for row in rows}
    late = [key for key in create if key not in found]
    if late:
        for row in connection.execute(_threads_in(late)):
            found[(row.object_type, row.object_id)] = ThreadRow(row.id, row.campaign_id)
    return found


_MESSAGE_TABLE_COLUMNS = tuple(column for column in MESSAGE_COLUMNS if column.key != "author_name")


def _inserted_messages(inserted: Insert) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    cte = inserted.returning(*_MESSAGE_TABLE_COLUMNS).cte("inserted_messages")  # pyright: ignore[reportArgumentType]
    return select(  # pyright: ignore[reportReturnType]
        *(cte.c[column.key] for column in _MESSAGE_TABLE_COLUMNS), User.name.label("author_name")
    ).outerjoin(User, User.id == cte.c.author_id)


@functools.cache
def _one_message_statement(columns: tuple[str, ...]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    """`add_messages` for one row with these columns: built once per column set, values bound."""
    return _inserted_messages(
        insert(ThreadMessage).values({name: bindparam(f"m_{name}") for name in columns})
    )


def add_messages(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[ThreadMessageRead]:
    """Insert messages (each row: thread_id, team_id, campaign_id, kind, author_id, body and the
    event columns) and read them back with their authors' names: one statement, in the given order."""
    if not rows:
        return []
    now = datetime.now(tz=UTC)
    values = [
        {"id": uuid7(), "version": 1, "mentions": [], "created_at": now, "updated_at": now, **row}
        for row in rows
    ]
    if len(values) == 1:
        statement = _one_message_statement(tuple(values[0]))
        result = connection.execute(statement, {f"m_{name}": value for name, value in values[0].items()})
    else:
        result = connection.execute(_inserted_messages(insert(ThreadMessage).values(values)))
    by_id = {row["id"]: row for row in result.mappings()}
    return [msgspec.convert(by_id[value["id"]], ThreadMessageRead, strict=False) for value in values]


def message_publication(
    *, team_id: UUID, object_type: str, object_id: UUID, message: ThreadMessageRead, action: str
) -> Publication:
    """What `publish_message` sends, for `publish_many`."""
    topic = thread_topic(team_id, object_type, object_id)
    frame = ThreadMessageFrame(topic=topic, action=action, message=message)  # pyright: ignore[reportArgumentType]
    return Publication(topic, frame, Reference(kind=MESSAGE_REFERENCE, id=message.id, action=action))
