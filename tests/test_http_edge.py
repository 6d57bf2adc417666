"""What every HTTP exchange goes through: request ids, the access log, security headers, CORS,
trusted proxies (and the login limit keyed on the client they reveal), /metrics and /ready."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from app.config import ConfigError, get_config
from app.lib.http_edge import TrustedProxies, accepted_request_id
from app.main import create_app
from tests.background import ROOT, WorkerProcess
from tests.conftest import ApiClient, MultiTeamSetup, make_settings
from tests.database import TestDatabase
from tests.factories import UserFactory
from tests.waiting import CEILING, wait_until_async

SECRET = "x" * 40
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@asynccontextmanager
async def serving(database: TestDatabase, **env: str) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    application = create_app(make_settings(database, **env))
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield application, client


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-42.a_B", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("two words", False),
        ("<script>", False),
        ("", False),
    ],
)
async def test_a_valid_request_id_is_echoed_and_anything_else_replaced(
    test_client: ApiClient, sent: str, kept: bool
) -> None:
    response = await test_client.get("/health", headers={"X-Request-ID": sent})
    echoed = response.headers["x-request-id"]
    if kept:
        assert echoed == sent
    else:
        assert GENERATED_ID.match(echoed), echoed


async def test_every_response_gets_an_id_even_an_unknown_path_and_a_bad_method(
    test_client: ApiClient,
) -> None:
    seen = set()
    for method, path in (("GET", "/health"), ("GET", "/no/such/path"), ("DELETE", "/health")):
        response = await test_client.request(method, path)
        assert GENERATED_ID.match(response.headers["x-request-id"]), (method, path, response.status_code)
        seen.add(response.headers["x-request-id"])
    assert len(seen) == 3


async def test_a_job_enqueued_by_a_request_carries_its_id(
    test_client: ApiClient, owner_connection: asyncpg.Connection
) -> None:
    registered = await test_client.post(
        "/api/auth/register",
        json={"email": "carry@example.com", "password": "correct horse battery", "name": "Carry"},
        headers={"X-Request-ID": "signup-0001"},
    )
    assert registered.status_code == 201, registered.text
    rows = await owner_connection.fetch("SELECT job FROM saq_jobs")
    jobs = [msgspec.json.decode(row["job"]) for row in rows]
    assert [(job["function"], job["meta"]) for job in jobs] == [("send_email", {"request_id": "signup-0001"})]


# --- the access log ------------------------------------------------------------------------------


async def test_each_request_logs_method_template_status_duration_user_team_and_id(
    multi_team_setup: MultiTeamSetup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    team = multi_team_setup.a.team
    owner = multi_team_setup.a.owner
    response = await multi_team_setup.a.owner_client.get(
        f"/api/teams/{team.id}/brands", headers={"X-Request-ID": "list-brands-1"}
    )
    assert response.status_code == 200
    outsider = await multi_team_setup.b.owner_client.get(f"/api/teams/{team.id}/brands")
    assert outsider.status_code == 404
    lines = [record for record in caplog.records if record.name == "app.access"]
    first = next(record for record in lines if getattr(record, "request_id", None) == "list-brands-1")
    assert (first.__dict__ | {"duration_ms": None}).items() >= {
        "method": "GET",
        "path": "/api/teams/{team_id}/brands",  # the template: one series per route, no ids
        "status": 200,
        "user_id": str(owner.id),
        "team_id": str(team.id),
        "request_id": "list-brands-1",
        "duration_ms": None,
    }.items()
    assert first.duration_ms > 0  # pyright: ignore[reportAttributeAccessIssue]
    refused = [record for record in lines if getattr(record, "status", None) == 404]
    assert refused
    assert refused[-1].user_id == str(multi_team_setup.b.owner.id)  # pyright: ignore[reportAttributeAccessIssue]


async def test_an_unrouted_request_is_logged_with_its_path(
    test_client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.access")
    await test_client.get("/nothing/here", headers={"X-Request-ID": "lost-1"})
    record = next(record for record in caplog.records if getattr(record, "request_id", None) == "lost-1")
    assert (record.path, record.status, record.user_id) == ("/nothing/here", 404, None)  # pyright: ignore[reportAttributeAccessIssue]


# --- security headers ---------------------------------------------------------------------------


def csp_of(response: httpx.Response) -> dict[str, set[str]]:
    directives = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *values = directive.split()
        directives[name] = set(values)
    return directives


async def test_security_headers_on_every_response(test_client: ApiClient) -> None:
    for path in ("/health", "/api/me", "/no/such/path", "/api/auth/login"):  # 200, 401, 404, 405
        response = await test_client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert csp_of(response)["default-src"] == {"'none'"}, path
        assert "strict-transport-security" not in response.headers, path  # not in development


async def test_hsts_outside_development(database: TestDatabase) -> None:
    async with serving(database, APP_ENV="production", SECRET_KEY=SECRET) as (_, client):
        for path in ("/health", "/no/such/path"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"].startswith("max-age="), path
            assert response.headers["x-content-type-options"] == "nosniff"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(found["src"] or "")
            else:
                self._in_script_without_src = True
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False


@pytest.mark.parametrize("page", ["/schema/swagger", "/saq/"])
async def test_the_html_uis_load_everything_their_csp_allows(test_client: ApiClient, page: str) -> None:
    """Swagger UI and the job UI: every script and stylesheet is same-origin and served, and the
    CSP allows what the page needs (same-origin assets, its inline bootstrap script, data: images,
    calls to the API on the same origin)."""
    response = await test_client.get(page)
    assert response.status_code == 200
    csp = csp_of(response)
    assets = _Assets()
    assets.feed(response.text)
    assert assets.urls, response.text
    for url in assets.urls:
        assert url.startswith("/"), f"{url} is not same-origin: the CSP would block it"
        asset = await test_client.get(url)
        assert asset.status_code == 200, url
    assert "'self'" in csp["script-src"]
    assert "'self'" in csp["style-src"]
    if assets.inline_scripts:
        assert "'unsafe-inline'" in csp["script-src"]
    assert "'self'" in csp["connect-src"]
    assert "data:" in csp["img-src"]
    assert csp["frame-ancestors"] == {"'none'"}


# --- CORS ------------------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }


async def test_cors_allows_the_listed_origins_only_and_no_credentials_by_default(
    database: TestDatabase,
) -> None:
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "CORS_ORIGINS": "https://app.example.com, https://admin.example.com",
    }
    async with serving(database, **env) as (_, client):
        allowed = await client.options("/api/me", headers=preflight("https://app.example.com"))
        assert allowed.status_code in (200, 204), allowed.text
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "access-control-allow-credentials" not in allowed.headers
        assert allowed.headers["x-content-type-options"] == "nosniff"
        assert GENERATED_ID.match(allowed.headers["x-request-id"])
        simple = await client.get("/health", headers={"Origin": "https://admin.example.com"})
        assert simple.headers["access-control-allow-origin"] == "https://admin.example.com"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
        other = await client.get("/health", headers={"Origin": "https://evil.example.net"})
        assert "access-control-allow-origin" not in other.headers
        refused = await client.options("/api/me", headers=preflight("https://evil.example.net"))
        assert "access-control-allow-origin" not in refused.headers


async def test_no_cors_outside_development_unless_configured(database: TestDatabase) -> None:
    async with serving(database, APP_ENV="production", SECRET_KEY=SECRET) as (_, client):
        response = await client.get("/health", headers={"Origin": "https://app.example.com"})
        assert "access-control-allow-origin" not in response.headers


async def test_credentials_when_asked(database: TestDatabase) -> None:
    env = {"CORS_ORIGINS": "https://app.example.com", "CORS_ALLOW_CREDENTIALS": "true"}
    async with serving(database, **env) as (_, client):
        allowed = await client.options("/api/me", headers=preflight("https://app.example.com"))
        assert allowed.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CORS_ORIGINS": "app.example.com"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://app.example.com/path"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "yes"}, "CORS_ALLOW_CREDENTIALS"),
        ({"CORS_ALLOW_CREDENTIALS": "maybe"}, "CORS_ALLOW_CREDENTIALS"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "TRUSTED_PROXIES"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
        ({"WORKER_METRICS_PORT": "70000"}, "WORKER_METRICS_PORT"),
        ({"WORKER_METRICS_PORT": "abc"}, "WORKER_METRICS_PORT"),
        ({"JOB_UI_SESSION_SECONDS": "5"}, "JOB_UI_SESSION_SECONDS"),
        ({"READY_HEARTBEAT_SECONDS": "x"}, "READY_HEARTBEAT_SECONDS"),
    ],
)
def test_bad_edge_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        get_config(env)


# --- trusted proxies -------------------------------------------------------------------------------


def test_forwarded_headers_count_only_from_trusted_peers() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "2001:db8::/32"])
    forwarded = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    assert proxies.client_and_scheme("10.1.2.3", forwarded) == ("203.0.113.9", "https")
    assert proxies.client_and_scheme("192.0.2.1", forwarded) is None  # not our proxy: ignored
    assert proxies.client_and_scheme("2001:db8::1", forwarded) == ("203.0.113.9", "https")
    # A client's own X-Forwarded-For value is further left; the first untrusted hop from the right wins.
    spoofed = {"x-forwarded-for": "1.2.3.4, 203.0.113.9, 10.0.0.7"}
    assert proxies.client_and_scheme("10.1.2.3", spoofed) == ("203.0.113.9", None)
    assert proxies.client_and_scheme("10.1.2.3", {"x-forwarded-for": "garbage"}) is None
    assert proxies.client_and_scheme("10.1.2.3", {"x-forwarded-proto": "gopher"}) == ("10.1.2.3", None)
    assert TrustedProxies([]).client_and_scheme("10.1.2.3", forwarded) is None
    assert accepted_request_id(None) != accepted_request_id(None)


async def _fail_login(client: httpx.AsyncClient, n: int, forwarded_for: str) -> int:
    response = await client.post(
        "/api/auth/login",
        json={"email": f"nobody{n}@example.com", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


async def test_behind_a_trusted_proxy_the_login_limit_keys_on_the_real_client(database: TestDatabase) -> None:
    limits = {"LOGIN_MAX_FAILURES_PER_ADDRESS": "2", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "50"}
    # httpx's ASGI transport connects from 127.0.0.1: that is the proxy here.
    async with serving(database, TRUSTED_PROXIES="127.0.0.1/32", **limits) as (_, client):
        assert [await _fail_login(client, n, "203.0.113.5") for n in range(3)] == [401, 401, 429]
        # Another user behind the same proxy still has their own attempts.
        assert await _fail_login(client, 10, "203.0.113.6") == 401
        # Prepending a fake address does not buy a fresh bucket: the proxy's hop is what counts.
        assert await _fail_login(client, 11, "198.51.100.1, 203.0.113.5") == 429


async def test_without_trusted_proxies_forwarded_headers_are_ignored(database: TestDatabase) -> None:
    limits = {"LOGIN_MAX_FAILURES_PER_ADDRESS": "2", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "50"}
    async with serving(database, **limits) as (_, client):
        statuses = [await _fail_login(client, n, f"203.0.113.{n}") for n in range(3)]
        assert statuses == [401, 401, 429]  # one bucket: the socket peer


# --- /metrics --------------------------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_count_requests_by_route_template_and_read_pool_and_queue(
    multi_team_setup: MultiTeamSetup, test_client: ApiClient
) -> None:
    team = multi_team_setup.a.team
    before = (
        sample(
            (await test_client.get("/metrics")).text,
            "campaign_platform_requests_total",
            path="/api/teams/{team_id}/brands",
            status_code="200",
        )
        or 0
    )
    for _ in range(3):
        assert (await multi_team_setup.a.owner_client.get(f"/api/teams/{team.id}/brands")).status_code == 200
    registered = await test_client.post(
        "/api/auth/register",
        json={"email": "queued@example.com", "password": "correct horse battery", "name": "Q"},
    )
    assert registered.status_code == 201
    scraped = await test_client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    labels = {"path": "/api/teams/{team_id}/brands", "status_code": "200", "method": "GET"}
    # At least ours: the counters are the process's, and the suite's other apps share the process.
    assert (sample(text, "campaign_platform_requests_total", **labels) or 0) >= before + 3
    assert (sample(text, "campaign_platform_request_duration_seconds_count", **labels) or 0) >= 3
    assert sample(text, "campaign_platform_request_duration_seconds_bucket", le="+Inf", **labels) is not None
    assert str(team.id) not in text  # no ids in labels
    assert sample(text, "campaign_platform_queue_jobs", queue="default", status="queued") == 1
    assert sample(text, "campaign_platform_db_pool_size") == 20  # DATABASE_POOL_SIZE's default
    open_connections = [
        sample(text, "campaign_platform_db_pool_connections", state=s) for s in ("checked_out", "idle")
    ]
    assert sum(value or 0 for value in open_connections) >= 1  # the requests above opened some


async def test_metrics_need_the_token_outside_development(database: TestDatabase) -> None:
    token = "metrics-token-0123456789"
    async with serving(database, APP_ENV="production", SECRET_KEY=SECRET, METRICS_TOKEN=token) as (
        app,
        client,
    ):
        assert (await client.get("/metrics")).status_code == 401
        assert (
            await client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})
        ).status_code == 401
        admin = await UserFactory.create_async(is_platform_admin=True)
        jwt = app.state.access_tokens.issue(admin.id, is_platform_admin=True)
        assert (await client.get("/metrics", headers={"Authorization": f"Bearer {jwt}"})).status_code == 401
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "campaign_platform_requests_total" in allowed.text
    async with serving(database, APP_ENV="production", SECRET_KEY=SECRET) as (_, client):
        assert (await client.get("/metrics")).status_code == 404  # no token, no endpoint


# --- /ready ----------------------------------------------------------------------------------------


async def test_ready_needs_a_worker_heartbeat(test_client: ApiClient, database: TestDatabase) -> None:
    alone = await test_client.get("/ready")
    assert alone.status_code == 503
    assert alone.json() | {"version": None} == {
        "status": "not_ready",
        "database": "ok",
        "schema": "at_head",
        "workers": 0,
        "version": None,
    }
    assert (await test_client.get("/health")).status_code == 200  # liveness does not need a worker
    worker = WorkerProcess(database).start()
    try:

        async def ready() -> httpx.Response | None:
            response = await test_client.get("/ready")
            return response if response.status_code == 200 else None

        answer = await wait_until_async(ready, what="/ready with the worker's heartbeat")
        assert answer.json()["workers"] == 1
        assert answer.json()["status"] == "ready"
    finally:
        worker.stop()


async def test_ready_refuses_a_schema_behind_the_code(
    test_client: ApiClient, owner_connection: asyncpg.Connection
) -> None:
    head = await owner_connection.fetchval("SELECT version_num FROM alembic_version")
    await owner_connection.execute("UPDATE alembic_version SET version_num = '0001'")
    try:
        behind = await test_client.get("/ready")
    finally:
        await owner_connection.execute("UPDATE alembic_version SET version_num = $1", head)
    assert behind.status_code == 503
    assert behind.json()["schema"] == "behind"
    assert (await test_client.get("/ready")).json()["schema"] == "at_head"


def test_a_bad_edge_setting_stops_start_up_with_one_line_and_exit_2() -> None:
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET, "TRUSTED_PROXIES": "10.0.0.0/33"}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CEILING,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs, got '10.0.0.0/33'"
    ]
