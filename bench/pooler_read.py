"""What transaction pooling costs a simple read: `python -m bench.pooler_read` (about a minute).

One read as a request makes it: a transaction as the application role with a tenant context,
a page of 20 brands through the fast read path (`app.db.reads`), commit. Timed three ways, one
client at a time so the numbers are latency, not throughput:

- `direct`: the engine as today (asyncpg keeps its prepared statements);
- `direct, pooler settings`: the same server with `DATABASE_POOLER=transaction`'s engine (no
  statement cache: every statement is parsed again), to separate that cost from PgBouncer's hop;
- `pgbouncer`: through Debian's PgBouncer in transaction mode, with those settings.

Needs `pgbouncer` (`apt-get install pgbouncer`); runs its own embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import URL

from app.brands.models import Brand
from app.config import get_config
from app.db import setup
from app.db.embedded_user import EMBEDDED_OS_USER
from app.db.engine import create_engine, create_session_maker, libpq_dsn, tenant_session
from app.db.reads import fetch_records
from app.db.tenancy import TenantContext

READS = 2000
WARM_UP = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_pgbouncer(server_url: URL, app_user: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(binary, os.X_OK):
        sys.exit("pgbouncer is not installed (apt-get install pgbouncer)")
    port = _free_port()
    directory.mkdir(parents=True, exist_ok=True)
    host = server_url.host or str(server_url.query.get("host", ""))
    (directory / "users.txt").write_text(f'"{app_user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={server_url.port or 5432}\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\n"
        f"auth_file = {directory / 'users.txt'}\npool_mode = transaction\ndefault_pool_size = 4\n"
        f"server_reset_query =\nlogfile = {directory / 'pgbouncer.log'}\n"
    )
    directory.chmod(0o755)
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", EMBEDDED_OS_USER]
        shutil.chown(directory, user=EMBEDDED_OS_USER)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    process.kill()
    sys.exit("pgbouncer did not start")


async def _time_reads(url: URL, *, transaction_pooler: bool, team_id: uuid.UUID) -> list[float]:
    engine = create_engine(url, pool_size=1, transaction_pooler=transaction_pooler)
    sessions = create_session_maker(engine)
    statement = select(Brand.id, Brand.name).where(Brand.team_id == team_id).order_by(Brand.name).limit(20)
    context = TenantContext(team_id=team_id)
    timings: list[float] = []
    try:
        for index in range(WARM_UP + READS):
            started = time.perf_counter()
            async with tenant_session(sessions, context) as session:
                _, rows = await fetch_records(session, statement)
            if index >= WARM_UP:
                timings.append(time.perf_counter() - started)
            assert len(rows) == 20
    finally:
        await engine.dispose()
    return timings


async def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="cp-bench-pooler-"))
    server_url = setup.start_embedded_server(directory / "data", keep_running=False)
    owner_url = await setup.ensure_database(server_url, "bench_pooler")
    settings = get_config({"DATABASE_URL": owner_url.render_as_string(hide_password=False)}).database
    await setup.ensure_roles(owner_url, settings)
    from alembic import command

    config = setup.alembic_config(owner_url, settings)
    config.attributes["skip_logging_setup"] = True
    command.upgrade(config, "head")
    owner = await asyncpg.connect(libpq_dsn(owner_url))
    team_id = uuid.uuid4()
    await owner.execute(
        "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, $2, 1, now(), now())",
        team_id,
        "Bench",
    )
    await owner.executemany(
        "INSERT INTO brands (id, team_id, name, version, created_at, updated_at) VALUES ($1, $2, $3, 1, now(), now())",
        [(uuid.uuid4(), team_id, f"Brand {i:03}") for i in range(50)],
    )
    await owner.close()
    bouncer, port = _start_pgbouncer(server_url, settings.app_user, directory / "pgbouncer")
    app_url = settings.app_url_from(owner_url)
    pooled_url = app_url.set(host="127.0.0.1", port=port, query={})
    try:
        results = {
            "direct": await _time_reads(app_url, transaction_pooler=False, team_id=team_id),
            "direct, pooler settings": await _time_reads(app_url, transaction_pooler=True, team_id=team_id),
            "pgbouncer": await _time_reads(pooled_url, transaction_pooler=True, team_id=team_id),
        }
    finally:
        bouncer.terminate()
        bouncer.wait()
    load = os.getloadavg()
    print(f"{READS} reads each, one client; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    base = statistics.median(results["direct"])
    for name, timings in results.items():
        ordered = sorted(timings)
        median = statistics.median(ordered)
        p99 = ordered[int(len(ordered) * 0.99)]
        print(
            f"{name:26} median {median * 1000:6.3f} ms  p99 {p99 * 1000:6.3f} ms  ({median / base:.2f}x direct)"
        )


if __name__ == "__main__":
    asyncio.run(main())
