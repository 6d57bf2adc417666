"""Brands: CRUD with case-insensitive unique names per team and optimistic versioning."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from app.brands.models import Brand
from app.brands.schemas import BrandList, BrandRead, BrandSort
from app.db.paging import PreparedGet, PreparedPage
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import ConflictError, ErrorCode, ResourceNotFoundError
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, search_pattern
from app.lib.versioning import ensure_current_version
from app.media.hooks import detach_media_of

OBJECT_TYPE = "brand"
TRACKED_FIELDS = ("name", "website", "description")

_READ_COLUMNS = (
    Brand.id,
    Brand.team_id,
    Brand.name,
    Brand.website,
    Brand.description,
    Brand.version,
    Brand.created_at,
    Brand.updated_at,
)


def _sort_column(sort: BrandSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case BrandSort.NAME:
            return func.lower(Brand.name)
        case BrandSort.CREATED_AT:
            return Brand.created_at
        case BrandSort.UPDATED_AT:
            return Brand.updated_at


def _page_statement(sort: BrandSort, order: SortOrder, searching: bool) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    conditions: list[ColumnElement[bool]] = [Brand.team_id == bindparam("team_id")]
    if searching:
        conditions.append(contains_ignoring_case(Brand.name, bindparam("search")))
    column = _sort_column(sort)
    return (
        BrandService.Repo.readable()
        .where(*conditions)
        .order_by(column.desc() if order is SortOrder.DESC else column.asc(), Brand.id)
    )


class BrandService(SQLAlchemyAsyncRepositoryService[Brand]):
    class Repo(SQLAlchemyAsyncRepository[Brand]):
        model_type = Brand

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every brand read starts from; RLS limits it to the current team."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        async def name_taken(self, team_id: UUID, name: str, *, except_id: UUID | None = None) -> bool:
            statement = select(Brand.id).where(
                Brand.team_id == team_id, func.lower(Brand.name) == name.lower()
            )
            if except_id is not None:
                statement = statement.where(Brand.id != except_id)
            return (await self.session.execute(statement.limit(1))).first() is not None

        pages = PreparedPage(_page_statement, schema=BrandRead)

        async def list_page(
            self, *, team_id: UUID, page: Page, sort: BrandSort, order: SortOrder, search: str | None
        ) -> tuple[list[BrandRead], int]:
            pattern = search_pattern(search)
            values = {} if pattern is None else {"search": pattern}
            return await self.pages.fetch(
                self.session, (sort, order, pattern is not None), page=page, team_id=team_id, **values
            )

        by_id = PreparedGet(
            lambda: BrandService.Repo.readable().where(Brand.id == bindparam("brand_id")),
            schema=BrandRead,
            missing="Brand not found.",
        )

        async def read_one(self, brand_id: UUID) -> BrandRead:
            return await self.by_id.fetch(self.session, brand_id=brand_id)

    repository_type = Repo

    async def list_brands(
        self, *, team_id: UUID, page: Page, sort: BrandSort, order: SortOrder, search: str | None
    ) -> BrandList:
        items, total = await self.repository.list_page(
            team_id=team_id, page=page, sort=sort, order=order, search=search
        )
        return BrandList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, brand_id: UUID) -> BrandRead:
        return await self.repository.read_one(brand_id)

    async def create_brand(
        self, *, team_id: UUID, actor_id: UUID, name: str, website: str | None, description: str | None
    ) -> BrandRead:
        name = name.strip()
        await self._ensure_name_free(team_id, name)
        # Every column has a value before the INSERT (ids, timestamps, version are set in Python),
        # so nothing is read back: no refresh SELECT after the insert.
        brand = await self.repository.add(
            Brand(team_id=team_id, name=name, website=website, description=description), auto_refresh=False
        )
        self._record(brand, actor_id, EventType.CREATED)
        return _brand_read(brand)

    async def update_brand(
        self,
        brand_id: UUID,
        *,
        team_id: UUID,
        actor_id: UUID,
        name: str,
        website: str | None,
        description: str | None,
        version: int,
    ) -> BrandRead:
        brand = await self._get(brand_id)
        ensure_current_version(kind="brand", current=brand.version, sent=version)
        name = name.strip()
        await self._ensure_name_free(team_id, name, except_id=brand_id)
        update_model_with_event(
            self.repository.session,
            brand,
            {"name": name, "website": website, "description": description},
            actor_id=actor_id,
            track_fields=TRACKED_FIELDS,
            object_type=OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return _brand_read(brand)

    async def delete_brand(self, brand_id: UUID, *, actor_id: UUID, job_queue: Queue | None = None) -> None:
        """Its logo is detached and its bytes deleted by a task after commit."""
        brand = await self._get(brand_id)
        self._record(brand, actor_id, EventType.DELETED)
        await self.repository.session.delete(brand)
        try:
            await self.repository.session.flush()
        except IntegrityError as exc:  # campaigns.brand_id restricts
            raise ConflictError(
                "This brand has campaigns; delete or move them to another brand first.",
                code=ErrorCode.IN_USE,
            ) from exc
        await detach_media_of(
            self.repository.session,
            job_queue,
            team_id=brand.team_id,
            target_type=OBJECT_TYPE,
            target_id=brand_id,
        )

    def _record(self, brand: Brand, actor_id: UUID, event_type: EventType) -> None:
        emit_event(
            self.repository.session,
            team_id=brand.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=brand.id,
            event_type=event_type,
            changes=snapshot(brand, TRACKED_FIELDS) if event_type is EventType.CREATED else None,
        )

    async def _get(self, brand_id: UUID) -> Brand:
        brand = await self.repository.get_one_or_none(id=brand_id)
        if brand is None:
            raise ResourceNotFoundError("Brand not found.")
        return brand

    async def _ensure_name_free(self, team_id: UUID, name: str, *, except_id: UUID | None = None) -> None:
        # A clear message for the common case; the unique index still catches a concurrent insert (409).
        if await self.repository.name_taken(team_id, name, except_id=except_id):
            raise ConflictError(
                f"A brand named {name!r} already exists in this team.", code=ErrorCode.DUPLICATE
            )


def _brand_read(brand: Brand) -> BrandRead:
    return BrandRead(
        id=brand.id,
        team_id=brand.team_id,
        name=brand.name,
        website=brand.website,
        description=brand.description,
        version=brand.version,
        created_at=brand.created_at,
        updated_at=brand.updated_at,
    )
