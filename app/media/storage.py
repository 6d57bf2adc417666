"""Where the bytes live: one small interface, a local folder or an S3-compatible bucket.

Why boto3 for S3: it is the reference SDK, signs SigV4 presigned PUT/GET URLs offline, reads the
standard AWS credential variables and speaks to any S3-compatible service through
`endpoint_url`. (advanced-alchemy's file object types would need obstore or fsspec, neither of
which is installed, and they model a file as a column value rather than an upload target.)
Its calls block, so they run in a thread.

Local storage imitates the same flow with our own HMAC signer (`UrlSigner`): the API itself
answers the signed upload PUT and the signed download GET, so a frontend does not care which
backend is configured.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from app.config import MediaSettings

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,299}$")
CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadTarget:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class StoredObjectMissingError(Exception):
    """No object under the key (never uploaded, or already deleted)."""


class Storage(Protocol):
    def upload_target(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTarget:
        """Where the client PUTs the bytes of `key`, for `expires_in` seconds."""
        ...

    def download_url(self, key: str, *, file_name: str, expires_in: int) -> str:
        """A short-lived URL that reads `key` (served as an attachment named `file_name`)."""
        ...

    async def size_of(self, key: str) -> int | None:
        """The stored object's size, or None when there is none."""
        ...

    def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in pieces; raises StoredObjectMissingError."""
        ...

    async def write(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def delete(self, keys: list[str]) -> None:
        """Delete the objects; keys with no object are ignored (deleting twice is fine)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix` (a folder, ending in `/`); returns
        how many objects there were. Used when a team is deleted and its rows are already gone."""
        ...


def checked_prefix(prefix: str) -> str:
    """A folder of keys: never the whole store (a prefix must name a folder below the root)."""
    if not prefix.endswith("/") or prefix.count("/") < 2:
        raise ValueError(f"not a storage folder: {prefix!r}")
    checked_key(prefix.rstrip("/"))
    return prefix


def checked_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key) or ".." in key or "//" in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


# --- our own signer, for local storage ------------------------------------------------------


class SignatureRefusedError(Exception):
    """A signed local-storage URL that is tampered with, expired or made for another object."""


class UrlSigner:
    """HMAC-SHA256 over method, key, expiry and the signed extras (type, size cap, file name)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"campaign-platform media urls v1", hashlib.sha256).digest()

    def sign(self, method: str, key: str, expires: int, extras: Mapping[str, str]) -> str:
        message = "\n".join(
            [method.upper(), key, str(expires), *(f"{k}={extras[k]}" for k in sorted(extras))]
        )
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(
        self, method: str, key: str, expires: str, signature: str, extras: Mapping[str, str], *, now: float
    ) -> None:
        try:
            expiry = int(expires)
        except ValueError:
            raise SignatureRefusedError("The link is malformed: its expiry is not a number.") from None
        expected = self.sign(method, key, expiry, extras)
        # Bytes: `compare_digest` refuses str with non-ASCII characters (a TypeError, not a mismatch).
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise SignatureRefusedError(
                "The link's signature does not match: it was altered or made for another file."
            )
        if now > expiry:
            raise SignatureRefusedError("The link has expired; ask the API for a new one.")


LOCAL_OBJECT_PATH = "/api/media/objects"


class LocalStorage:
    """Files under `root`; uploads and downloads through the API's signed `/api/media/objects/...`."""

    def __init__(self, root: Path, *, base_url: str, signer: UrlSigner) -> None:
        self.root = root
        self.base_url = base_url
        self.signer = signer

    def path_of(self, key: str) -> Path:
        return self.root / checked_key(key)

    def _url(self, method: str, key: str, expires_in: int, extras: dict[str, str]) -> str:
        expires = int(time.time()) + expires_in
        signature = self.signer.sign(method, key, expires, extras)
        query = urlencode({**extras, "expires": expires, "signature": signature})
        return f"{self.base_url}{LOCAL_OBJECT_PATH}/{quote(key)}?{query}"

    def upload_target(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTarget:
        url = self._url("PUT", checked_key(key), expires_in, {"type": content_type, "max": str(max_bytes)})
        return UploadTarget(method="PUT", url=url, headers={"Content-Type": content_type})

    def download_url(self, key: str, *, file_name: str, expires_in: int) -> str:
        return self._url("GET", checked_key(key), expires_in, {"name": file_name})

    async def size_of(self, key: str) -> int | None:
        path = self.path_of(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise StoredObjectMissingError(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def write(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write_atomically, self.path_of(key), data)

    async def write_stream(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Store what the client sends; more than `max_bytes` aborts (ObjectTooLargeError), keeping nothing."""
        path = self.path_of(key)
        partial = path.with_name(path.name + ".partial")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(partial.open, "wb")
        written = 0
        try:
            async for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    raise ObjectTooLargeError(max_bytes)
                await asyncio.to_thread(handle.write, chunk)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        handle.close()
        await asyncio.to_thread(partial.replace, path)
        return written

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.root / checked_prefix(prefix)
        return await asyncio.to_thread(_remove_tree, folder)

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)


def _remove_tree(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    count = sum(1 for path in folder.rglob("*") if path.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return count


class ObjectTooLargeError(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


# --- S3-compatible ----------------------------------------------------------------------------


class S3Storage:
    """A bucket on S3 or any S3-compatible service; clients PUT and GET through presigned URLs."""

    def __init__(self, *, bucket: str, endpoint_url: str | None, region: str | None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def upload_target(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTarget:
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": checked_key(key), "ContentType": content_type},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return UploadTarget(method="PUT", url=url, headers={"Content-Type": content_type})

    def download_url(self, key: str, *, file_name: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": checked_key(key),
                "ResponseContentDisposition": content_disposition(file_name),
            },
            ExpiresIn=expires_in,
            HttpMethod="GET",
        )

    async def size_of(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return int(head["ContentLength"])

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=checked_key(key)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise StoredObjectMissingError(key) from None
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def write(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=checked_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": checked_key(key)} for key in keys[start : start + 1000]]
            await asyncio.to_thread(
                self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )

    async def delete_prefix(self, prefix: str) -> int:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=checked_prefix(prefix))
        keys = [
            item["Key"] for page in await asyncio.to_thread(list, pages) for item in page.get("Contents", [])
        ]
        await self.delete(keys)
        return len(keys)


def content_disposition(file_name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", file_name) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"


def build_storage(settings: MediaSettings, *, secret_key: str) -> Storage:
    if settings.backend == "s3":
        assert settings.s3_bucket is not None
        return S3Storage(
            bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        )
    return LocalStorage(settings.local_root, base_url=settings.public_base_url, signer=UrlSigner(secret_key))
