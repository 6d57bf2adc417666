"""`make bench`: the API against a bare ASGI + asyncpg handler sending the same statements.

    make bench                      # embedded PostgreSQL in .data/bench-postgres unless DATABASE_URL
    BENCH_SECONDS=4 BENCH_ROUNDS=5  # per wrk run / A-B rounds per endpoint (the defaults)

1. Generates the data once (`bench.data`: 100 teams, about a million rows, one hot team).
2. Serves every endpoint once in-process with the round-trip probe of `tests.roundtrips`: the
   round trips per request are counted at the driver (warm: statements already prepared), and
   the statements the API sent become the bare handler's plan (`bench.bare_app`).
3. Starts both servers as operators do (`python -m app.cli serve` and Granian on the bare app,
   one worker each, from the runtime-only environment of `bench.runtime_env`) and drives them with wrk, alternating A and B every round so that load
   from elsewhere on the machine hits both alike. `uptime`'s load is recorded with each round.
4. Prints the table and writes `bench/results/<time>.json`, `latest.json` and `latest.png`.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy.engine import URL

from app.config import PROJECT_ROOT, Settings, get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.lib.auth import AccessTokens, build_jwt_auth
from bench.data import BenchData, ensure_data
from bench.runtime_env import runtime_python

RESULTS = PROJECT_ROOT / "bench" / "results"
SECRET = "benchmark-secret-key-benchmark-secret-key"
API_PORT = int(os.environ.get("BENCH_API_PORT", "8201"))
BARE_PORT = int(os.environ.get("BENCH_BARE_PORT", "8202"))
"""Two benches on one machine must not share ports: a second server on the same port took over
the first's connections (or refused them) mid-run."""
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
UPDATE_TARGETS = 4000
"""Brands of the write team that UpdateBrand cycles through, one request each before coming back
(their versions are reset before every wrk run, so the version each request sends is known)."""
ONLY = os.environ.get("BENCH_ONLY", "")
"""Comma-separated parts of endpoint names to run (case-insensitive), e.g. `BENCH_ONLY=create,update`."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    update: bool = False
    """A declarative update of one of the `UPDATE_TARGETS` brands, with the version it has."""

    @property
    def slug(self) -> str:
        return "/" + re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


def endpoints(data: BenchData) -> list[Endpoint]:
    team = f"/api/teams/{data.team_id}"
    return [
        Endpoint("ListBrands (100)", "GET", f"{team}/brands?limit=100"),
        Endpoint("ListBrands (20)", "GET", f"{team}/brands?limit=20"),
        Endpoint("GetBrand", "GET", f"{team}/brands/{data.brand_id}"),
        Endpoint("ListCampaigns (100)", "GET", f"{team}/campaigns?limit=100"),
        Endpoint("ListPosts (100)", "GET", f"{team}/campaigns/{data.campaign_id}/posts?limit=100"),
        Endpoint("ListTeamEvents (100)", "GET", f"{team}/events?limit=100"),
        Endpoint("ListCreators (search, 20)", "GET", f"{team}/creators?q=ab1&limit=20"),
        Endpoint("GetTeamDashboard", "GET", f"{team}/dashboard"),
        Endpoint("CreateBrand", "POST", f"/api/teams/{data.write_team_id}/brands", {"name": "Bench brand"}),
        Endpoint("UpdateBrand", "PUT", f"/api/teams/{data.write_team_id}/brands", {}, update=True),
    ]


# --- 1b. the brands UpdateBrand updates ---------------------------------------------------------


async def update_targets(owner_dsn: str, data: BenchData) -> list[uuid.UUID]:
    """The write team's `UPDATE_TARGETS` brands named `bench-update-*`, made on the first run."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.team_id', $1, true)", str(data.write_team_id))
            mine = "SELECT id FROM brands WHERE team_id = $1 AND (name LIKE 'bench-update-%' OR name LIKE 'Upd %')"
            have = len(await conn.fetch(mine, data.write_team_id))
            await conn.execute(
                "INSERT INTO brands (id, team_id, name, website, description, version, created_at, updated_at) "
                "SELECT u, $1, 'bench-update-' || u, NULL, NULL, 1, now(), now() "
                "FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, $2::int)) AS fresh",
                data.write_team_id,
                max(UPDATE_TARGETS - have, 0),
            )
            rows = await conn.fetch(mine + " ORDER BY id LIMIT $2", data.write_team_id, UPDATE_TARGETS)
        return [row["id"] for row in rows]
    finally:
        await conn.close()


async def reset_update_targets(owner_dsn: str, data: BenchData, ids: list[uuid.UUID]) -> None:
    """Version 1 and the original name again, so a run's n-th request knows its brand's version."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.team_id', $1, true)", str(data.write_team_id))
            await conn.execute(
                "UPDATE brands SET version = 1, name = 'bench-update-' || id, website = NULL, "
                "description = NULL WHERE team_id = $1 AND id = ANY($2::uuid[])",
                data.write_team_id,
                ids,
            )
    finally:
        await conn.close()


async def thread_of(owner_dsn: str, data: BenchData, brand_id: uuid.UUID) -> uuid.UUID:
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.team_id', $1, true)", str(data.write_team_id))
            return await conn.fetchval(
                "SELECT id FROM threads WHERE object_type = 'brand' AND object_id = $1", brand_id
            )
    finally:
        await conn.close()


def update_body(n: int, version: int) -> dict[str, Any]:
    return {
        "name": f"Upd {n}-{time.time_ns()}",
        "website": None,
        "description": "Updated by the benchmark.",
        "version": version,
    }


@dataclass
class Side:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)


@dataclass
class Result:
    endpoint: str
    round_trips_api: int
    round_trips_bare: int
    api: Side = field(default_factory=Side)
    bare: Side = field(default_factory=Side)
    load: list[float] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.api.rps, self.bare.rps, strict=True) if b]


# --- 2. round trips and the bare plan ---------------------------------------------------------


async def record_plans(
    settings: Settings,
    token: str,
    data: BenchData,
    points: list[Endpoint],
    targets: list[uuid.UUID],
    owner_dsn: str,
) -> dict[str, Any]:
    from app.main import create_app
    from tests.roundtrips import RoundTripCounter, RoundTripProbe

    application = create_app(settings)
    plans: dict[str, Any] = {}
    async with application.lifespan():
        counter = RoundTripCounter()
        probe = RoundTripProbe(application.state.engine, counter)
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for point in points:
                for attempt in range(2):  # the second call is warm (statements prepared)
                    counter.reset()
                    path = f"{point.path}/{targets[0]}" if point.update else point.path
                    if point.update:
                        body = update_body(attempt, version=attempt + 1)  # targets were reset to 1
                    elif point.body is not None:
                        body = {"name": f"Bench brand {time.time_ns()}"}
                    else:
                        body = None
                    response = await client.request(point.method, path, json=body)
                    assert response.status_code in (200, 201), (point.name, response.text)
                    if attempt == 1:
                        statements = [
                            (sql, args) for kind, sql, args in counter.entries if kind == "bind_execute"
                        ]
                        plans[point.slug] = {
                            "statements": statements,
                            "write": point.method != "GET",
                            "name": (body or {}).get("name"),
                            "keep": {data.team_id, data.write_team_id, data.user_id},
                            "round_trips": counter.count,
                            "other_calls": [c for c in counter.calls if not c.startswith("bind_execute")],
                            # UpdateBrand: the recorded brand and version, replaced by the request's
                            # and the brand's thread (the message insert names it; the bare handler
                            # takes the one its thread statement returns)
                            "update": {
                                "brand_id": targets[0],
                                "version": 2,
                                "thread_id": await thread_of(owner_dsn, data, targets[0]),
                            }
                            if point.update
                            else None,
                        }
                        if counter.entries and any(kind != "bind_execute" for kind, _, _ in counter.entries):
                            print(f"  {point.name}: also {plans[point.slug]['other_calls']}", flush=True)
        probe.remove()
    return plans


# --- 3. servers and wrk ------------------------------------------------------------------------


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_api(python: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The API as operators serve it, one Granian worker on `API_PORT`."""
    return start(
        [python, "-m", "app.cli", "serve"],
        {**env, "HOST": "127.0.0.1", "PORT": str(API_PORT), "WEB_WORKERS": "1"},
    )


def wait_api_ready(token: str, data: BenchData) -> None:
    """Until the API answers `/health` and an authenticated read of the hot team."""
    wait_ready(f"http://127.0.0.1:{API_PORT}/health")
    wait_ready(
        f"http://127.0.0.1:{API_PORT}/api/teams/{data.team_id}/brands?limit=1",
        {"Authorization": f"Bearer {token}"},
    )


def stop_servers(*processes: subprocess.Popen[bytes]) -> None:
    """Terminate them all, then wait up to 30 s for each before killing it."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def bench_token(settings: Settings, data: BenchData) -> str:
    """An access token for the bench data's user (a member of the hot and the write team)."""
    return AccessTokens(build_jwt_auth(settings.auth), settings.auth.access_token_ttl).issue(
        data.user_id, is_platform_admin=False
    )


def wait_ready(url: str, headers: dict[str, str] | None = None, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {within:.0f} s")


_LUA_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local prefix = tostring(os.time()) .. tostring(math.random(1000000))
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"name": "Bench ' .. prefix .. '-' .. n .. '"}')
end
"""

# Request n (from 0) of a run updates target n % len with the version it has by then: every target
# is back at version 1 when the run starts (`reset_update_targets`), and with thousands of targets
# the request for a brand's next version leaves long after the previous one was answered.
_LUA_PUT = """
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
local ids = {%(ids)s}
local n = 0
local prefix = tostring(os.time()) .. tostring(math.random(1000000))
local api = string.sub(wrk.path, 1, 5) == "/api/"
request = function()
  local i = n %% #ids
  local version = 1 + math.floor(n / #ids)
  n = n + 1
  local path
  if api then
    path = wrk.path .. "/" .. ids[i + 1]
  else
    path = wrk.path .. "?brand=" .. ids[i + 1] .. "&version=" .. version
  end
  local body = '{"name": "Upd ' .. prefix .. '-' .. n .. '", "website": null, '
    .. '"description": "Updated by the benchmark.", "version": ' .. version .. '}'
  return wrk.format(nil, path, nil, body)
end
"""


def wrk(url: str, token: str | None, seconds: int, script: str | None) -> tuple[float, float, float]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}) on {url}:\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if errors:
        print(f"  {url}: {errors.group(1)} responses were not 2xx", flush=True)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert rps and p50 and p99, out
    return float(rps.group(1)), _ms(p50), _ms(p99)


def _ms(match: re.Match[str]) -> float:
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def load_average() -> float:
    return os.getloadavg()[0]


def rss_mb(process: subprocess.Popen[bytes]) -> dict[str, float]:
    parent = psutil.Process(process.pid)
    workers = parent.children(recursive=True)
    return {
        "master": parent.memory_info().rss / 2**20,
        "worker": max((w.memory_info().rss for w in workers), default=0) / 2**20,
    }


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk is missing; installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)


@dataclass(frozen=True)
class BenchEnvironment:
    """What every benchmark runs with: `env` for its processes (production settings, `DATABASE_URL`
    the prepared database's), the owner's URL, and the settings read from `env`."""

    env: dict[str, str]
    owner_url: URL
    settings: Settings

    @property
    def owner_dsn(self) -> str:
        return self.env["DATABASE_URL"]


def bench_environment() -> BenchEnvironment:
    """Prepare the benchmarks' database: their own embedded server in `.data/bench-postgres`
    unless `DATABASE_URL` is set."""
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"}
    if "DATABASE_URL" not in os.environ:
        env["EMBEDDED_DB_DIR"] = str(PROJECT_ROOT / ".data" / "bench-postgres")
    owner_url = setup.prepare_database(get_config(env).database)
    env["DATABASE_URL"] = libpq_dsn(owner_url)
    return BenchEnvironment(env=env, owner_url=owner_url, settings=get_config(env))


def stop_bench_database(env: dict[str, str]) -> None:
    """Stop the embedded server `bench_environment` started, if it did (its data stays for the next run)."""
    if "EMBEDDED_DB_DIR" in env:
        setup.stop_embedded_server(Path(env["EMBEDDED_DB_DIR"]))


def main() -> None:
    began = time.monotonic()
    ensure_wrk()
    bench = bench_environment()
    env, owner_url, owner_dsn, settings = bench.env, bench.owner_url, bench.owner_dsn, bench.settings
    data = asyncio.run(ensure_data(owner_dsn))
    token = bench_token(settings, data)
    points = [
        point
        for point in endpoints(data)
        if not ONLY or any(part.strip().lower() in point.name.lower() for part in ONLY.split(","))
    ]
    targets = asyncio.run(update_targets(owner_dsn, data))
    asyncio.run(reset_update_targets(owner_dsn, data, targets))
    plans = asyncio.run(record_plans(settings, token, data, points, targets, owner_dsn))
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    plan_file, lua, lua_put = workdir / "plan.pickle", workdir / "post.lua", workdir / "put.lua"
    plan_file.write_bytes(pickle.dumps(plans))
    lua.write_text(_LUA_POST)
    lua_put.write_text(_LUA_PUT % {"ids": ", ".join(f'"{target}"' for target in targets)})

    python = runtime_python()  # what the image installs: no test tools importing numpy or pydantic
    api = start_api(python, env)
    bare = start(
        [
            python,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--port",
            str(BARE_PORT),
            "--no-access-log",
            "bench.bare_app:app",
        ],
        {
            **env,
            "BENCH_PLAN": str(plan_file),
            "BENCH_APP_DSN": libpq_dsn(settings.database.app_url_from(owner_url)),
            "BENCH_POOL_SIZE": str(settings.database.pool_size),  # as many connections as the API's pool
        },
    )
    results: list[Result] = []
    try:
        wait_api_ready(token, data)
        wait_ready(f"http://127.0.0.1:{BARE_PORT}/health")
        idle_rss = rss_mb(api)
        for point in points:
            plan = plans[point.slug]
            result = Result(point.name, plan["round_trips"], len(plan["statements"]) + 2)
            script = str(lua_put) if point.update else str(lua) if point.method == "POST" else None
            api_url = f"http://127.0.0.1:{API_PORT}{point.path}"
            bare_url = f"http://127.0.0.1:{BARE_PORT}{point.slug}"

            def run(
                url: str,
                bearer: str | None,
                seconds: int,
                point: Endpoint = point,
                script: str | None = script,
            ) -> tuple[float, float, float]:
                if point.update:
                    # wrk stops with requests in flight; one committing after the reset would
                    # leave its brand a version ahead of what the next run sends (409)
                    time.sleep(2)
                    asyncio.run(reset_update_targets(owner_dsn, data, targets))
                return wrk(url, bearer, seconds, script)

            run(api_url, token, 1)  # warm-up
            run(bare_url, None, 1)
            for round_ in range(ROUNDS):
                result.load.append(load_average())
                order = [("bare", bare_url, None), ("api", api_url, token)]
                for side, url, bearer in order if round_ % 2 == 0 else reversed(order):
                    rps, p50, p99 = run(url, bearer, SECONDS)
                    target = result.api if side == "api" else result.bare
                    target.rps.append(rps)
                    target.p50_ms.append(p50)
                    target.p99_ms.append(p99)
            results.append(result)
            print(_row(result), flush=True)
        loaded_rss = rss_mb(api)
        bare_rss = rss_mb(bare)
    finally:
        stop_servers(api, bare)
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "seconds_per_run": SECONDS,
        "rounds": ROUNDS,
        "connections": CONNECTIONS,
        "cpus": os.cpu_count(),
        "rows": data.rows,
        "rss_mb": {"api_idle": idle_rss, "api_after": loaded_rss, "bare_after": bare_rss},
        "results": [asdict(r) | {"ratios": r.ratios()} for r in results],
        "duration_s": round(time.monotonic() - began),
    }
    _write(report, results)
    stop_bench_database(env)


def _row(r: Result) -> str:
    ratios = r.ratios() or [float("nan")]
    return (
        f"| {r.endpoint} | {statistics.median(r.api.rps):,.0f} | {statistics.median(r.bare.rps):,.0f} | "
        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | "
        f"{statistics.median(r.api.p50_ms):.1f} / {statistics.median(r.bare.p50_ms):.1f} | "
        f"{statistics.median(r.api.p99_ms):.1f} / {statistics.median(r.bare.p99_ms):.1f} | "
        f"{r.round_trips_api} / {r.round_trips_bare} | {min(r.load):.1f}–{max(r.load):.1f} |"
    )


HEADER = (
    "| endpoint | API req/s | bare req/s | ratio median (min–max) | p50 ms API / bare | p99 ms API / bare "
    "| round trips API / bare | load (1 min) |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def _write(report: dict[str, Any], results: list[Result]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = report["when"].replace(":", "").replace("-", "")
    text = json.dumps(report, indent=2, default=str)
    if ONLY:  # a selection is not the table the README carries: its JSON only, named for it
        (RESULTS / f"{stamp}-only-{re.sub(r'[^a-z0-9]+', '-', ONLY.lower())}.json").write_text(text)
        print("\n".join([HEADER, *(_row(r) for r in results)]))
        return
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    rss = report["rss_mb"]
    table = "\n".join([HEADER, *(_row(r) for r in results)])
    summary = (
        f"{table}\n\nRSS: API worker {rss['api_idle']['worker']:.0f} MB idle, {rss['api_after']['worker']:.0f} MB "
        f"after the run; Granian master {rss['api_after']['master']:.0f} MB; bare worker "
        f"{rss['bare_after']['worker']:.0f} MB. {report['rounds']} rounds x {report['seconds_per_run']} s per side, "
        f"wrk -c{report['connections']}, {report['rows']:,} rows, {report['duration_s']} s in all."
    )
    (RESULTS / "latest.md").write_text(summary + "\n")
    print("\n" + summary)
    _chart(results, RESULTS / "latest.png")


def _chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.endpoint for r in results]
    ratios = [r.ratios() or [0.0] for r in results]
    medians = [statistics.median(values) for values in ratios]
    lows = [m - min(values) for m, values in zip(medians, ratios, strict=True)]
    highs = [max(values) - m for m, values in zip(medians, ratios, strict=True)]
    figure, axis = plt.subplots(figsize=(10, 5))
    axis.barh(names, medians, xerr=[lows, highs], color="#4c72b0", capsize=3)
    axis.axvline(0.6, color="#c44e52", linestyle="--", label="reads goal 0.6x")
    axis.set_xlabel("API req/s / bare handler req/s (median, min-max over rounds)")
    axis.invert_yaxis()
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
