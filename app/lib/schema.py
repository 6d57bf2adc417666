"""Base for every request and response body: msgspec Structs that reject unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


class Schema(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A body the API reads or writes. Unknown fields are an error, never silently dropped."""


Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="An email address.",
        examples=["ada@example.com"],
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=128, description="At least 10 characters.")]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
Version = Annotated[
    int,
    msgspec.Meta(ge=1, description="The version you read; a stale one is refused with 409."),
]


AwareDatetime = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="An RFC 3339 date-time with a time zone (`Z` or an offset); naive ones are refused.",
        examples=["2026-01-01T09:00:00Z"],
    ),
]
"""Every date-time a client sends: without a zone it would be read in the server's zone."""


def normalize_email(email: str) -> str:
    return email.strip().lower()
