"""Helpers for media tests: sample files, the upload steps a frontend takes, and waiting."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from tests.conftest import ApiClient
from tests.waiting import wait_until_async

PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def png_bytes(width: int = 64, height: int = 32, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "blue").save(out, format="JPEG")
    return out.getvalue()


def local_path(url: str) -> str:
    """A local-storage URL as a path for the in-process test client (it has its own host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def create_upload(
    client: ApiClient,
    team_id: Any,
    *,
    kind: str,
    target_id: Any,
    data: bytes,
    content_type: str,
    name: str = "f",
) -> httpx.Response:
    return await client.post(
        f"/api/teams/{team_id}/media/uploads",
        json={
            "kind": kind,
            "target_id": str(target_id),
            "file_name": name,
            "content_type": content_type,
            "size": len(data),
        },
    )


async def put_bytes(raw: httpx.AsyncClient, upload: dict[str, Any], data: bytes) -> httpx.Response:
    """PUT to the upload target exactly as handed out (a local-storage URL goes to the app in-process)."""
    url = upload["url"]
    if "/api/media/objects/" in url:
        return await raw.put(local_path(url), content=data, headers=upload["headers"])
    async with httpx.AsyncClient() as outside:
        return await outside.put(url, content=data, headers=upload["headers"])


async def upload_file(
    client: ApiClient,
    team_id: Any,
    *,
    kind: str,
    target_id: Any,
    data: bytes,
    content_type: str,
    name: str = "draft.png",
    declared_type: str | None = None,
) -> dict[str, Any]:
    """Create, PUT and complete; returns the completed media (still `processing`)."""
    created = await create_upload(
        client,
        team_id,
        kind=kind,
        target_id=target_id,
        data=data,
        content_type=declared_type or content_type,
        name=name,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    put = await put_bytes(client.client, body["upload"], data)
    assert put.status_code in {200, 201}, put.text
    completed = await client.post(f"/api/teams/{team_id}/media/{body['media']['id']}/complete")
    assert completed.status_code == 202, completed.text
    assert completed.json()["status"] == "processing"
    return completed.json()


async def wait_processed(client: ApiClient, team_id: Any, media_id: str) -> dict[str, Any]:
    async def processed() -> dict[str, Any] | None:
        response = await client.get(f"/api/teams/{team_id}/media/{media_id}")
        body = response.json()
        return body if body.get("status") in {"ready", "rejected"} else None

    return await wait_until_async(processed, what=f"media {media_id} processed")
