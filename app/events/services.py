"""Recording events (`emit_event`, `update_model_with_event`) and reading the feed.

Services call the two helpers inside their own transaction, so an event exists exactly when
the change it describes was committed. The helpers only add rows to the session; the flush
that writes the change writes its events in the same round trips.

Listeners (`register_event_listener`) receive every event right after the flush that wrote it,
on the same connection and in the same transaction: threads write system messages, notifications
their rows, real time its `pg_notify`. They are registered at start-up by those modules, so
neither the domains nor this module import them, and a rolled-back change leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, UOWTransaction

from app.db.paging import PreparedPage, set_filters
from app.db.tenancy import TenantSession
from app.events.feed import TOTAL_CAP, FeedCursor, after_condition, capped_count, cursor_values, encode_cursor
from app.events.models import Event
from app.events.schemas import EventList, EventRead, EventSort, EventType
from app.lib.pagination import Page, SortOrder

Changes = dict[str, dict[str, Any]]


def _plain(value: Any) -> Any:
    """JSON-ready: ids, decimals, dates and enums become strings (decimals stay exact)."""
    return msgspec.to_builtins(value)


def field_change(old: Any, new: Any) -> dict[str, Any]:
    return {"old": _plain(old), "new": _plain(new)}


def snapshot(model: Any, fields: Iterable[str]) -> Changes:
    """`created`/`deleted` payloads: the tracked fields as they are (old `None` on create)."""
    return {field: field_change(None, getattr(model, field)) for field in fields}


EventListener = Callable[[Session, Sequence[Event]], None]
"""Called with the sync session (use `session.connection()` for SQL) and the events just flushed."""

DispatchScope = Callable[[Session], AbstractContextManager[object]]
"""Entered around one flush's listeners, e.g. to send what they all publish in one statement."""

_listeners: dict[str, EventListener] = {}
_scopes: dict[str, DispatchScope] = {}


def register_event_listener(name: str, listener: EventListener) -> None:
    """Add (or replace, by `name`) a listener; registration is idempotent for app factories."""
    _listeners[name] = listener


def register_dispatch_scope(name: str, scope: DispatchScope) -> None:
    """Add (or replace, by `name`) a scope entered around each flush's listeners."""
    _scopes[name] = scope


def event_listeners() -> dict[str, EventListener]:
    return dict(_listeners)


@sqlalchemy_event.listens_for(TenantSession, "after_flush")
def _dispatch_flushed_events(session: Session, flush_context: UOWTransaction) -> None:
    if not _listeners:
        return
    events = [item for item in session.new if isinstance(item, Event)]
    if not events:
        return
    events.sort(key=lambda item: item.id)
    with ExitStack() as stack:
        for scope in list(_scopes.values()):
            stack.enter_context(scope(session))
        for listener in list(_listeners.values()):
            listener(session, events)


def emit_event(
    session: AsyncSession,
    *,
    team_id: UUID,
    actor_id: UUID | None,
    object_type: str,
    object_id: UUID,
    event_type: EventType | str,
    changes: Changes | None = None,
) -> Event:
    """Record one event in the session's transaction (written with the next flush or commit)."""
    event = Event(
        team_id=team_id,
        actor_id=actor_id,
        object_type=object_type,
        object_id=object_id,
        event_type=str(event_type),
        changes=changes or None,
    )
    session.add(event)
    return event


def update_model_with_event(
    session: AsyncSession,
    model: Any,
    data: Mapping[str, Any],
    *,
    actor_id: UUID | None,
    track_fields: Iterable[str],
    object_type: str,
    team_id: UUID | None = None,
) -> Changes:
    """Apply `data` to `model` and record what changed.

    Every differing field is set; the tracked ones are recorded old -> new in one `updated`
    event, and a changed `status` also gets its own `status_changed` event (the feed's
    milestones). Nothing changed, nothing recorded. Returns the recorded changes.
    `team_id` defaults to the model's own (pass it for the `teams` row itself).
    """
    tracked = set(track_fields)
    changes: Changes = {}
    changed_any = False
    for field, new in data.items():
        old = getattr(model, field)
        if old == new:
            continue
        setattr(model, field, new)
        changed_any = True
        if field in tracked:
            changes[field] = field_change(old, new)
    if not changed_any:
        return changes
    common: dict[str, Any] = {
        "team_id": team_id or model.team_id,
        "actor_id": actor_id,
        "object_type": object_type,
        "object_id": model.id,
    }
    emit_event(session, event_type=EventType.UPDATED, changes=changes, **common)
    if "status" in changes:
        emit_event(
            session, event_type=EventType.STATUS_CHANGED, changes={"status": changes["status"]}, **common
        )
    return changes


_READ_COLUMNS = (
    Event.id,
    Event.team_id,
    Event.actor_id,
    Event.object_type,
    Event.object_id,
    Event.event_type,
    Event.changes,
    Event.created_at,
)


def _sort_column(sort: EventSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case EventSort.CREATED_AT:
            return Event.created_at


class EventFilters(msgspec.Struct, frozen=True, kw_only=True):
    event_type: EventType | None = None
    actor_id: UUID | None = None
    object_type: str | None = None
    object_id: UUID | None = None
    after: FeedCursor | None = None
    """Continue after this position (a decoded `next_cursor`)."""


_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "event_type": lambda: Event.event_type == bindparam("event_type"),
    "actor_id": lambda: Event.actor_id == bindparam("actor_id"),
    "object_type": lambda: Event.object_type == bindparam("object_type"),
    "object_id": lambda: Event.object_id == bindparam("object_id"),
}
"""Each filter's condition, its value bound by the filter's name."""


def _conditions(filters: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """What the feed and its total have in common (the total ignores the cursor)."""
    return [
        Event.team_id == bindparam("team_id"),
        *(_FILTERS[name]() for name in filters),
    ]


def _page_statement(sort: EventSort, order: SortOrder, filters: tuple[str, ...], after: bool) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    column = _sort_column(sort)
    # UUIDv7 ids grow with time: the tie-breaker keeps events of one transaction in order.
    tie = Event.id.desc() if order is SortOrder.DESC else Event.id.asc()
    statement = EventService.Repo.readable().where(*_conditions(filters))
    if after:
        statement = statement.where(after_condition(order))
    return statement.order_by(column.desc() if order is SortOrder.DESC else column.asc(), tie)


def _capped_total(sort: EventSort, order: SortOrder, filters: tuple[str, ...], after: bool) -> Select[int]:
    del sort, order, after  # the total is the whole filtered feed's, in any order, from its start
    return capped_count(_conditions(filters))


class EventService(SQLAlchemyAsyncRepositoryService[Event]):
    class Repo(SQLAlchemyAsyncRepository[Event]):
        model_type = Event

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every event read starts from; RLS limits it to the current team."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        pages = PreparedPage(_page_statement, schema=EventRead, count=_capped_total)

        async def list_page(
            self, *, team_id: UUID, page: Page, sort: EventSort, order: SortOrder, filters: EventFilters
        ) -> tuple[list[EventRead], int]:
            values = set_filters(filters)
            after = values.pop("after", None)
            shape = (sort, order, tuple(values), after is not None)
            if after is not None:
                values.update(cursor_values(after))
            return await self.pages.fetch(self.session, shape, page=page, team_id=team_id, **values)

    repository_type = Repo

    async def list_events(
        self, *, team_id: UUID, page: Page, sort: EventSort, order: SortOrder, filters: EventFilters
    ) -> EventList:
        items, total = await self.repository.list_page(
            team_id=team_id, page=page, sort=sort, order=order, filters=filters
        )
        last = items[-1] if len(items) == page.limit else None
        return EventList(
            items=items,
            total=total,
            limit=page.limit,
            offset=page.offset,
            total_exact=total <= TOTAL_CAP,
            next_cursor=encode_cursor(last.created_at, last.id) if last else None,
        )
