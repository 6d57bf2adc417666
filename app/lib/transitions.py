"""Status machines: each domain declares a map of allowed moves; services check moves here."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from app.lib.errors import ConflictError, ErrorCode

StatusT = TypeVar("StatusT", bound=StrEnum)


def ensure_transition(
    transitions: Mapping[StatusT, frozenset[StatusT]], *, kind: str, current: str, requested: str
) -> None:
    """Staying put is fine; any other move not in the map is a 409 naming the allowed ones."""
    if current == requested:
        return
    allowed = sorted(str(status) for status in transitions.get(current, frozenset()))  # pyright: ignore[reportCallIssue, reportArgumentType]
    if requested in allowed:
        return
    choices = ", ".join(allowed) if allowed else "nothing (it is final)"
    raise ConflictError(
        f"A {kind} cannot move from {current} to {requested}; from {current} it may move to: {choices}.",
        code=ErrorCode.ILLEGAL_TRANSITION,
        extra={"allowed_statuses": allowed},
    )
