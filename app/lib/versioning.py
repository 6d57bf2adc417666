"""Optimistic concurrency: the version a client read must still be current when it writes."""

from __future__ import annotations

from app.lib.errors import ConflictError, ErrorCode


def ensure_current_version(*, kind: str, current: int, sent: int) -> None:
    if current != sent:
        raise ConflictError(
            f"This {kind} was changed since you read it (you sent version {sent}, it is now {current}); "
            "reload it and apply your change again.",
            code=ErrorCode.STALE_VERSION,
            extra={"current_version": current},
        )
