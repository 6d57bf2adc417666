"""The cheaper request path keeps every rule it made cheaper: a remembered token still expires and a
tampered one is still refused, dependencies still run after the ones they need, a request that
fails is counted with the status it answered."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from litestar import Litestar
from litestar._kwargs.dependencies import DependencyContainer  # pyright: ignore[reportPrivateUsage]
from litestar.di import Provide
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import Token
from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_HIT

from app.lib.auth import ISSUER, VerifiedTokens
from app.lib.deps import _one_dependency_per_batch  # pyright: ignore[reportPrivateUsage]
from tests.conftest import ApiClient, MultiTeamSetup
from tests.test_http_edge import sample
from tests.waiting import wait_until_async


def _token_for(app: Litestar, user_id: object, *, expires_in: float) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "exp": now + expires_in, "iat": now, "iss": ISSUER, "sep": 0}
    return jwt.encode(claims, app.state.settings.auth.secret_key, algorithm="HS256")


async def test_a_remembered_token_is_refused_once_it_expires(
    app: Litestar, test_client: ApiClient, multi_team_setup: MultiTeamSetup
) -> None:
    token = _token_for(app, multi_team_setup.a.owner.id, expires_in=2)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await test_client.get("/api/me", headers=headers)).status_code == 200
    assert (await test_client.get("/api/me", headers=headers)).status_code == 200  # remembered now

    async def refused() -> bool:
        return (await test_client.get("/api/me", headers=headers)).status_code == 401

    await wait_until_async(refused, what="the remembered token to be refused after its expiry", within=30)


async def test_a_token_with_another_signature_is_verified_again_and_refused(
    app: Litestar, test_client: ApiClient, multi_team_setup: MultiTeamSetup
) -> None:
    token = _token_for(app, multi_team_setup.a.owner.id, expires_in=600)
    assert (await test_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    header, claims, signature = token.split(".")
    tampered = f"{header}.{claims}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    refused = await test_client.get("/api/me", headers={"Authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401


def _result(subject: str) -> AuthenticationResult:
    token = Token(exp=datetime.now(tz=UTC) + timedelta(minutes=10), sub=subject)
    return AuthenticationResult(user=subject, auth=token)


def test_verified_tokens_keep_the_most_recently_used_within_their_capacity() -> None:
    verified = VerifiedTokens(capacity=2)
    for name in ("first", "second"):
        verified.put(name, _result(name))
    assert verified.get("first") is not None  # now the most recent
    verified.put("third", _result("third"))
    assert len(verified) == 2
    assert verified.get("second") is None
    assert verified.get("first") is not None
    assert verified.get("third") is not None


def test_dependencies_run_one_at_a_time_after_the_ones_they_need() -> None:
    def provide(**_: object) -> None:
        return None

    session = DependencyContainer("db_session", Provide(provide, sync_to_thread=False), [])
    access = DependencyContainer("team_access", Provide(provide, sync_to_thread=False), [session])
    service = DependencyContainer("brands", Provide(provide, sync_to_thread=False), [session])
    page = DependencyContainer("page", Provide(provide, sync_to_thread=False), [])
    batches = _one_dependency_per_batch({access, service, page})
    order = [next(iter(batch)).key for batch in batches]
    assert all(len(batch) == 1 for batch in batches)
    assert sorted(order) == ["brands", "db_session", "page", "team_access"]
    assert order.index("db_session") < order.index("team_access")
    assert order.index("db_session") < order.index("brands")


async def test_a_refused_request_is_counted_with_the_status_it_answered(
    test_client: ApiClient, multi_team_setup: MultiTeamSetup
) -> None:
    team = multi_team_setup.a.team
    labels = {"path": "/api/teams/{team_id}/brands", "method": "POST", "status_code": "415"}
    before = (
        sample((await test_client.get("/metrics")).text, "campaign_platform_requests_total", **labels) or 0
    )
    refused = await multi_team_setup.a.owner_client.post(
        f"/api/teams/{team.id}/brands", content=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert refused.status_code == 415
    unknown = await multi_team_setup.a.owner_client.get("/api/no-such-route-for-metrics")
    assert unknown.status_code == 404
    text = (await test_client.get("/metrics")).text
    assert (sample(text, "campaign_platform_requests_total", **labels) or 0) == before + 1
    assert "no-such-route-for-metrics" not in text  # an unknown path mints no series


async def test_a_brands_system_message_statements_are_compiled_once(
    app: Litestar, authenticated_client: ApiClient, team: Any
) -> None:
    """The thread and message inserts of a one-event flush come from SQLAlchemy's compiled cache
    from the second create and update on (a multi-row VALUES is never cached: it used to be
    compiled on every write, most of a create's CPU), and the system messages are still written."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "INSERT INTO threads" in statement or "INSERT INTO thread_messages" in statement:
            seen.append(("threads" if "INSERT INTO threads" in statement else "messages", context.cache_hit))

    engine = app.state.engine.sync_engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        base = f"/api/teams/{team.id}/brands"
        brand: dict[str, Any] = {}
        for n in range(3):
            created = await authenticated_client.post(base, json={"name": f"Cached {n}"})
            assert created.status_code == 201, created.text
            brand = created.json()
            updated = await authenticated_client.put(
                f"{base}/{brand['id']}",
                json={"name": f"Cached {n} again", "website": None, "description": None, "version": 1},
            )
            assert updated.status_code == 200, updated.text
    finally:
        event.remove(engine, "after_cursor_execute", record)
    assert len(seen) == 12  # 6 writes x (thread statement, message insert)
    assert {hit for _, hit in seen[4:]} == {CACHE_HIT}, seen
    thread = await authenticated_client.get(f"/api/teams/{team.id}/threads/brand/{brand['id']}/messages")
    assert thread.status_code == 200, thread.text
    assert sorted(m["event_type"] for m in thread.json()["items"]) == ["created", "updated"]
