"""The same media flow against a real S3-protocol server on the loopback (moto's server).

moto does not check signatures (see DESIGN's field notes), so this proves the flow — presign,
PUT, process in a real worker, presigned GET, delete — and "signed only" is proven on the
local-storage path (test_media.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import httpx
import pytest

from app.main import create_app
from tests.background import ROOT, WorkerProcess, free_port
from tests.conftest import ApiClient, make_settings
from tests.database import TestDatabase
from tests.factories import CampaignCreatorFactory, CampaignFactory, PostFactory, TeamFactory, UserFactory
from tests.media_helpers import png_bytes, wait_processed
from tests.waiting import wait_until

BUCKET = "campaign-media-test"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """`moto_server` as its own process on a free loopback port, with an empty bucket."""
    port = free_port()
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cp-moto-{os.getpid()}.log"), "w")  # noqa: SIM115
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError("moto_server exited early")
        try:
            return httpx.get(endpoint, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    try:
        wait_until(answering, what="moto_server answering")
        client = _bucket_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _bucket_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _s3_env(endpoint: str) -> dict[str, str]:
    return {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        **CREDENTIALS,
    }


@pytest.fixture
async def s3_client(
    database: TestDatabase, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, app: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An app configured for S3, started on the test's loop (boto3 reads the AWS variables)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    application = create_app(make_settings(database, **_s3_env(s3_endpoint)))
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:  # in one task, as anyio requires (see conftest's `app`)
        async with application.lifespan():
            started.set()
            await stop.wait()

    lifespan_task = asyncio.create_task(run_lifespan())
    await started.wait()
    try:
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = application  # pyright: ignore[reportAttributeAccessIssue]
            yield client
    finally:
        stop.set()
        await lifespan_task


async def test_post_media_flow_against_an_s3_server(
    database: TestDatabase, s3_endpoint: str, s3_client: httpx.AsyncClient
) -> None:
    owner = await UserFactory.create_async()
    team = await TeamFactory.create_with_owner(owner)
    campaign = await CampaignFactory.create_async(team_id=team.id, status="active")
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    token = s3_client.app.state.access_tokens.issue(owner.id, is_platform_admin=False)  # pyright: ignore[reportAttributeAccessIssue]
    client = ApiClient(s3_client, token=token, user=owner)
    worker = WorkerProcess(database, env=_s3_env(s3_endpoint)).start()
    try:
        image = png_bytes(80, 40)
        created = await client.post(
            f"/api/teams/{team.id}/media/uploads",
            json={
                "kind": "post_media",
                "target_id": str(post.id),
                "file_name": "s3.png",
                "content_type": "image/png",
                "size": len(image),
            },
        )
        assert created.status_code == 201, created.text
        upload = created.json()["upload"]
        assert upload["url"].startswith(f"{s3_endpoint}/{BUCKET}/teams/{team.id}/media/")
        assert "X-Amz-Signature=" in upload["url"]
        assert "X-Amz-Expires=900" in upload["url"]
        async with httpx.AsyncClient() as outside:
            put = await outside.put(upload["url"], content=image, headers=upload["headers"])
        assert put.status_code == 200, put.text
        media_id = created.json()["media"]["id"]
        completed = await client.post(f"/api/teams/{team.id}/media/{media_id}/complete")
        assert completed.status_code == 202, completed.text

        ready = await wait_processed(client, team.id, media_id)
        assert ready["status"] == "ready", ready
        assert (ready["width"], ready["height"]) == (80, 40)
        assert ready["download_url"].startswith(f"{s3_endpoint}/{BUCKET}/")
        async with httpx.AsyncClient() as outside:
            download = await outside.get(ready["download_url"])
            thumbnail = await outside.get(ready["thumbnail_url"])
        assert download.content == image
        assert "attachment" in download.headers["content-disposition"]
        assert thumbnail.status_code == 200

        deleted = await client.delete(f"/api/teams/{team.id}/media/{media_id}")
        assert deleted.status_code == 204
        bucket = _bucket_client(s3_endpoint)

        def bucket_empty() -> bool:
            return bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0

        await asyncio.to_thread(
            wait_until, bucket_empty, what="the detached file's objects deleted from the bucket"
        )
    finally:
        worker.stop()
