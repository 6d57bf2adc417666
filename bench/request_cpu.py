"""CPU per request in the API process, which the machine's load does not move much:
`python -m bench.request_cpu [N]` calls the application's ASGI callable directly (no client, no
server: the scope, receive and send are the minimum ASGI asks for) N times per endpoint of
`make bench`, one request at a time, on the bench data, and prints the process CPU time per
request (`time.process_time`: this process only, so PostgreSQL's work and other engineers' load
are out). `BENCH_ONLY` picks endpoints as in `bench.run`; `BENCH_PROFILE=<file>` writes a
cProfile of the measured requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.engine import URL

from app.config import PROJECT_ROOT, Settings, get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.lib.auth import AccessTokens, build_jwt_auth
from bench.data import ensure_data
from bench.run import (
    ONLY,
    ROUNDS,
    SECRET,
    Endpoint,
    endpoints,
    record_plans,
    reset_update_targets,
    update_body,
    update_targets,
)


def _scope(method: str, target: str, token: str, body: bytes, query: str = "") -> dict[str, Any]:
    url = urlsplit(target)
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": (query or url.query).encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }


async def _call(application: Any, scope: dict[str, Any], body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await application(dict(scope), receive, send)
    return status


async def measure(n: int, settings: Settings, owner_dsn: str, owner_url: URL) -> None:
    from app.main import create_app

    data = await ensure_data(owner_dsn)
    targets = await update_targets(owner_dsn, data)
    await reset_update_targets(owner_dsn, data, targets)
    token = AccessTokens(build_jwt_auth(settings.auth), settings.auth.access_token_ttl).issue(
        data.user_id, is_platform_admin=False
    )
    chosen = [
        e
        for e in endpoints(data)
        if e.method == "GET"
        and (not ONLY or any(p.strip() in e.name.lower() for p in ONLY.lower().split(",")))
    ]
    plans = await record_plans(settings, token, data, chosen, targets, owner_dsn)
    await reset_update_targets(owner_dsn, data, targets)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as plan_file:
        plan_file.write(pickle.dumps(plans))
        plan_file.flush()
        os.environ["BENCH_PLAN"] = plan_file.name
        os.environ["BENCH_APP_DSN"] = libpq_dsn(settings.database.app_url_from(owner_url))
        from bench import bare_app

        application = create_app(settings)
        floor = None
        if os.environ.get("BENCH_FLOOR"):
            from bench.litestar_floor_app import app as floor
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(application.lifespan())
            await stack.enter_async_context(_bare_lifespan(bare_app.app))
            if floor is not None:
                await stack.enter_async_context(floor.lifespan())
            for endpoint in chosen:
                sides = {
                    "API": (application, _request_of(endpoint, token, targets)),
                    "bare": (bare_app.app, _bare_request_of(endpoint, targets)),
                }
                if floor is not None:
                    sides["Litestar floor"] = (floor, _bare_request_of(endpoint, targets))
                await _compare(endpoint, n, sides)


async def _compare(
    endpoint: Endpoint, n: int, sides: dict[str, tuple[Any, Callable[[Any, int], Any]]]
) -> None:
    """Alternate ROUNDS runs of n requests on each side (the API first)."""
    profile_to = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    for app, request in sides.values():
        for i in range(20):  # warm: statements compiled and prepared
            assert await request(app, n * ROUNDS + i) in (200, 201)
    medians: dict[str, list[float]] = {side: [] for side in sides}
    for round_ in range(ROUNDS):
        for side, (app, request) in sides.items():
            samples = []
            for i in range(n):
                if profiler and side == "API":
                    profiler.enable()
                began = time.process_time()
                status = await request(app, round_ * n + i)
                samples.append(time.process_time() - began)
                if profiler and side == "API":
                    profiler.disable()
                assert status in (200, 201), (side, status)
            medians[side].append(statistics.median(samples))
    columns = []
    for side, values in medians.items():
        ratios = sorted(b / a for a, b in zip(values, medians["bare"], strict=True))
        ratio = (
            f" ({statistics.median(ratios):.2f}, {ratios[0]:.2f}-{ratios[-1]:.2f})" if side != "bare" else ""
        )
        columns.append(f"{side} {statistics.median(values) * 1000:6.3f} ms{ratio}")
    print(f"{endpoint.name:<26} " + "  ".join(columns) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    if profiler and profile_to:
        profiler.dump_stats(f"{profile_to}.{endpoint.slug.strip('/')}")


@contextlib.asynccontextmanager
async def _bare_lifespan(bare: Any) -> AsyncIterator[None]:
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(bare({"type": "lifespan"}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await task


def _bare_request_of(endpoint: Endpoint, targets: list[Any]) -> Callable[[Any, int], Any]:
    if endpoint.update:
        return lambda bare, i: _call(
            bare, _scope("PUT", endpoint.slug, "", b"", f"brand={targets[i % len(targets)]}&version=1"), b""
        )
    method = "POST" if endpoint.method == "POST" else "GET"
    scope = _scope(method, endpoint.slug, "", b"")
    return lambda bare, i: _call(bare, scope, b"")


def _request_of(endpoint: Endpoint, token: str, targets: list[Any]) -> Callable[[Any, int], Any]:
    if endpoint.update:
        base = endpoint.path

        def update(application: Any, i: int) -> Any:
            body = msgspec.json.encode(update_body(i, 1))
            return _call(application, _scope("PUT", f"{base}/{targets[i % len(targets)]}", token, body), body)

        return update
    if endpoint.method == "POST":

        def create(application: Any, i: int) -> Any:
            body = msgspec.json.encode({"name": f"Cpu {time.time_ns()}"})
            return _call(application, _scope("POST", endpoint.path, token, body), body)

        return create
    scope = _scope(endpoint.method, endpoint.path, token, b"")
    return lambda application, i: _call(application, scope, b"")


def main() -> None:
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"}
    if "DATABASE_URL" not in os.environ:
        env["EMBEDDED_DB_DIR"] = str(PROJECT_ROOT / ".data" / "bench-postgres")
    settings = get_config(env)
    owner_url = setup.prepare_database(settings.database)
    owner_dsn = libpq_dsn(owner_url)
    env["DATABASE_URL"] = owner_dsn
    try:
        asyncio.run(
            measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200, get_config(env), owner_dsn, owner_url)
        )
    finally:
        if "EMBEDDED_DB_DIR" in env:
            setup.stop_embedded_server(Path(env["EMBEDDED_DB_DIR"]))


if __name__ == "__main__":
    main()
