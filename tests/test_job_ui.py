"""The SAQ web UI at /saq: open in development; elsewhere platform admins only, from a browser
through a short-lived signed cookie (`CreateJobUiSession`) or from a script with a bearer token."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from app.main import create_app
from app.queue.job_ui import JOB_UI_COOKIE, sign_job_ui_session
from tests.conftest import ApiClient, make_settings
from tests.database import TestDatabase
from tests.factories import UserFactory

SECRET = "x" * 40


async def test_job_ui_is_open_in_development(test_client: ApiClient) -> None:
    bare = await test_client.get("/saq")
    assert bare.status_code == 308
    assert bare.headers["location"] == "/saq/"
    page = await test_client.get("/saq/")
    assert page.status_code == 200
    assert "<title>SAQ</title>" in page.text
    queues = await test_client.get("/saq/api/queues")
    assert queues.status_code == 200
    assert [queue["name"] for queue in queues.json()["queues"]] == ["default"]


@asynccontextmanager
async def production(database: TestDatabase, base_url: str = "http://testserver", **env: str):
    application = create_app(make_settings(database, APP_ENV="production", SECRET_KEY=SECRET, **env))
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield application, client


def bearer(application: Litestar, user, *, session_epoch: int = 0) -> dict[str, str]:
    token = application.state.access_tokens.issue(
        user.id, is_platform_admin=user.is_platform_admin, session_epoch=session_epoch
    )
    return {"Authorization": f"Bearer {token}"}


def cookie_header(value: str) -> dict[bytes, bytes]:
    return {b"Cookie": f"{JOB_UI_COOKIE}={value}".encode()}  # bytes: a forged value may be non-ASCII


async def test_job_ui_is_for_platform_admins_outside_development(database: TestDatabase) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    member = await UserFactory.create_async()
    async with production(database) as (application, client):
        for path in ("/saq/", "/saq/api/queues"):
            refused = await client.get(path)
            assert refused.status_code == 401, path
            assert "job-ui-session" in refused.text  # says how to get in
            assert (await client.get(path, headers=bearer(application, member))).status_code == 403
            assert (await client.get(path, headers=bearer(application, admin))).status_code == 200
            garbage = await client.get(path, headers={"Authorization": "Bearer not.a.jwt"})
            assert garbage.status_code == 401


async def test_an_admin_opens_the_job_ui_in_a_browser_with_a_short_lived_cookie(
    database: TestDatabase,
) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    async with production(database, JOB_UI_SESSION_SECONDS="120") as (application, client):
        issued = await client.post("/api/admin/job-ui-session", headers=bearer(application, admin))
        assert issued.status_code == 201, issued.text
        assert issued.json()["url"] == "/saq/"
        set_cookie = issued.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
        assert {"httponly", "path", "max-age", "samesite"} <= attributes
        assert "Path=/saq" in set_cookie
        assert "samesite=strict" in set_cookie.lower()
        assert "Max-Age=120" in set_cookie
        assert "secure" not in attributes  # plain http here; see the https test below
        value = issued.cookies[JOB_UI_COOKIE]

        # What a browser does next: navigate, with the cookie and no Authorization header.
        bare = await client.get("/saq", headers=cookie_header(value))
        assert (bare.status_code, bare.headers["location"]) == (308, "/saq/")
        page = await client.get("/saq/", headers=cookie_header(value))
        assert page.status_code == 200
        assert "<title>SAQ</title>" in page.text
        assert (await client.get("/saq/api/queues", headers=cookie_header(value))).status_code == 200
        # The cookie opens the job UI only, not the API.
        assert (await client.get("/api/me", headers=cookie_header(value))).status_code == 401


async def test_forged_altered_and_expired_cookies_are_refused(database: TestDatabase) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    later = int(time.time()) + 300
    async with production(database) as (application, client):
        issued = await client.post("/api/admin/job-ui-session", headers=bearer(application, admin))
        value = issued.cookies[JOB_UI_COOKIE]
        user_part, expiry, signature = value.split(".")
        refused = {
            "altered expiry": f"{user_part}.{later + 10_000}.{signature}",
            "altered signature": f"{user_part}.{expiry}.{signature[:-2]}AA",
            "another secret": sign_job_ui_session("y" * 40, admin.id, expires_at=later),
            "expired": sign_job_ui_session(SECRET, admin.id, expires_at=int(time.time()) - 1),
            "garbage": "not-a-cookie",
            "non-ASCII signature": f"{user_part}.{expiry}.é{signature[1:]}",
        }
        for what, forged in refused.items():
            response = await client.get("/saq/api/queues", headers=cookie_header(forged))
            assert response.status_code == 401, what
        valid = sign_job_ui_session(SECRET, admin.id, expires_at=later)
        assert (await client.get("/saq/api/queues", headers=cookie_header(valid))).status_code == 200


async def test_only_a_live_platform_admin_gets_a_job_ui_cookie(database: TestDatabase) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    member = await UserFactory.create_async()
    async with production(database) as (application, client):
        anonymous = await client.post("/api/admin/job-ui-session")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        refused = await client.post("/api/admin/job-ui-session", headers=bearer(application, member))
        assert refused.status_code == 403
        assert JOB_UI_COOKIE not in refused.cookies
        # A token whose sessions were ended (logout everywhere, password change) gets none either.
        ended = await client.post(
            "/api/admin/job-ui-session", headers=bearer(application, admin, session_epoch=7)
        )
        assert ended.status_code == 401
        assert JOB_UI_COOKIE not in ended.cookies


async def test_the_cookie_is_secure_over_https(database: TestDatabase) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    async with production(database, base_url="https://testserver") as (application, client):
        issued = await client.post("/api/admin/job-ui-session", headers=bearer(application, admin))
        assert issued.status_code == 201
        assert "Secure" in issued.headers["set-cookie"]


async def test_behind_a_trusted_proxy_the_forwarded_scheme_decides_secure(database: TestDatabase) -> None:
    admin = await UserFactory.create_async(is_platform_admin=True)
    async with production(database, TRUSTED_PROXIES="127.0.0.0/8") as (application, client):
        issued = await client.post(
            "/api/admin/job-ui-session",
            headers={
                **bearer(application, admin),
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": "198.51.100.7",
            },
        )
        assert issued.status_code == 201
        assert "Secure" in issued.headers["set-cookie"]
