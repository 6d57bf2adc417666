"""WebSocket benchmark: 1,000 sockets on one API instance subscribed to one thread; post 200
messages and measure delivery latency from commit to receipt, and the API's RSS.

    make bench-ws     # python -m bench.ws_bench; embedded PostgreSQL unless DATABASE_URL

The API runs as a real Granian process (one worker), from the runtime-only environment
(`bench.runtime_env`), so its memory is what a deployment's would be. The writer commits each message in this
process through the app's own service (so the commit time is known exactly) at a steady pace;
the sockets are `websockets` clients in `BENCH_CLIENT_PROCESSES` separate processes, so their
parsing does not delay the writer's clock, but on a small machine their CPU still competes
with the API's. Latency = receipt - commit on CLOCK_MONOTONIC, which all processes share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from socket import create_connection
from uuid import UUID

import asyncpg
import httpx
import msgspec
from uuid_utils.compat import uuid7
from websockets.asyncio.client import ClientConnection, connect

from app.config import get_config
from app.db import setup
from app.db.engine import create_engine, create_session_maker, libpq_dsn
from app.db.tenancy import TenantContext, tenant_info
from app.lib.auth import AccessTokens, build_jwt_auth
from app.lib.deps import TeamAccess
from app.lib.roles import TeamRole
from app.threads.schemas import ThreadMessageCreate
from app.threads.services import ThreadService
from bench.runtime_env import runtime_python

ROOT = Path(__file__).resolve().parent.parent
SOCKETS = int(os.environ.get("BENCH_SOCKETS", "1000"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "200"))
INTERVAL = float(os.environ.get("BENCH_INTERVAL_SECONDS", "0.1"))
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "4"))


class _Frame(msgspec.Struct):
    type: str


class _Message(msgspec.Struct):
    id: UUID


class _MessageFrame(msgspec.Struct):
    type: str
    message: _Message


class _Rss(msgspec.Struct, frozen=True):
    """Resident memory of Granian's main process and of its worker (the one serving sockets), KiB."""

    main: int
    worker: int

    def peak(self, other: _Rss) -> _Rss:
        return _Rss(max(self.main, other.main), max(self.worker, other.worker))

    def describe(self) -> str:
        return f"worker {self.worker / 1024:.0f} MB (+ Granian's main process {self.main / 1024:.0f} MB)"


def _vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _rss(pid: int) -> _Rss:
    """RSS of Granian's main process `pid` and of its one worker."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _Rss(main=_vm_rss_kib(pid), worker=sum(_vm_rss_kib(int(child)) for child in children))


async def _seed(owner_dsn: str) -> tuple[UUID, UUID, UUID]:
    team_id, user_id, brand_id = uuid7(), uuid7(), uuid7()
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.team_id', $1, true)", str(team_id))
            await conn.execute(
                "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, created_at, "
                "updated_at) VALUES ($1, $2, 'Bench', 'x', true, false, now(), now())",
                user_id,
                f"bench-{user_id}@example.com",
            )
            await conn.execute(
                "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, 'Bench', 1, now(), now())",
                team_id,
            )
            await conn.execute(
                "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
                "VALUES ($1, $2, $3, 'owner', now(), now())",
                uuid7(),
                team_id,
                user_id,
            )
            await conn.execute(
                "INSERT INTO brands (id, team_id, name, version, created_at, updated_at) "
                "VALUES ($1, $2, $3, 1, now(), now())",
                brand_id,
                team_id,
                f"Bench brand {brand_id}",
            )
    finally:
        await conn.close()
    return team_id, user_id, brand_id


async def _open(url: str, token: str, topic: str) -> ClientConnection:
    socket = await connect(url, max_queue=None)
    await socket.send(msgspec.json.encode({"type": "auth", "token": token}).decode())
    while msgspec.json.decode(await socket.recv(), type=_Frame).type != "ready":
        pass
    await socket.send(msgspec.json.encode({"type": "subscribe", "topic": topic}).decode())
    while (frame := msgspec.json.decode(await socket.recv(), type=_Frame)).type != "subscribed":
        if frame.type == "error":
            raise RuntimeError("subscription refused")
    return socket


async def _receive(socket: ClientConnection, receipts: dict[UUID, list[float]], expected: int) -> None:
    got = 0
    while got < expected:
        raw = await socket.recv()
        now = time.perf_counter()
        frame = msgspec.json.decode(raw, type=_MessageFrame)
        if frame.type == "message":
            receipts.setdefault(frame.message.id, []).append(now)
            got += 1


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def clients(url: str, token: str, topic: str, count: int, expected: int) -> None:
    """One client process: open `count` sockets, say `ready`, record every receipt, print them."""
    sockets: list[ClientConnection] = []
    for start in range(0, count, 25):
        sockets += await asyncio.gather(*[_open(url, token, topic) for _ in range(min(25, count - start))])
    receipts: dict[UUID, list[float]] = {}
    readers = [asyncio.create_task(_receive(socket, receipts, expected)) for socket in sockets]
    print("ready", flush=True)
    await asyncio.wait_for(asyncio.gather(*readers), timeout=600)
    for socket in sockets:
        await socket.close()
    sys.stdout.write(json.dumps({str(key): value for key, value in receipts.items()}) + "\n")
    sys.stdout.flush()


async def run(port: int, api: subprocess.Popen[str], owner_url) -> tuple[_Rss, _Rss]:
    settings = get_config()
    team_id, user_id, brand_id = await _seed(libpq_dsn(owner_url))
    tokens = AccessTokens(build_jwt_auth(settings.auth), settings.auth.access_token_ttl)
    token = tokens.issue(user_id, is_platform_admin=False)
    topic = f"thread:{team_id}:brand:{brand_id}"
    url = f"ws://127.0.0.1:{port}/api/ws"
    rss_idle = _rss(api.pid)
    load = os.getloadavg()

    began = time.perf_counter()
    per_process = [
        SOCKETS // CLIENT_PROCESSES + (1 if i < SOCKETS % CLIENT_PROCESSES else 0)
        for i in range(CLIENT_PROCESSES)
    ]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.ws_bench",
            "--clients",
            url,
            token,
            topic,
            str(count),
            str(MESSAGES),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for count in per_process
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), timeout=600)
        assert line.strip() == b"ready", line
    connected = time.perf_counter() - began
    rss_connected = _rss(api.pid)

    engine = create_engine(settings.database.app_url_from(owner_url), pool_size=2)
    session_maker = create_session_maker(engine)
    access = TeamAccess(team_id=team_id, user_id=user_id, role=TeamRole.OWNER)
    context = TenantContext(user_id=user_id, team_id=team_id)
    committed: dict[str, float] = {}
    rss_peak = rss_connected
    for index in range(MESSAGES):
        async with session_maker(info=tenant_info(context)) as session:
            message = await ThreadService(session=session).post_message(
                access, "brand", brand_id, ThreadMessageCreate(body=f"bench message {index}")
            )
            await session.commit()
            committed[str(message.id)] = time.perf_counter()
        if index % 20 == 0:
            rss_peak = rss_peak.peak(_rss(api.pid))
        await asyncio.sleep(INTERVAL)
    outputs: list[bytes] = []
    for worker in workers:
        assert worker.stdout is not None
        outputs.append(await asyncio.wait_for(worker.stdout.read(), timeout=600))
        await worker.wait()
    rss_peak = rss_peak.peak(_rss(api.pid))
    await engine.dispose()

    receipts: dict[str, list[float]] = {}
    for output in outputs:
        for key, values in json.loads(output).items():
            receipts.setdefault(key, []).extend(values)
    latencies = [(received - committed[key]) * 1000 for key, times in receipts.items() for received in times]
    firsts = [(min(times) - committed[key]) * 1000 for key, times in receipts.items()]
    lasts = [(max(times) - committed[key]) * 1000 for key, times in receipts.items()]
    print(
        f"load average before: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (shared 2-core machine: noisy)"
    )
    print(
        f"{SOCKETS} sockets in {CLIENT_PROCESSES} client processes connected, authenticated and subscribed in {connected:.1f} s"
    )
    print(
        f"{MESSAGES} messages x {SOCKETS} sockets = {len(latencies)} deliveries "
        f"(expected {MESSAGES * SOCKETS}), one message every {INTERVAL * 1000:.0f} ms"
    )
    print(
        f"commit -> receipt: p50 {statistics.median(latencies):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms; first socket p50 {statistics.median(firsts):.1f} ms, "
        f"last socket p50 {statistics.median(lasts):.1f} ms"
    )
    print(f"API RSS idle: {rss_idle.describe()}")
    print(f"API RSS with {SOCKETS} sockets: {rss_connected.describe()}")
    print(f"API RSS peak: {rss_peak.describe()}")
    return rss_idle, rss_connected


def _port_is_free(port: int) -> bool:
    # Granian binds with SO_REUSEPORT: a leftover server on the port would silently take half
    # the connections (and the RSS would be measured on the wrong process).
    try:
        create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


@contextlib.contextmanager
def _granian(target: str, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """One Granian worker serving `target` from the runtime environment, up once it answers HTTP."""
    if not _port_is_free(port):
        raise SystemExit(f"port {port} is in use (a leftover server?): stop it or set BENCH_PORT")
    server = subprocess.Popen(
        [
            runtime_python(),
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--port",
            str(port),
            "--workers",
            "1",
            target,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{target} did not start")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)


async def floor(port: int, server: subprocess.Popen[str]) -> tuple[_Rss, _Rss]:
    """RSS of the no-op app's worker idle and with `SOCKETS` open sockets."""
    idle = _rss(server.pid)
    sockets: list[ClientConnection] = []
    for start in range(0, SOCKETS, 25):
        sockets += await asyncio.gather(
            *[connect(f"ws://127.0.0.1:{port}/ws") for _ in range(min(25, SOCKETS - start))]
        )
    await asyncio.sleep(1)  # the server's side of the last handshakes
    connected = _rss(server.pid)
    await asyncio.gather(*[socket.close() for socket in sockets])
    return idle, connected


def main() -> None:
    settings = get_config()
    owner_url = setup.prepare_database(settings.database)
    port = int(os.environ.get("BENCH_PORT", "8765"))
    env = {
        **os.environ,
        "DATABASE_URL": libpq_dsn(owner_url),
        "APP_ENV": os.environ.get("APP_ENV", "test"),
        "LOG_LEVEL": "WARNING",
    }
    with _granian("app.main:app", port, env) as api:
        api_idle, api_connected = asyncio.run(run(port, api, owner_url))
    with _granian("bench.ws_floor_app:app", port, env) as server:
        floor_idle, floor_connected = asyncio.run(floor(port, server))
    per_socket = (floor_connected.worker - floor_idle.worker) / SOCKETS
    ours = ((api_connected.worker - api_idle.worker) - (floor_connected.worker - floor_idle.worker)) / SOCKETS
    print(
        f"Granian's floor (a no-op ASGI app, the same {SOCKETS} sockets): worker "
        f"{floor_idle.worker / 1024:.0f} MB idle -> {floor_connected.worker / 1024:.0f} MB, "
        f"{per_socket:.0f} KiB per socket in the server; the API adds {ours:.0f} KiB per socket over it"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--clients"]:
        url, token, topic, count, expected = sys.argv[2:7]
        asyncio.run(clients(url, token, topic, int(count), int(expected)))
    else:
        main()
