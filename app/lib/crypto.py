"""Password hashing (argon2id) and opaque random tokens stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache(maxsize=4)
def password_hasher(time_cost: int, memory_cost_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)


class Passwords:
    """Hashes and verifies passwords with the configured argon2id cost."""

    def __init__(self, *, time_cost: int, memory_cost_kib: int) -> None:
        self._hasher = password_hasher(time_cost, memory_cost_kib)
        # Verified against when an account does not exist, so both paths cost the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token for refresh tokens and links in emails."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Tokens are high-entropy, so a fast digest is enough; only the digest is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
