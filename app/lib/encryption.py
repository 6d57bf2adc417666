"""Small secrets at rest (TOTP secrets): AES-256-GCM with a key id in every sealed value.

A sealed value reads `v1.<key id>.<base64url(nonce || ciphertext || tag)>`. The key id names
which configured key sealed it (`DATA_ENCRYPTION_KEYS`, newest first), so keys rotate: the
newest seals, every listed one opens, and a value sealed by an older key is re-sealed when it
is next used. The caller binds each value to where it belongs (`context`, e.g. the owning
user): GCM authenticates it, so a value copied to another row, or altered, is refused.

The AES key is HKDF-SHA256 of the configured key material with a purpose label, never the
material itself: the default material is `SECRET_KEY`, which also signs tokens.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = "v1"
PURPOSE_LABEL = b"campaign-platform/data-encryption/v1"
_NONCE_BYTES = 12


class UnreadableSecretError(Exception):
    """A sealed value is malformed, was altered, belongs elsewhere, or its key is not configured."""


def derive_key(material: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE_LABEL).derive(material.encode())


class DataCipher:
    """Seals and opens small strings with the configured key ring (the first key seals)."""

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        if not keys:
            raise ValueError("at least one data encryption key is needed")
        self.current_key_id = keys[0][0]
        self._ciphers = {key_id: AESGCM(derive_key(material)) for key_id, material in keys}

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.current_key_id].encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{FORMAT_VERSION}.{self.current_key_id}.{body}"

    def open(self, sealed: str, *, context: str) -> str:
        version, key_id, body = _parts(sealed)
        cipher = self._ciphers.get(key_id)
        if version != FORMAT_VERSION or cipher is None:
            raise UnreadableSecretError(
                f"sealed with an unknown format or key id {key_id!r} (is it still in DATA_ENCRYPTION_KEYS?)"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise UnreadableSecretError("the sealed value was altered or belongs elsewhere") from None

    def is_current(self, sealed: str) -> bool:
        """Sealed by the newest key (otherwise re-seal it when next used)."""
        return sealed.startswith(f"{FORMAT_VERSION}.{self.current_key_id}.")


def _parts(sealed: str) -> tuple[str, str, str]:
    pieces = sealed.split(".")
    if len(pieces) != 3:
        raise UnreadableSecretError("not a sealed value (expected v1.<key id>.<data>)")
    return pieces[0], pieces[1], pieces[2]


@lru_cache(maxsize=8)
def cipher_for(keys: tuple[tuple[str, str], ...]) -> DataCipher:
    """One cipher per key ring, so a request does not re-derive the keys."""
    return DataCipher(keys)
