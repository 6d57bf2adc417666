"""Media on local storage: the two-step upload, processing in a real worker, attachments,
signed downloads, limits, bad files, isolation, crash safety and orphan sweeping."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import asyncpg
import pytest
from litestar import Litestar
from PIL import Image

from app.campaigns.models import Campaign
from app.config import ConfigError, get_config
from app.lib.roles import TeamRole
from app.media.storage import LocalStorage
from app.posts.models import Post
from app.queue.registry import task_specs
from tests.background import TEST_MEDIA_ROOT, WorkerProcess
from tests.conftest import ApiClient, MultiTeamSetup
from tests.database import TestDatabase
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamMemberFactory,
    UserFactory,
)
from tests.media_helpers import (
    PDF_BYTES,
    create_upload,
    jpeg_bytes,
    local_path,
    png_bytes,
    put_bytes,
    upload_file,
    wait_processed,
)
from tests.waiting import CEILING, wait_until_async


@pytest.fixture
def media_worker(database: TestDatabase) -> Iterator[WorkerProcess]:
    """A worker per test: a worker left running would keep its own cron schedule in the queue
    (cron jobs are keyed by task), and test_worker's every-second cron would never fire."""
    process = WorkerProcess(database).start()
    yield process
    process.stop()


@dataclass
class PostSetup:
    teams: MultiTeamSetup
    campaign: Campaign
    post: Post

    @property
    def owner(self) -> ApiClient:
        return self.teams.a.owner_client

    @property
    def team_id(self) -> Any:
        return self.teams.a.team.id

    def post_media_url(self) -> str:
        return f"/api/teams/{self.team_id}/campaigns/{self.campaign.id}/posts/{self.post.id}/media"


@pytest.fixture
async def post_setup(multi_team_setup: MultiTeamSetup) -> PostSetup:
    campaign = await CampaignFactory.create_async(team_id=multi_team_setup.a.team.id, status="active")
    booking = await CampaignCreatorFactory.book(campaign)
    post = await PostFactory.for_booking(booking)
    return PostSetup(multi_team_setup, campaign, post)


async def _count_media(owner_connection: asyncpg.Connection) -> int:
    return int(await owner_connection.fetchval("SELECT count(*) FROM media_files") or 0)


def _stored_files() -> list[str]:
    return sorted(str(p.relative_to(TEST_MEDIA_ROOT)) for p in TEST_MEDIA_ROOT.rglob("*") if p.is_file())


# --- the whole flow ------------------------------------------------------------------------


async def test_post_media_flow_on_local_storage_end_to_end(
    post_setup: PostSetup, media_worker: WorkerProcess, test_client: ApiClient
) -> None:
    image = png_bytes(64, 32)
    completed = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=image,
        content_type="image/png",
        name="draft 1.png",
    )
    ready = await wait_processed(post_setup.owner, post_setup.team_id, completed["id"])

    assert ready["status"] == "ready", ready
    assert (ready["content_type"], ready["size_bytes"], ready["width"], ready["height"]) == (
        "image/png",
        len(image),
        64,
        32,
    )
    import hashlib

    assert ready["sha256"] == hashlib.sha256(image).hexdigest()
    assert ready["campaign_id"] == str(post_setup.campaign.id)

    gallery = (await post_setup.owner.get(post_setup.post_media_url())).json()
    assert [item["id"] for item in gallery["items"]] == [completed["id"]]

    download = await test_client.get(local_path(ready["download_url"]))
    assert download.status_code == 200
    assert download.content == image
    assert "attachment" in download.headers["content-disposition"]
    thumbnail = await test_client.get(local_path(ready["thumbnail_url"]))
    assert thumbnail.status_code == 200
    assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"

    history = await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/events/post/{post_setup.post.id}")
    changes = [event["changes"] for event in history.json()["items"] if event["changes"]]
    assert any("media" in change and change["media"]["new"]["id"] == completed["id"] for change in changes)

    usage = (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/storage-usage")).json()
    assert usage["used_bytes"] == len(image)
    assert usage["files"] == 1


async def test_a_download_link_without_a_valid_signature_is_refused(
    app: Litestar, post_setup: PostSetup, media_worker: WorkerProcess, test_client: ApiClient
) -> None:
    first = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    second = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=jpeg_bytes(),
        content_type="image/jpeg",
        name="b.jpg",
    )
    url_a = (await wait_processed(post_setup.owner, post_setup.team_id, first["id"]))["download_url"]
    url_b = (await wait_processed(post_setup.owner, post_setup.team_id, second["id"]))["download_url"]
    parts_a, parts_b = urlsplit(url_a), urlsplit(url_b)
    query_a = parse_qs(parts_a.query)

    tampered = dict(query_a, signature=["A" + query_a["signature"][0][1:]])
    assert (await test_client.get(f"{parts_a.path}?{urlencode(tampered, doseq=True)}")).status_code == 403
    non_ascii = dict(
        query_a, signature=["é" + query_a["signature"][0][1:]]
    )  # found by schemathesis: was a 500
    assert (await test_client.get(f"{parts_a.path}?{urlencode(non_ascii, doseq=True)}")).status_code == 403
    longer = dict(query_a, expires=[str(int(query_a["expires"][0]) + 3600)])
    assert (await test_client.get(f"{parts_a.path}?{urlencode(longer, doseq=True)}")).status_code == 403
    other_object = await test_client.get(f"{parts_b.path}?{parts_a.query}")
    assert other_object.status_code == 403
    assert "another file" in other_object.json()["detail"]

    storage: LocalStorage = app.state.media_storage
    key = parts_a.path.removeprefix("/api/media/objects/")
    expired_at = int(time.time()) - 1
    signature = storage.signer.sign("GET", key, expired_at, {"name": query_a["name"][0]})
    expired = await test_client.get(
        f"{parts_a.path}?{urlencode({'name': query_a['name'][0], 'expires': expired_at, 'signature': signature})}"
    )
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]
    # A download signature does not allow an upload to the same object.
    overwrite = await test_client.put(
        f"{parts_a.path}?{urlencode({'type': 'image/png', 'max': '10', **{k: v[0] for k, v in query_a.items()}})}",
        content=b"x",
        headers={"Content-Type": "image/png"},
    )
    assert overwrite.status_code == 403
    assert (await test_client.get(local_path(url_a))).status_code == 200


async def test_presigned_urls_are_short_lived(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.media.storage import S3Storage

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")

    storage = S3Storage(bucket="b", endpoint_url="http://127.0.0.1:9", region="us-east-1")
    put = storage.upload_target(
        "teams/t/media/m/original", content_type="image/png", max_bytes=10, expires_in=900
    )
    query = parse_qs(urlsplit(put.url).query)
    assert put.method == "PUT"
    assert query["X-Amz-Expires"] == ["900"]
    assert "content-type" in query["X-Amz-SignedHeaders"][0]
    get = parse_qs(
        urlsplit(storage.download_url("teams/t/media/m/original", file_name="a.png", expires_in=300)).query
    )
    assert get["X-Amz-Expires"] == ["300"]


# --- limits and bad input ------------------------------------------------------------------


async def test_create_upload_refuses_too_large_wrong_type_and_bad_bodies(
    post_setup: PostSetup, owner_connection: asyncpg.Connection
) -> None:
    url = f"/api/teams/{post_setup.team_id}/media/uploads"
    base = {"kind": "brand_logo", "file_name": "logo.png", "content_type": "image/png", "size": 1000}
    brand = await BrandFactory.create_async(team_id=post_setup.team_id)

    too_large = await post_setup.owner.post(
        url, json={**base, "target_id": str(brand.id), "size": 50 * 1024 * 1024}
    )
    assert too_large.status_code == 413
    assert too_large.json()["max_bytes"] == 10 * 1024 * 1024
    wrong_type = await post_setup.owner.post(
        url, json={**base, "target_id": str(brand.id), "content_type": "video/mp4"}
    )
    assert wrong_type.status_code == 415
    assert "image/png" in wrong_type.json()["allowed_types"]
    svg = await post_setup.owner.post(
        url, json={**base, "target_id": str(brand.id), "content_type": "image/svg+xml"}
    )
    assert svg.status_code == 415
    unknown = await post_setup.owner.post(url, json={**base, "target_id": str(brand.id), "public": True})
    assert unknown.status_code == 400
    bad_kind = await post_setup.owner.post(
        url, json={**base, "target_id": str(brand.id), "kind": "wallpaper"}
    )
    assert bad_kind.status_code == 400
    zero = await post_setup.owner.post(url, json={**base, "target_id": str(brand.id), "size": 0})
    assert zero.status_code == 400
    bad_name = await post_setup.owner.post(
        url, json={**base, "target_id": str(brand.id), "file_name": "../etc/passwd"}
    )
    assert bad_name.status_code == 400
    wrong_target = await post_setup.owner.post(url, json={**base, "target_id": str(post_setup.post.id)})
    assert wrong_target.status_code == 404  # a brand_logo's target is a brand
    assert await _count_media(owner_connection) == 0


async def test_the_team_quota_counts_uploads_in_flight(post_setup: PostSetup) -> None:
    url = f"/api/teams/{post_setup.team_id}/media/uploads"
    two_gib = 2 * 1024 * 1024 * 1024
    body = {
        "kind": "post_media",
        "target_id": str(post_setup.post.id),
        "file_name": "v.mp4",
        "content_type": "video/mp4",
        "size": two_gib,
    }
    for _ in range(10):  # 10 x 2 GiB = the 20 GiB default quota
        assert (await post_setup.owner.post(url, json=body)).status_code == 201
    over = await post_setup.owner.post(url, json=body)
    assert over.status_code == 413
    assert over.json()["used_bytes"] == 10 * two_gib
    assert "quota" in over.json()["detail"]
    expected = {"used_bytes": 10 * two_gib, "files": 10, "quota_bytes": 20 * 1024 * 1024 * 1024}
    usage = (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/storage-usage")).json()
    assert {key: usage[key] for key in expected} == expected
    dashboard = (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/dashboard")).json()
    assert dashboard["storage"] == expected
    other = post_setup.teams.b
    assert (await other.owner_client.get(f"/api/teams/{other.team.id}/dashboard")).json()["storage"][
        "used_bytes"
    ] == 0


async def test_completing_an_upload_with_no_bytes_is_409_and_queues_nothing(
    post_setup: PostSetup, owner_connection: asyncpg.Connection
) -> None:
    created = await create_upload(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    media_id = created.json()["media"]["id"]
    completed = await post_setup.owner.post(f"/api/teams/{post_setup.team_id}/media/{media_id}/complete")
    assert completed.status_code == 409
    assert "PUT the bytes" in completed.json()["detail"]
    assert (
        await owner_connection.fetchval("SELECT count(*) FROM saq_jobs WHERE key LIKE 'process_upload:%'")
        == 0
    )
    assert (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/media/{media_id}")).json()[
        "status"
    ] == "pending"


async def test_an_object_the_worker_cannot_see_yet_is_retried_not_rejected(
    post_setup: PostSetup, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    """CompleteUpload saw the bytes; a worker that does not (yet) must retry, not reject (the S3
    flow's one `rejected` on CI: a leftover worker on local storage took the job)."""
    media = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    [stored] = [p for p in TEST_MEDIA_ROOT.rglob("original") if media["id"] in str(p)]
    hidden = stored.with_name("hidden-while-the-worker-looks")
    stored.rename(hidden)
    worker = WorkerProcess(database).start()
    try:

        async def first_attempt_failed() -> bool:
            attempts = await owner_connection.fetchval(
                "SELECT (convert_from(job, 'UTF8')::jsonb ->> 'attempts')::int FROM saq_jobs"
                " WHERE key = $1 AND status = 'queued'",
                f"process_upload:{media['id']}",
            )
            return bool(attempts and attempts >= 1)

        await wait_until_async(first_attempt_failed, what="process_upload failing once and queued again")
        still = (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/media/{media['id']}")).json()
        assert still["status"] == "processing", still
        hidden.rename(stored)
        processed = await wait_processed(post_setup.owner, post_setup.team_id, media["id"])
    finally:
        worker.stop()
    assert processed["status"] == "ready", processed


@pytest.mark.timeout(400)  # five attempts with backoff (up to ~60 s of delays)
async def test_an_object_that_never_shows_up_is_rejected_after_the_last_attempt(
    post_setup: PostSetup, database: TestDatabase
) -> None:
    media = await create_upload(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    body = media.json()
    assert (await put_bytes(post_setup.owner.client, body["upload"], png_bytes())).status_code == 201
    completed = await post_setup.owner.post(
        f"/api/teams/{post_setup.team_id}/media/{body['media']['id']}/complete"
    )
    assert completed.status_code == 202
    for stored in TEST_MEDIA_ROOT.rglob("original"):
        if body["media"]["id"] in str(stored):
            stored.unlink()
    worker = WorkerProcess(database).start()  # started only now: the object is gone before it looks
    try:
        processed = await wait_processed_within(post_setup, body["media"]["id"], 3 * CEILING)
    finally:
        worker.stop()

    assert processed["status"] == "rejected"
    assert "No file was found in storage" in processed["reason"]


async def test_an_upload_larger_than_declared_is_refused(
    post_setup: PostSetup, test_client: ApiClient
) -> None:
    created = await create_upload(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=b"x" * 100,
        content_type="image/png",
    )
    upload = created.json()["upload"]
    response = await put_bytes(test_client.client, upload, png_bytes())
    assert response.status_code == 413
    wrong_header = await test_client.client.put(
        local_path(upload["url"]), content=b"x", headers={"Content-Type": "image/gif"}
    )
    assert wrong_header.status_code == 415


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (PDF_BYTES, "image/png", "declared as a PNG image, but its contents are a PDF document"),
        (png_bytes(300, 300)[:200], "image/png", "truncated or damaged"),
        (
            b"just some text, not a picture",
            "image/jpeg",
            "declared as a JPEG image, but its contents are a file of unknown type",
        ),
    ],
    ids=["not-what-it-claims", "truncated-image", "unknown-bytes"],
)
async def test_a_bad_file_is_rejected_with_a_reason_and_not_attached(
    post_setup: PostSetup, media_worker: WorkerProcess, data: bytes, declared: str, reason: str
) -> None:
    completed = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=data,
        content_type=declared,
    )
    processed = await wait_processed(post_setup.owner, post_setup.team_id, completed["id"])
    assert processed["status"] == "rejected"
    assert reason in processed["reason"]
    assert processed["download_url"] is None
    assert (await post_setup.owner.get(post_setup.post_media_url())).json()["items"] == []
    assert not [f for f in _stored_files() if completed["id"] in f]


# --- ordering -----------------------------------------------------------------------------


async def test_post_media_are_reordered_by_a_versioned_put(
    post_setup: PostSetup, media_worker: WorkerProcess
) -> None:
    ids = []
    for color in ("red", "green"):
        media = await upload_file(
            post_setup.owner,
            post_setup.team_id,
            kind="post_media",
            target_id=post_setup.post.id,
            data=png_bytes(color=color),
            content_type="image/png",
        )
        await wait_processed(post_setup.owner, post_setup.team_id, media["id"])
        ids.append(media["id"])
    gallery = (await post_setup.owner.get(post_setup.post_media_url())).json()
    assert [item["id"] for item in gallery["items"]] == ids

    reordered = await post_setup.owner.put(
        post_setup.post_media_url(), json={"media_ids": ids[::-1], "version": gallery["version"]}
    )
    assert reordered.status_code == 200, reordered.text
    assert [item["id"] for item in reordered.json()["items"]] == ids[::-1]
    stale = await post_setup.owner.put(
        post_setup.post_media_url(), json={"media_ids": ids, "version": gallery["version"]}
    )
    assert stale.status_code == 409
    incomplete = await post_setup.owner.put(
        post_setup.post_media_url(), json={"media_ids": ids[:1], "version": reordered.json()["version"]}
    )
    assert incomplete.status_code == 400
    assert incomplete.json()["errors"][0]["key"] == "media_ids"


# --- isolation ------------------------------------------------------------------------------


async def test_another_team_gets_404_and_writes_nothing(
    post_setup: PostSetup, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    media = await upload_file(
        post_setup.owner,
        post_setup.team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    await wait_processed(post_setup.owner, post_setup.team_id, media["id"])
    other = post_setup.teams.b
    other_team = other.team.id
    before = await _count_media(owner_connection)

    # Through their own team: A's objects do not exist for them.
    into_a_post = await create_upload(
        other.owner_client,
        other_team,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    assert into_a_post.status_code == 404
    assert (await other.owner_client.get(f"/api/teams/{other_team}/media/{media['id']}")).status_code == 404
    assert (
        await other.owner_client.post(f"/api/teams/{other_team}/media/{media['id']}/complete")
    ).status_code == 404
    assert (
        await other.owner_client.delete(f"/api/teams/{other_team}/media/{media['id']}")
    ).status_code == 404
    assert (await other.owner_client.get(f"/api/teams/{other_team}/media")).json()["items"] == []
    # Through A's team path: they are not members.
    team_a = post_setup.team_id
    for method, url in [
        ("GET", f"/api/teams/{team_a}/media/{media['id']}"),
        ("GET", f"/api/teams/{team_a}/media"),
        ("DELETE", f"/api/teams/{team_a}/media/{media['id']}"),
        ("GET", post_setup.post_media_url()),
        ("GET", f"/api/teams/{team_a}/storage-usage"),
    ]:
        assert (await other.owner_client.request(method, url)).status_code == 404, url
    put = await other.owner_client.put(
        post_setup.post_media_url(), json={"media_ids": [media["id"]], "version": 1}
    )
    assert put.status_code == 404
    upload = await create_upload(
        other.owner_client,
        team_a,
        kind="post_media",
        target_id=post_setup.post.id,
        data=b"x",
        content_type="image/png",
    )
    assert upload.status_code == 404
    assert await _count_media(owner_connection) == before
    assert (await post_setup.owner.get(f"/api/teams/{team_a}/media/{media['id']}")).json()[
        "status"
    ] == "ready"


async def test_a_guest_sees_only_the_media_of_their_campaigns(
    post_setup: PostSetup, media_worker: WorkerProcess, client_for: Any, owner_connection: asyncpg.Connection
) -> None:
    team_id = post_setup.team_id
    media = await upload_file(
        post_setup.owner,
        team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    await wait_processed(post_setup.owner, team_id, media["id"])
    granted = await CampaignFactory.create_async(
        team_id=team_id, brand_id=post_setup.campaign.brand_id, status="active"
    )
    granted_post = await PostFactory.for_booking(await CampaignCreatorFactory.book(granted))
    granted_media = await upload_file(
        post_setup.owner,
        team_id,
        kind="post_media",
        target_id=granted_post.id,
        data=jpeg_bytes(),
        content_type="image/jpeg",
    )
    await wait_processed(post_setup.owner, team_id, granted_media["id"])
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team_id, user_id=guest.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(team_id=team_id, campaign_id=granted.id, user_id=guest.id)
    guest_client = client_for(guest)
    before = await _count_media(owner_connection)

    assert (await guest_client.get(f"/api/teams/{team_id}/media/{media['id']}")).status_code == 404
    assert (await guest_client.get(post_setup.post_media_url())).status_code == 404
    listed = (await guest_client.get(f"/api/teams/{team_id}/media")).json()["items"]
    assert [item["id"] for item in listed] == [granted_media["id"]]
    seen = await guest_client.get(f"/api/teams/{team_id}/media/{granted_media['id']}")
    assert seen.status_code == 200
    assert seen.json()["download_url"]
    assert (await guest_client.delete(f"/api/teams/{team_id}/media/{granted_media['id']}")).status_code == 403
    upload = await create_upload(
        guest_client,
        team_id,
        kind="post_media",
        target_id=granted_post.id,
        data=b"x",
        content_type="image/png",
    )
    assert upload.status_code == 403
    assert await _count_media(owner_connection) == before


# --- attachments and no orphans ------------------------------------------------------------


async def test_a_new_logo_replaces_the_old_and_deleting_the_brand_deletes_its_files(
    post_setup: PostSetup, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    team_id = post_setup.team_id
    brand = await BrandFactory.create_async(team_id=team_id)
    first = await upload_file(
        post_setup.owner,
        team_id,
        kind="brand_logo",
        target_id=brand.id,
        data=png_bytes(),
        content_type="image/png",
    )
    await wait_processed(post_setup.owner, team_id, first["id"])
    second = await upload_file(
        post_setup.owner,
        team_id,
        kind="brand_logo",
        target_id=brand.id,
        data=jpeg_bytes(),
        content_type="image/jpeg",
    )
    await wait_processed(post_setup.owner, team_id, second["id"])

    async def first_gone() -> bool:
        return not [f for f in _stored_files() if first["id"] in f]

    await wait_until_async(first_gone, what="the replaced logo's files deleted")
    logos = (
        await post_setup.owner.get(f"/api/teams/{team_id}/media", params={"target_id": str(brand.id)})
    ).json()["items"]
    assert [logo["id"] for logo in logos] == [second["id"]]

    assert (await post_setup.owner.delete(f"/api/teams/{team_id}/brands/{brand.id}")).status_code == 204

    async def all_gone() -> bool:
        rows = await owner_connection.fetchval(
            "SELECT count(*) FROM media_files WHERE target_id = $1", brand.id
        )
        return rows == 0 and not [f for f in _stored_files() if second["id"] in f]

    await wait_until_async(all_gone, what="the deleted brand's logo rows and files removed")


async def test_detaching_a_file_and_deleting_a_post_delete_their_files(
    post_setup: PostSetup, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    team_id = post_setup.team_id
    kept = await upload_file(
        post_setup.owner,
        team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    dropped = await upload_file(
        post_setup.owner,
        team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=jpeg_bytes(),
        content_type="image/jpeg",
    )
    for media in (kept, dropped):
        await wait_processed(post_setup.owner, team_id, media["id"])

    assert (await post_setup.owner.delete(f"/api/teams/{team_id}/media/{dropped['id']}")).status_code == 204
    assert (await post_setup.owner.get(f"/api/teams/{team_id}/media/{dropped['id']}")).status_code == 404
    assert [i["id"] for i in (await post_setup.owner.get(post_setup.post_media_url())).json()["items"]] == [
        kept["id"]
    ]

    async def dropped_gone() -> bool:
        return not [f for f in _stored_files() if dropped["id"] in f]

    await wait_until_async(dropped_gone, what="the detached file's bytes deleted")

    delete = await post_setup.owner.delete(
        f"/api/teams/{team_id}/campaigns/{post_setup.campaign.id}/posts/{post_setup.post.id}"
    )
    assert delete.status_code == 204

    async def post_media_gone() -> bool:
        rows = await owner_connection.fetchval("SELECT count(*) FROM media_files")
        return rows == 0 and not [f for f in _stored_files() if kept["id"] in f]

    await wait_until_async(post_media_gone, what="the deleted post's media removed")


async def test_the_sweep_removes_abandoned_uploads_and_files_of_deleted_campaigns(
    post_setup: PostSetup,
    database: TestDatabase,
    owner_connection: asyncpg.Connection,
    test_client: ApiClient,
) -> None:
    team_id = post_setup.team_id
    created = await create_upload(
        post_setup.owner,
        team_id,
        kind="post_media",
        target_id=post_setup.post.id,
        data=png_bytes(),
        content_type="image/png",
    )
    abandoned = created.json()
    assert (await put_bytes(test_client.client, abandoned["upload"], png_bytes())).status_code == 201
    await owner_connection.execute(
        "UPDATE media_files SET expires_at = now() - interval '1 hour' WHERE id = $1",
        abandoned["media"]["id"],
    )
    other_campaign = await CampaignFactory.create_async(
        team_id=team_id, brand_id=post_setup.campaign.brand_id, status="active"
    )
    other_post = await PostFactory.for_booking(await CampaignCreatorFactory.book(other_campaign))
    sweeper = WorkerProcess(database, env={"MEDIA_SWEEP_CRON": "* * * * * *"}).start()
    try:
        orphan = await upload_file(
            post_setup.owner,
            team_id,
            kind="post_media",
            target_id=other_post.id,
            data=png_bytes(),
            content_type="image/png",
        )
        await wait_processed(post_setup.owner, team_id, orphan["id"])
        # Deleting the campaign cascades to its posts in the database; the media rows outlive them.
        assert (
            await post_setup.owner.delete(f"/api/teams/{team_id}/campaigns/{other_campaign.id}")
        ).status_code == 204

        async def swept() -> bool:
            ids = (abandoned["media"]["id"], orphan["id"])
            return await _count_media(owner_connection) == 0 and not [
                f for f in _stored_files() if any(i in f for i in ids)
            ]

        await wait_until_async(swept, what="the sweep removing both", seen=lambda: str(_stored_files()))
    finally:
        sweeper.stop()


async def test_deleting_a_team_deletes_its_stored_files_after_commit(
    post_setup: PostSetup, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    teams = post_setup.teams
    uploaded = {}
    for side in (teams.a, teams.b):
        brand = await BrandFactory.create_async(team_id=side.team.id)
        media = await upload_file(
            side.owner_client,
            side.team.id,
            kind="brand_logo",
            target_id=brand.id,
            data=png_bytes(),
            content_type="image/png",
        )
        assert (await wait_processed(side.owner_client, side.team.id, media["id"]))["status"] == "ready"
        uploaded[side.team.id] = media["id"]
    gone, kept = teams.b.team.id, teams.a.team.id  # a, with booked creators, 409s on delete today
    assert [f for f in _stored_files() if f.startswith(f"teams/{gone}/")], "the logo and its thumbnail"

    deleted = await teams.b.owner_client.delete(f"/api/teams/{gone}")
    assert deleted.status_code == 204, deleted.text

    async def purged() -> bool:
        return not [f for f in _stored_files() if f.startswith(f"teams/{gone}/")]

    await wait_until_async(
        purged, what="the deleted team's stored files deleted", seen=lambda: str(_stored_files())
    )
    assert [f for f in _stored_files() if f.startswith(f"teams/{kept}/media/{uploaded[kept]}/")]
    assert await owner_connection.fetchval("SELECT count(*) FROM media_files WHERE team_id = $1", gone) == 0


@pytest.mark.timeout(300)  # waits out process_upload's 60 s timeout, then the retry
async def test_processing_survives_a_worker_killed_mid_job(
    post_setup: PostSetup, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    await _killed_mid_job_then_retried(post_setup, database, owner_connection)


async def _killed_mid_job_then_retried(
    post_setup: PostSetup, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    team_id = post_setup.team_id
    slow = WorkerProcess(database, env={"MEDIA_PROCESSING_DELAY_SECONDS": "30"}).start()
    try:
        media = await upload_file(
            post_setup.owner,
            team_id,
            kind="post_media",
            target_id=post_setup.post.id,
            data=png_bytes(),
            content_type="image/png",
        )

        async def running() -> bool:
            return (
                await owner_connection.fetchval(
                    "SELECT count(*) FROM saq_jobs WHERE status = 'active' AND key = $1",
                    f"process_upload:{media['id']}",
                )
                == 1
            )

        await wait_until_async(running, what="process_upload running on the first worker")
        slow.kill()
    finally:
        slow.stop()
    assert (await post_setup.owner.get(f"/api/teams/{team_id}/media/{media['id']}")).json()[
        "status"
    ] == "processing"

    second = WorkerProcess(database).start()
    try:
        # The job's timeout marks it stuck; the new worker's sweep retries it from the start.
        timeout = task_specs()["process_upload"].timeout
        ready = await asyncio.wait_for(
            wait_processed_within(post_setup, media["id"], timeout + CEILING), timeout + CEILING + 5
        )
    finally:
        second.stop()
    assert ready["status"] == "ready"
    gallery = (await post_setup.owner.get(post_setup.post_media_url())).json()
    assert [item["id"] for item in gallery["items"]] == [media["id"]]


async def wait_processed_within(post_setup: PostSetup, media_id: str, within: float) -> dict[str, Any]:
    async def processed() -> dict[str, Any] | None:
        body = (await post_setup.owner.get(f"/api/teams/{post_setup.team_id}/media/{media_id}")).json()
        return body if body["status"] in {"ready", "rejected"} else None

    return await wait_until_async(processed, what="the retried processing", within=within)


async def test_a_creator_has_one_avatar_and_a_media_kit_and_both_go_with_them(
    post_setup: PostSetup, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    team_id = post_setup.team_id
    creator = await CreatorFactory.create_async(team_id=team_id)
    avatar = await upload_file(
        post_setup.owner,
        team_id,
        kind="creator_avatar",
        target_id=creator.id,
        data=jpeg_bytes(),
        content_type="image/jpeg",
    )
    kit = await upload_file(
        post_setup.owner,
        team_id,
        kind="creator_media_kit",
        target_id=creator.id,
        data=PDF_BYTES,
        content_type="application/pdf",
        name="kit.pdf",
    )
    assert (await wait_processed(post_setup.owner, team_id, avatar["id"]))["status"] == "ready"
    processed_kit = await wait_processed(post_setup.owner, team_id, kit["id"])
    assert processed_kit["status"] == "ready"
    assert processed_kit["content_type"] == "application/pdf"
    assert processed_kit["thumbnail_url"] is None
    pdf_as_avatar = await create_upload(
        post_setup.owner,
        team_id,
        kind="creator_avatar",
        target_id=creator.id,
        data=PDF_BYTES,
        content_type="application/pdf",
    )
    assert pdf_as_avatar.status_code == 415

    assert (await post_setup.owner.delete(f"/api/teams/{team_id}/creators/{creator.id}")).status_code == 204

    async def gone() -> bool:
        rows = await owner_connection.fetchval(
            "SELECT count(*) FROM media_files WHERE target_id = $1", creator.id
        )
        return rows == 0 and not [f for f in _stored_files() if avatar["id"] in f or kit["id"] in f]

    await wait_until_async(gone, what="the deleted creator's files removed")


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        get_config({"MEDIA_STORAGE": "s3"})
    with pytest.raises(ConfigError, match="MEDIA_STORAGE"):
        get_config({"MEDIA_STORAGE": "ftp"})
    assert get_config({"S3_BUCKET": "media"}).media.backend == "s3"
    assert get_config({}).media.backend == "local"
