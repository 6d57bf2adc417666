"""Brand routes under `/api/teams/{team_id}/brands`: the template for every team-scoped domain."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.brands.schemas import BrandCreate, BrandList, BrandRead, BrandSort, BrandUpdate
from app.brands.services import BrandService
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import Page, SortOrder, page_dependencies
from app.lib.roles import TeamRole, requires_role
from app.queue.deps import queue_dependencies


def provide_brands(db_session: NamedDependency[AsyncSession]) -> BrandService:
    return BrandService(session=db_session)


class BrandController(Controller):
    path = "/api/teams/{team_id:uuid}/brands"
    tags = ["Brands"]
    dependencies = {
        "brands": Provide(provide_brands, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @get("", operation_id="ListBrands", responses=TEAM_ROUTE_ERRORS)
    async def list_brands(
        self,
        team_access: NamedDependency[TeamAccess],
        brands: NamedDependency[BrandService],
        page: NamedDependency[Page],
        sort: Annotated[BrandSort, Parameter(description="Sort key.")] = BrandSort.NAME,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Case-insensitive search in the name.")
        ] = None,
    ) -> BrandList:
        """The team's brands, paginated, sortable and searchable by name."""
        return await brands.list_brands(
            team_id=team_access.team_id, page=page, sort=sort, order=order, search=q
        )

    @post("", operation_id="CreateBrand", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_brand(
        self,
        data: JSONBody[BrandCreate],
        team_access: NamedDependency[TeamAccess],
        brands: NamedDependency[BrandService],
    ) -> BrandRead:
        """Add a brand. Names are unique within the team, ignoring case (409 on a clash)."""
        return await brands.create_brand(
            team_id=team_access.team_id,
            actor_id=team_access.user_id,
            name=data.name,
            website=data.website,
            description=data.description,
        )

    @get("/{brand_id:uuid}", operation_id="GetBrand", responses=TEAM_ROUTE_ERRORS)
    async def get_brand(
        self,
        brand_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        brands: NamedDependency[BrandService],
    ) -> BrandRead:
        """One brand of the team."""
        return await brands.read(brand_id)

    @put("/{brand_id:uuid}", operation_id="UpdateBrand", responses=TEAM_ROUTE_ERRORS)
    async def update_brand(
        self,
        brand_id: FromPath[UUID],
        data: JSONBody[BrandUpdate],
        team_access: NamedDependency[TeamAccess],
        brands: NamedDependency[BrandService],
    ) -> BrandRead:
        """Replace every field of a brand; send the `version` you read (409 when it is stale)."""
        return await brands.update_brand(
            brand_id,
            team_id=team_access.team_id,
            actor_id=team_access.user_id,
            name=data.name,
            website=data.website,
            description=data.description,
            version=data.version,
        )

    @delete(
        "/{brand_id:uuid}",
        operation_id="DeleteBrand",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def delete_brand(
        self,
        brand_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        brands: NamedDependency[BrandService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Delete a brand (admins and owners); its logo goes too."""
        await brands.delete_brand(brand_id, actor_id=team_access.user_id, job_queue=job_queue)
