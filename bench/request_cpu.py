"""CPU per read request in-process, which the machine's load does not move much:
`python -m bench.request_cpu [N]` calls the application's ASGI callable directly (no client, no
server: the scope, receive and send are the minimum ASGI asks for) N times per read endpoint of
`make bench`, one request at a time, on the bench data, alternating with the bare handler
(`bench.bare_app`, the same recorded statements) in the same process for `BENCH_ROUNDS` rounds,
and prints the process CPU time per request (`time.process_time`: this process only, so
PostgreSQL's work and other engineers' load are out) and the ratio. `BENCH_FLOOR=1` adds
Litestar's own floor (`bench.litestar_floor_app`); `BENCH_ONLY` picks endpoints as in
`bench.run`; `BENCH_PROFILE=<file>` writes a cProfile of the API's measured requests. Writes are
`bench.write_cpu`'s.
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
from typing import Any
from urllib.parse import urlsplit

from app.db.engine import libpq_dsn
from bench.data import ensure_data
from bench.run import (
    ONLY,
    ROUNDS,
    BenchEnvironment,
    Endpoint,
    bench_environment,
    bench_token,
    endpoints,
    record_plans,
    stop_bench_database,
    update_targets,
)


def _scope(target: str, token: str) -> dict[str, Any]:
    url = urlsplit(target)
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }


async def _call(application: Any, scope: dict[str, Any]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await application(dict(scope), receive, send)
    return status


async def measure(n: int, bench: BenchEnvironment) -> None:
    from app.main import create_app

    settings, owner_dsn = bench.settings, bench.owner_dsn
    data = await ensure_data(owner_dsn)
    targets = await update_targets(owner_dsn, data)  # record_plans takes them (for UpdateBrand)
    token = bench_token(settings, data)
    chosen = [
        e
        for e in endpoints(data)
        if e.method == "GET"
        and (not ONLY or any(p.strip() in e.name.lower() for p in ONLY.lower().split(",")))
    ]
    plans = await record_plans(settings, token, data, chosen, targets, owner_dsn)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as plan_file:
        plan_file.write(pickle.dumps(plans))
        plan_file.flush()
        os.environ["BENCH_PLAN"] = plan_file.name
        os.environ["BENCH_APP_DSN"] = libpq_dsn(settings.database.app_url_from(bench.owner_url))
        os.environ["BENCH_POOL_SIZE"] = str(settings.database.pool_size)
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
                    "API": (application, _request_of(endpoint, token)),
                    "bare": (bare_app.app, _bare_request_of(endpoint)),
                }
                if floor is not None:
                    sides["Litestar floor"] = (floor, _bare_request_of(endpoint))
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


def _bare_request_of(endpoint: Endpoint) -> Callable[[Any, int], Any]:
    scope = _scope(endpoint.slug, "")
    return lambda bare, i: _call(bare, scope)


def _request_of(endpoint: Endpoint, token: str) -> Callable[[Any, int], Any]:
    scope = _scope(endpoint.path, token)
    return lambda application, i: _call(application, scope)


def main() -> None:
    bench = bench_environment()
    try:
        asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200, bench))
    finally:
        stop_bench_database(bench.env)


if __name__ == "__main__":
    main()
