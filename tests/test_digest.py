"""The notification digest: a real worker mails unread notifications over SMTP, once, even
with two workers running the schedule."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.background import SmtpSink, WorkerProcess, text_part
from tests.conftest import MultiTeamSetup
from tests.database import TestDatabase
from tests.factories import BrandFactory
from tests.waiting import wait_until_async

EVERY_SECOND = {"NOTIFICATION_DIGEST_CRON": "* * * * * *"}


async def test_two_workers_send_each_digest_once(
    database: TestDatabase,
    multi_team_setup: MultiTeamSetup,
    smtp_sink: SmtpSink,
    owner_connection: asyncpg.Connection,
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = f"/api/teams/{a.team.id}/threads/brand/{brand.id}/messages"
    for body in ("Caption looks off", "Also the thumbnail"):
        posted = await a.owner_client.post(url, json={"body": body, "mentions": [str(a.member.id)]})
        assert posted.status_code == 201
    # the owner's own notifications are turned off; the member keeps the default (daily)
    await a.member_client.post(url, json={"body": "On it"})
    off = {"digest": "off", "muted_thread_ids": [], "muted_campaign_ids": []}
    assert (await a.owner_client.put("/api/notifications/preferences", json=off)).status_code == 200

    workers = [
        WorkerProcess(database, smtp_port=smtp_sink.port, env=EVERY_SECOND).start(),
        WorkerProcess(database, smtp_port=smtp_sink.port, env=EVERY_SECOND).start(),
    ]
    try:
        messages = await asyncio.to_thread(smtp_sink.wait_for, a.member.email)

        async def several_runs() -> bool:
            count = await owner_connection.fetchval(
                "SELECT count(*) FROM scheduled_task_runs WHERE task = 'send_notification_digests'"
            )
            return int(count or 0) >= 4

        await wait_until_async(several_runs, what="four digest runs")
    finally:
        WorkerProcess.stop_all(workers)

    assert len(smtp_sink.to(a.member.email)) == 1
    assert smtp_sink.to(a.owner.email) == []
    message = messages[0]
    assert "2 unread notifications" in message["Subject"]
    text = text_part(message)
    assert "Caption looks off" in text
    assert a.team.name in text
    emailed = await owner_connection.fetch(
        "SELECT emailed_at FROM notifications WHERE user_id = $1", a.member.id
    )
    assert [row["emailed_at"] is not None for row in emailed] == [True, True]
    owner_rows = await owner_connection.fetch(
        "SELECT emailed_at FROM notifications WHERE user_id = $1", a.owner.id
    )
    assert [row["emailed_at"] for row in owner_rows] == [None]
