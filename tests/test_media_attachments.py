"""Files on thread messages: uploaded as `message_attachment` for the thread's object, checked by
a real worker, attached when the message is posted, returned with signed URLs, removed with the
message, isolated by team and by a guest's campaigns, and swept when never posted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from app.campaigns.models import Campaign
from app.lib.roles import TeamRole
from app.posts.models import Post
from tests.background import TEST_MEDIA_ROOT, WorkerProcess
from tests.conftest import ApiClient, MultiTeamSetup
from tests.database import TestDatabase
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    PostFactory,
    TeamMemberFactory,
    UserFactory,
)
from tests.media_helpers import PDF_BYTES, create_upload, local_path, png_bytes, upload_file, wait_processed
from tests.waiting import wait_until_async


@pytest.fixture
def media_worker(database: TestDatabase) -> Iterator[WorkerProcess]:
    process = WorkerProcess(database).start()
    yield process
    process.stop()


@dataclass
class Thread:
    teams: MultiTeamSetup
    campaign: Campaign
    post: Post

    @property
    def team_id(self) -> Any:
        return self.teams.a.team.id

    @property
    def owner(self) -> ApiClient:
        return self.teams.a.owner_client

    @property
    def messages_url(self) -> str:
        return f"/api/teams/{self.team_id}/threads/post/{self.post.id}/messages"


@pytest.fixture
async def thread(multi_team_setup: MultiTeamSetup) -> Thread:
    campaign = await CampaignFactory.create_async(team_id=multi_team_setup.a.team.id, status="active")
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    return Thread(multi_team_setup, campaign, post)


async def _attachment(
    client: ApiClient,
    team_id: Any,
    target_type: str,
    target_id: Any,
    *,
    data: bytes | None = None,
    content_type: str = "image/png",
    wait: bool = True,
) -> dict[str, Any]:
    """Upload a message attachment for the object's thread (and wait until it is checked)."""
    body = data if data is not None else png_bytes()
    created = await client.post(
        f"/api/teams/{team_id}/media/uploads",
        json={
            "kind": "message_attachment",
            "target_type": target_type,
            "target_id": str(target_id),
            "file_name": "brief.png" if content_type == "image/png" else "brief.pdf",
            "content_type": content_type,
            "size": len(body),
        },
    )
    assert created.status_code == 201, created.text
    media = created.json()
    put = await client.client.put(
        local_path(media["upload"]["url"]), content=body, headers=media["upload"]["headers"]
    )
    assert put.status_code == 201, put.text
    media_id = media["media"]["id"]
    completed = await client.post(f"/api/teams/{team_id}/media/{media_id}/complete")
    assert completed.status_code == 202, completed.text
    if not wait:
        return completed.json()
    return await wait_processed(client, team_id, media_id)


def _stored(media_id: str) -> list[str]:
    return [str(p) for p in TEST_MEDIA_ROOT.rglob("*") if p.is_file() and media_id in str(p)]


async def test_a_message_carries_its_files_with_signed_urls_end_to_end(
    thread: Thread, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    image = png_bytes(90, 60)
    picture = await _attachment(thread.owner, thread.team_id, "post", thread.post.id, data=image)
    document = await _attachment(
        thread.owner, thread.team_id, "post", thread.post.id, data=PDF_BYTES, content_type="application/pdf"
    )
    assert picture["status"] == "ready"
    assert document["status"] == "ready"
    assert picture["message_id"] is None

    posted = await thread.owner.post(
        thread.messages_url, json={"body": "", "attachments": [document["id"], picture["id"]]}
    )

    assert posted.status_code == 201, posted.text
    message = posted.json()
    assert [a["id"] for a in message["attachments"]] == [document["id"], picture["id"]]
    assert all(a["message_id"] == message["id"] for a in message["attachments"])
    listed = (await thread.owner.get(thread.messages_url)).json()["items"]
    [shown] = [item for item in listed if item["id"] == message["id"]]
    assert [a["id"] for a in shown["attachments"]] == [document["id"], picture["id"]]
    download = await thread.owner.client.get(local_path(shown["attachments"][1]["download_url"]))
    assert download.status_code == 200
    assert download.content == image
    assert shown["attachments"][1]["thumbnail_url"]
    edited = await thread.owner.put(
        f"{thread.messages_url}/{message['id']}",
        json={"body": "the brief, twice", "mentions": [], "version": message["version"]},
    )
    assert edited.status_code == 200, edited.text
    assert [a["id"] for a in edited.json()["attachments"]] == [document["id"], picture["id"]]
    assert (await thread.owner.get(f"/api/teams/{thread.team_id}/media/{picture['id']}")).json()[
        "message_id"
    ] == message["id"]
    event = await owner_connection.fetchrow(
        "SELECT changes FROM events WHERE object_type = 'thread_message' AND object_id = $1", message["id"]
    )
    assert event is not None
    assert "brief.png" in event["changes"]
    assert "brief.pdf" in event["changes"]


async def test_only_your_ready_uploads_for_this_thread_can_be_attached_and_nothing_half_written(
    thread: Thread, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    team_id = thread.team_id
    other_post = await PostFactory.for_booking(await CampaignCreatorFactory.book(thread.campaign))
    worker = WorkerProcess(database).start()
    try:
        elsewhere = await _attachment(thread.owner, team_id, "post", other_post.id)
        theirs = await _attachment(thread.teams.a.member_client, team_id, "post", thread.post.id)
        used = await _attachment(thread.owner, team_id, "post", thread.post.id)
        rejected = await _attachment(thread.owner, team_id, "post", thread.post.id, data=PDF_BYTES)
        post_media = await upload_file(
            thread.owner,
            team_id,
            kind="post_media",
            target_id=thread.post.id,
            data=png_bytes(),
            content_type="image/png",
        )
        await wait_processed(thread.owner, team_id, post_media["id"])
    finally:
        worker.stop()
    assert rejected["status"] == "rejected"
    waiting = await _attachment(thread.owner, team_id, "post", thread.post.id, wait=False)  # no worker now
    first = await thread.owner.post(thread.messages_url, json={"body": "first", "attachments": [used["id"]]})
    assert first.status_code == 201, first.text
    messages_before = await owner_connection.fetchval("SELECT count(*) FROM thread_messages")

    refused = {
        "another object's thread": ([elsewhere["id"]], 422, "not uploaded as a message_attachment"),
        "someone else's upload": ([theirs["id"]], 422, "uploaded by someone else"),
        "already on a message": ([used["id"]], 409, "already on another message"),
        "rejected": ([rejected["id"]], 409, "was rejected"),
        "still processing": ([waiting["id"]], 409, "is processing"),
        "a post's draft media": ([post_media["id"]], 422, "not uploaded as a message_attachment"),
        "unknown": (["0190f1d2-0000-7000-8000-000000000000"], 422, "no media file"),
        "twice": ([theirs["id"], theirs["id"]], 400, "more than once"),
    }
    for case, (ids, status, detail) in refused.items():
        response = await thread.owner.post(thread.messages_url, json={"body": "x", "attachments": ids})
        assert response.status_code == status, (case, response.text)
        assert detail in response.json()["detail"], (case, response.text)
    empty = await thread.owner.post(thread.messages_url, json={"body": "  ", "attachments": []})
    assert empty.status_code == 400
    assert await owner_connection.fetchval("SELECT count(*) FROM thread_messages") == messages_before
    assert (
        await owner_connection.fetchval("SELECT count(*) FROM media_files WHERE message_id IS NOT NULL") == 1
    )
    missing_type = await create_upload(
        thread.owner,
        team_id,
        kind="message_attachment",
        target_id=thread.post.id,
        data=b"x",
        content_type="image/png",
    )
    assert missing_type.status_code == 400
    assert "target_type" in missing_type.json()["detail"]


async def test_deleting_a_message_or_its_object_deletes_the_files(
    thread: Thread, media_worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    team_id = thread.team_id
    gone_with_message = await _attachment(thread.owner, team_id, "post", thread.post.id)
    gone_with_post = await _attachment(thread.owner, team_id, "post", thread.post.id)
    first = (
        await thread.owner.post(
            thread.messages_url, json={"body": "a", "attachments": [gone_with_message["id"]]}
        )
    ).json()
    await thread.owner.post(thread.messages_url, json={"body": "b", "attachments": [gone_with_post["id"]]})
    assert _stored(gone_with_message["id"])
    detach = await thread.owner.delete(f"/api/teams/{team_id}/media/{gone_with_message['id']}")
    assert detach.status_code == 409
    assert "delete the message" in detach.json()["detail"]

    deleted = await thread.owner.delete(f"{thread.messages_url}/{first['id']}")

    assert deleted.status_code == 204
    [tombstone] = [
        m for m in (await thread.owner.get(thread.messages_url)).json()["items"] if m["id"] == first["id"]
    ]
    assert tombstone["attachments"] == []
    assert (
        await thread.owner.get(f"/api/teams/{team_id}/media/{gone_with_message['id']}")
    ).status_code == 404
    detached = await owner_connection.fetchrow(
        "SELECT changes FROM events WHERE object_type = 'thread_message' AND object_id = $1"
        " AND changes -> 'media' ->> 'new' IS NULL",
        first["id"],
    )
    assert detached is not None

    async def message_files_gone() -> bool:
        return not _stored(gone_with_message["id"])

    await wait_until_async(message_files_gone, what="the deleted message's files deleted from storage")
    assert _stored(gone_with_post["id"])

    post_url = f"/api/teams/{team_id}/campaigns/{thread.campaign.id}/posts/{thread.post.id}"
    assert (await thread.owner.delete(post_url)).status_code == 204

    async def post_files_gone() -> bool:
        rows = await owner_connection.fetchval("SELECT count(*) FROM media_files")
        return rows == 0 and not _stored(gone_with_post["id"])

    await wait_until_async(post_files_gone, what="the deleted post's message files deleted")


async def test_another_team_and_a_guest_outside_the_campaign_get_404(
    thread: Thread, media_worker: WorkerProcess, client_for: Any, owner_connection: asyncpg.Connection
) -> None:
    team_id = thread.team_id
    attached = await _attachment(thread.owner, team_id, "post", thread.post.id)
    message = (
        await thread.owner.post(thread.messages_url, json={"body": "see", "attachments": [attached["id"]]})
    ).json()
    outsider = thread.teams.b.owner_client
    other_team = thread.teams.b.team.id

    into_a = await create_upload(
        outsider,
        team_id,
        kind="message_attachment",
        target_id=thread.post.id,
        data=b"x",
        content_type="image/png",
    )
    assert into_a.status_code == 404
    assert (await outsider.get(thread.messages_url)).status_code == 404
    assert (await outsider.get(f"/api/teams/{team_id}/media/{attached['id']}")).status_code == 404
    other_brand = await BrandFactory.create_async(team_id=other_team)
    b_thread = f"/api/teams/{other_team}/threads/brand/{other_brand.id}/messages"
    stolen = await outsider.post(b_thread, json={"body": "mine?", "attachments": [attached["id"]]})
    assert stolen.status_code == 422
    own_team_path_to_a_post = await outsider.post(
        f"/api/teams/{other_team}/media/uploads",
        json={
            "kind": "message_attachment",
            "target_type": "post",
            "target_id": str(thread.post.id),
            "file_name": "x.png",
            "content_type": "image/png",
            "size": 10,
        },
    )
    assert own_team_path_to_a_post.status_code == 404

    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team_id, user_id=guest.id, role=TeamRole.GUEST)
    granted = await CampaignFactory.create_async(
        team_id=team_id, brand_id=thread.campaign.brand_id, status="active"
    )
    granted_post = await PostFactory.for_booking(await CampaignCreatorFactory.book(granted))
    await CampaignGuestAccessFactory.create_async(team_id=team_id, campaign_id=granted.id, user_id=guest.id)
    guest_client = client_for(guest)
    assert (await guest_client.get(thread.messages_url)).status_code == 404
    assert (await guest_client.get(f"/api/teams/{team_id}/media/{attached['id']}")).status_code == 404
    for target_type, target_id in (("post", thread.post.id), ("brand", thread.campaign.brand_id)):
        refused = await guest_client.post(
            f"/api/teams/{team_id}/media/uploads",
            json={
                "kind": "message_attachment",
                "target_type": target_type,
                "target_id": str(target_id),
                "file_name": "x.png",
                "content_type": "image/png",
                "size": 10,
            },
        )
        assert refused.status_code == 404, (target_type, refused.text)

    own = await _attachment(guest_client, team_id, "post", granted_post.id)
    assert own["status"] == "ready"
    granted_thread = f"/api/teams/{team_id}/threads/post/{granted_post.id}/messages"
    posted = await guest_client.post(
        granted_thread, json={"body": "from the brand", "attachments": [own["id"]]}
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["attachments"][0]["download_url"]
    assert message["attachments"][0]["id"] == attached["id"]
    assert (
        await owner_connection.fetchval("SELECT count(*) FROM media_files WHERE team_id = $1", other_team)
        == 0
    )


async def test_an_attachment_never_posted_on_a_message_is_swept(
    thread: Thread, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    # One worker for all (a worker started before would hold the sweep's cron key at its own time).
    sweeper = WorkerProcess(database, env={"MEDIA_SWEEP_CRON": "* * * * * *"}).start()
    try:
        never_posted = await _attachment(thread.owner, thread.team_id, "post", thread.post.id)
        posted = await _attachment(thread.owner, thread.team_id, "post", thread.post.id)
        message = await thread.owner.post(
            thread.messages_url, json={"body": "kept", "attachments": [posted["id"]]}
        )
        assert message.status_code == 201, message.text
        await owner_connection.execute("UPDATE media_files SET processed_at = now() - interval '25 hours'")

        async def swept() -> bool:
            ids = await owner_connection.fetchval("SELECT array_agg(id::text) FROM media_files")
            return ids == [posted["id"]] and not _stored(never_posted["id"])

        await wait_until_async(swept, what="the never-posted attachment swept, the posted one kept")
    finally:
        sweeper.stop()
    assert _stored(posted["id"])
