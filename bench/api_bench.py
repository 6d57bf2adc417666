"""API benchmark: ListBrands (a page of 100 rows) against a bare ASGI + asyncpg handler doing
the same SQL under the same role and tenant settings (`bench/bare_app.py`).

    make bench-api      # needs `wrk` (apt-get install wrk); embedded PostgreSQL unless DATABASE_URL

Both servers run under Granian with one worker; wrk drives each for 10 s with 32 connections.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from app.config import get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.lib.auth import AccessTokens, build_jwt_auth

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-key-benchmark-secret-key"
API_PORT, BARE_PORT = 8201, 8202


async def seed(owner_dsn: str) -> tuple[uuid.UUID, uuid.UUID]:
    user_id, team_id = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, created_at, updated_at) "
                "VALUES ($1, $2, 'Bench', 'x', true, false, now(), now())",
                user_id,
                f"bench-{user_id}@example.com",
            )
            await conn.execute(
                "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, 'Bench', 1, now(), now())",
                team_id,
            )
            await conn.execute(
                "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
                "VALUES (gen_random_uuid(), $1, $2, 'owner', now(), now())",
                team_id,
                user_id,
            )
            await conn.executemany(
                "INSERT INTO brands (id, team_id, name, website, description, version, created_at, updated_at) "
                "VALUES (gen_random_uuid(), $1, $2, 'https://example.com', 'A brand used by the benchmark.', 1, now(), now())",
                [(team_id, f"Brand {i:03d}") for i in range(100)],
            )
    finally:
        await conn.close()
    return user_id, team_id


def wait_ready(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, headers=headers, timeout=2)
            if response.status_code == 200 and len(response.json()["items"]) == 100:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer with 100 items")


def run_wrk(url: str, token: str | None) -> float:
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    subprocess.run(["wrk", "-t1", "-c32", "-d3s", *header, url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(
        ["wrk", "-t1", "-c32", "-d10s", "--latency", *header, url], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    settings = get_config({**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET})
    owner_url = setup.prepare_database(settings.database)
    owner_dsn = libpq_dsn(owner_url)
    app_dsn = libpq_dsn(settings.database.app_url_from(owner_url))
    user_id, team_id = asyncio.run(seed(owner_dsn))
    token = AccessTokens(build_jwt_auth(settings.auth), settings.auth.access_token_ttl).issue(
        user_id, is_platform_admin=False
    )
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": owner_dsn,
        "LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--port",
            str(API_PORT),
            "--no-access-log",
            "app.main:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--port",
            str(BARE_PORT),
            "bench.bare_app:app",
        ],
        cwd=ROOT,
        env={**env, "BENCH_APP_DSN": app_dsn, "BENCH_TEAM_ID": str(team_id), "BENCH_USER_ID": str(user_id)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        api_url = f"http://127.0.0.1:{API_PORT}/api/teams/{team_id}/brands?limit=100"
        bare_url = f"http://127.0.0.1:{BARE_PORT}/"
        wait_ready(api_url, {"Authorization": f"Bearer {token}"})
        wait_ready(bare_url, {})
        bare_rps = run_wrk(bare_url, None)
        api_rps = run_wrk(api_url, token)
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=20)
    print(f"bare ASGI + asyncpg, same SQL: {bare_rps:8.0f} req/s")
    print(
        f"ListBrands (100 rows):         {api_rps:8.0f} req/s  = {api_rps / bare_rps:.2f} x the bare handler"
    )


if __name__ == "__main__":
    main()
