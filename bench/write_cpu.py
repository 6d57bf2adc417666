"""CPU per write request in the API process, which the machine's load does not move much:
`python -m bench.write_cpu [N]` serves N CreateBrand and N UpdateBrand requests in-process, one at a
time (httpx over ASGI, the bench data of `make bench`), and prints the process CPU time per request
(`time.process_time`: this process only, so PostgreSQL's work and other engineers' load are out).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

import httpx

from app.config import Settings
from bench.data import ensure_data
from bench.run import (
    bench_environment,
    bench_token,
    reset_update_targets,
    stop_bench_database,
    update_body,
    update_targets,
)


async def measure(n: int, settings: Settings, owner_dsn: str) -> None:
    from app.main import create_app

    data = await ensure_data(owner_dsn)
    targets = await update_targets(owner_dsn, data)
    await reset_update_targets(owner_dsn, data, targets)
    token = bench_token(settings, data)
    application = create_app(settings)
    base = f"/api/teams/{data.write_team_id}/brands"
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for name, request in (
                ("CreateBrand", lambda i: client.post(base, json={"name": f"Cpu {time.time_ns()}"})),
                (
                    "UpdateBrand",
                    lambda i: client.put(f"{base}/{targets[i % len(targets)]}", json=update_body(i, 1)),
                ),
            ):
                for i in range(20):  # warm: statements compiled and prepared
                    assert (await request(n + i)).status_code in (200, 201)
                samples = []
                for i in range(n):
                    began = time.process_time()
                    response = await request(i)
                    samples.append(time.process_time() - began)
                    assert response.status_code in (200, 201), response.text
                print(
                    f"{name}: {statistics.median(samples) * 1000:.2f} ms CPU per request (median of {n}), "
                    f"mean {statistics.mean(samples) * 1000:.2f} ms; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )


def main() -> None:
    bench = bench_environment()
    try:
        asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300, bench.settings, bench.owner_dsn))
    finally:
        stop_bench_database(bench.env)


if __name__ == "__main__":
    main()
