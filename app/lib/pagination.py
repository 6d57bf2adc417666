"""Limit/offset list parameters shared by every list endpoint."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from litestar.di import Provide
from litestar.params import Parameter

MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000
"""Deeper than this, use a cursor (the feeds' `after`): an offset reads every row it skips."""


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class Page(msgspec.Struct, frozen=True):
    limit: int
    offset: int


def provide_page(
    limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Rows per page (1-100).")] = 20,
    offset: Annotated[
        int, Parameter(ge=0, le=MAX_OFFSET, description=f"Rows to skip (0-{MAX_OFFSET:,}).")
    ] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


page_dependencies: dict[str, Provide] = {"page": Provide(provide_page, sync_to_thread=False)}
