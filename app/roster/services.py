"""Creators: CRUD, archiving, and the rule that a creator on a campaign is archived, not deleted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, Select, Text, bindparam, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from app.db.paging import PreparedGet, PreparedPage, set_filters
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError
from app.lib.pagination import Page, SortOrder
from app.lib.schema import normalize_email
from app.lib.search import contains_ignoring_case, ordered, search_pattern
from app.lib.versioning import ensure_current_version
from app.media.hooks import detach_media_of
from app.roster.models import Creator
from app.roster.schemas import CreatorCreate, CreatorList, CreatorRead, CreatorSort, CreatorUpdate, Platform

OBJECT_TYPE = "creator"
TRACKED_FIELDS = ("name", "handles", "follower_counts", "contact_email", "tags", "archived_at")
"""`notes` changes are applied but not copied into the trail (free text, possibly private)."""

_READ_COLUMNS = (
    Creator.id,
    Creator.team_id,
    Creator.name,
    Creator.handles,
    Creator.follower_counts,
    Creator.contact_email,
    Creator.tags,
    Creator.notes,
    Creator.archived_at,
    Creator.version,
    Creator.created_at,
    Creator.updated_at,
)


class CreatorFilters(msgspec.Struct, frozen=True, kw_only=True):
    search: str | None = None
    tag: str | None = None
    platform: Platform | None = None
    include_archived: bool = False


def _sort_column(sort: CreatorSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case CreatorSort.NAME:
            return func.lower(Creator.name)
        case CreatorSort.CREATED_AT:
            return Creator.created_at
        case CreatorSort.UPDATED_AT:
            return Creator.updated_at


_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "search": lambda: contains_ignoring_case(Creator.name, bindparam("search")),
    "tag": lambda: Creator.tags.contains(bindparam("tag")),
    "platform": lambda: Creator.handles.has_key(bindparam("platform", type_=Text)),
    "include_archived": lambda: true(),
}
"""Each filter's condition, its value bound by the filter's name (`tag`'s is a one-tag list).
`include_archived` lifts the condition that hides archived creators."""


def _page_statement(sort: CreatorSort, order: SortOrder, filters: tuple[str, ...]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    conditions = [Creator.team_id == bindparam("team_id"), *(_FILTERS[name]() for name in filters)]
    if "include_archived" not in filters:
        conditions.append(Creator.archived_at.is_(None))
    return (
        CreatorService.Repo.readable()
        .where(*conditions)
        .order_by(ordered(_sort_column(sort), order), Creator.id)
    )


def _clean_tags(tags: list[str]) -> list[str]:
    """Trimmed, without duplicates, in the order given."""
    return list(dict.fromkeys(tag.strip() for tag in tags))


class CreatorService(SQLAlchemyAsyncRepositoryService[Creator]):
    class Repo(SQLAlchemyAsyncRepository[Creator]):
        model_type = Creator

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every creator read starts from; RLS limits it to the current team."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        pages = PreparedPage(_page_statement, schema=CreatorRead)

        async def list_page(
            self, *, team_id: UUID, page: Page, sort: CreatorSort, order: SortOrder, filters: CreatorFilters
        ) -> tuple[list[CreatorRead], int]:
            values = set_filters(filters, search=search_pattern, tag=lambda tag: [tag] if tag else None)
            return await self.pages.fetch(
                self.session, (sort, order, tuple(values)), page=page, team_id=team_id, **values
            )

        by_id = PreparedGet(
            lambda: CreatorService.Repo.readable().where(Creator.id == bindparam("creator_id")),
            schema=CreatorRead,
            missing="Creator not found.",
        )

        async def read_one(self, creator_id: UUID) -> CreatorRead:
            return await self.by_id.fetch(self.session, creator_id=creator_id)

    repository_type = Repo

    async def list_creators(
        self, *, team_id: UUID, page: Page, sort: CreatorSort, order: SortOrder, filters: CreatorFilters
    ) -> CreatorList:
        items, total = await self.repository.list_page(
            team_id=team_id, page=page, sort=sort, order=order, filters=filters
        )
        return CreatorList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, creator_id: UUID) -> CreatorRead:
        return await self.repository.read_one(creator_id)

    async def create_creator(self, *, team_id: UUID, actor_id: UUID, data: CreatorCreate) -> CreatorRead:
        creator = await self.repository.add(
            Creator(
                team_id=team_id,
                name=data.name.strip(),
                handles={str(k): v for k, v in data.handles.items()},
                follower_counts={str(k): v for k, v in data.follower_counts.items()},
                contact_email=normalize_email(data.contact_email) if data.contact_email else None,
                tags=_clean_tags(data.tags),
                notes=data.notes,
            )
        )
        self._record(creator, actor_id, EventType.CREATED)
        return _creator_read(creator)

    async def update_creator(self, creator_id: UUID, *, actor_id: UUID, data: CreatorUpdate) -> CreatorRead:
        creator = await self._get(creator_id)
        ensure_current_version(kind="creator", current=creator.version, sent=data.version)
        archived_at = creator.archived_at
        if data.archived and archived_at is None:
            archived_at = datetime.now(tz=UTC)
        elif not data.archived:
            archived_at = None
        update_model_with_event(
            self.repository.session,
            creator,
            {
                "name": data.name.strip(),
                "handles": {str(k): v for k, v in data.handles.items()},
                "follower_counts": {str(k): v for k, v in data.follower_counts.items()},
                "contact_email": normalize_email(data.contact_email) if data.contact_email else None,
                "tags": _clean_tags(data.tags),
                "notes": data.notes,
                "archived_at": archived_at,
            },
            actor_id=actor_id,
            track_fields=TRACKED_FIELDS,
            object_type=OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return _creator_read(creator)

    async def delete_creator(
        self, creator_id: UUID, *, actor_id: UUID, job_queue: Queue | None = None
    ) -> None:
        """Refused while any campaign or post refers to the creator (the foreign keys restrict).
        Their avatar and media kit are detached and their bytes deleted by a task after commit."""
        creator = await self._get(creator_id)
        name = creator.name
        self._record(creator, actor_id, EventType.DELETED)
        await self.repository.session.delete(creator)
        try:
            await self.repository.session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"{name} is on a campaign (booked as a campaign creator or the creator of a post), "
                "so deleting would break its history; archive the creator instead.",
                code=ErrorCode.IN_USE,
            ) from exc
        await detach_media_of(
            self.repository.session,
            job_queue,
            team_id=creator.team_id,
            target_type=OBJECT_TYPE,
            target_id=creator_id,
        )

    async def creators(self, creator_ids: Sequence[UUID], *, for_change: bool) -> dict[UUID, Creator]:
        """The visible creators among `creator_ids`, in one query (`for_change`: locked until commit)."""
        statement = select(Creator).where(Creator.id.in_(creator_ids))
        if for_change:
            statement = statement.with_for_update()
        return {
            creator.id: creator for creator in (await self.repository.session.execute(statement)).scalars()
        }

    async def read_many(self, creator_ids: Sequence[UUID]) -> dict[UUID, CreatorRead]:
        """The visible creators among `creator_ids` as `GetCreator` returns them, in one query."""
        statement = self.repository.readable().where(Creator.id.in_(creator_ids))
        rows = (await self.repository.session.execute(statement)).mappings().all()
        return {row["id"]: msgspec.convert(row, CreatorRead, strict=False) for row in rows}

    async def _get(self, creator_id: UUID) -> Creator:
        creator = await self.repository.get_one_or_none(id=creator_id)
        if creator is None:
            raise ResourceNotFoundError("Creator not found.")
        return creator

    def _record(self, creator: Creator, actor_id: UUID, event_type: EventType) -> None:
        emit_event(
            self.repository.session,
            team_id=creator.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=creator.id,
            event_type=event_type,
            changes=snapshot(creator, ("name",)) if event_type is EventType.CREATED else None,
        )


def _creator_read(creator: Creator) -> CreatorRead:
    return msgspec.convert(
        {column.key: getattr(creator, column.key) for column in _READ_COLUMNS}, CreatorRead, strict=False
    )
