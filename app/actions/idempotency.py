"""`Idempotency-Key`: a retried request returns the first response instead of doing the work twice.

`claim` runs first in the request's transaction. It inserts the key, or finds the key's
committed response. A concurrent retry's insert waits on the unique index until the first
request's transaction ends: on commit it finds the stored response, on rollback it claims the
key and does the work itself. So at most one of them has an effect, and both answer the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.models import IdempotencyKey
from app.lib.errors import ConflictError, UnprocessableError, invalid_field

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes


def request_hash(method: str, path: str, body: Any) -> str:
    """Over the decoded body with sorted keys, so whitespace or key order do not matter."""
    canonical = msgspec.json.encode(body, order="sorted")
    return hashlib.sha256(f"{method.upper()} {path}\n".encode() + canonical).hexdigest()


def checked_key(value: str) -> str:
    key = value.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid_field(HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable characters (a UUID is ideal)")
    return key


async def claim(
    session: AsyncSession, *, team_id: UUID, user_id: UUID, key: str, fingerprint: str
) -> StoredResponse | None:
    """`None` when this request owns the key now (do the work, then `store`), else the stored response.

    A key past its 24 hours that the purge has not removed yet counts as unused.
    """
    now = datetime.now(tz=UTC)
    statement = (
        insert(IdempotencyKey)
        .values(
            team_id=team_id,
            user_id=user_id,
            key=key,
            request_hash=fingerprint,
            expires_at=now + KEPT_FOR,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["team_id", "user_id", "key"],
            set_={
                "request_hash": fingerprint,
                "status_code": None,
                "response": None,
                "expires_at": now + KEPT_FOR,
                "created_at": now,
                "updated_at": now,
            },
            where=IdempotencyKey.expires_at <= now,
        )
        .returning(IdempotencyKey.id)
    )
    if (await session.execute(statement)).first() is not None:
        return None
    existing = (
        await session.execute(
            select(IdempotencyKey.request_hash, IdempotencyKey.status_code, IdempotencyKey.response).where(
                IdempotencyKey.team_id == team_id,
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.key == key,
            )
        )
    ).first()
    if existing is None:  # pragma: no cover - the conflicting row is ours and committed
        raise ConflictError("This Idempotency-Key is in use by a request that has not finished; retry.")
    if existing.request_hash != fingerprint:
        raise UnprocessableError(
            f"This {HEADER} was already used for a different request (another path or body); "
            "send a new key for a new request.",
            extra={
                "errors": [
                    {"key": HEADER, "message": "already used for a different request", "source": "header"}
                ]
            },
        )
    if existing.status_code is None or existing.response is None:  # pragma: no cover
        raise ConflictError("This Idempotency-Key is in use by a request that has not finished; retry.")
    return StoredResponse(status_code=existing.status_code, body=existing.response.encode())


async def store(
    session: AsyncSession, *, team_id: UUID, user_id: UUID, key: str, status_code: int, body: bytes
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.team_id == team_id, IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
        )
        .values(status_code=status_code, response=body.decode())
        .execution_options(synchronize_session=False)
    )
