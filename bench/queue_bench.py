"""Queue benchmark: enqueue-to-start latency on an idle worker, and no-op jobs per second.

    make bench-queue     # python -m bench.queue_bench; embedded PostgreSQL unless DATABASE_URL

Starts a real worker process, enqueues `noop` jobs the way the app does (in a committed
transaction, woken by pg_notify), and reads SAQ's own timestamps (`queued`, `started`,
`completed`, in ms) back from `saq_jobs`.

The machine is small and shared, so beside the wall-clock numbers it prints two that load
hardly moves: the worker process's CPU time per job (from /proc) and the transactions and
statements PostgreSQL counted per job (`pg_stat_database`, `pg_stat_user_tables`).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from saq.queue.base import Queue
from sqlalchemy.engine import URL

from app.config import Settings, get_config
from app.db import setup
from app.db.engine import SessionMaker, create_engine, create_session_maker, libpq_dsn, tenant_session
from app.queue.config import QUEUE_NAME, build_saq_config
from app.queue.enqueue import enqueue

ROOT = Path(__file__).resolve().parent.parent
LATENCY_SAMPLES = 50
THROUGHPUT_JOBS = 5000
THROUGHPUT_ROUNDS = 3
WORKER_LOG_FORMAT = "json"
"""Production's: one line to stderr per record. Text (development) hands each record to a
listener thread, which on this machine cost a quarter of a no-op job's CPU."""


async def measure(settings: Settings, owner_url: URL, worker: subprocess.Popen[str]) -> None:
    dsn = libpq_dsn(owner_url)
    await asyncio.sleep(1.0)

    engine = create_engine(settings.database.app_url_from(owner_url), pool_size=2)
    session_maker = create_session_maker(engine)
    queue = build_saq_config(settings, owner_url).get_queues().get(QUEUE_NAME)
    conn = await asyncpg.connect(dsn)
    try:
        # Earlier runs' jobs (kept 10 minutes, swept only by a running worker) would make each run
        # measure a bigger table than the last.
        await conn.execute("DELETE FROM saq_jobs WHERE key LIKE 'bench-%'")
        await conn.execute("VACUUM ANALYZE saq_jobs")
        committed_ms: dict[str, float] = {}
        for i in range(LATENCY_SAMPLES):
            async with tenant_session(session_maker, None) as session:
                job = await enqueue(session, queue, "noop", key=f"bench-latency-{time.time_ns()}-{i}")
                assert job is not None
            committed_ms[job.key] = time.time() * 1000
            await asyncio.sleep(0.05)  # one at a time: the worker is idle when each arrives
        latency_keys = list(committed_ms)
        await _wait_complete(conn, latency_keys)
        latency_jobs = await _jobs(conn, latency_keys)
        # `queued` is stamped before the INSERT: the enqueuing transaction's own round trips count.
        waits = [job["started"] - job["queued"] for job in latency_jobs]
        after_commit = [job["started"] - committed_ms[job["key"]] for job in latency_jobs]

        rounds = [
            await _throughput_round(conn, session_maker, queue, worker.pid) for _ in range(THROUGHPUT_ROUNDS)
        ]
    finally:
        await conn.close()
        await engine.dispose()
        worker.terminate()
        worker.wait(timeout=20)

    print(
        f"enqueue -> start on an idle worker ({LATENCY_SAMPLES} jobs): "
        f"median {statistics.median(waits):.1f} ms, p95 {sorted(waits)[int(len(waits) * 0.95) - 1]:.1f} ms, "
        f"max {max(waits):.1f} ms; from its commit: median {statistics.median(after_commit):.1f} ms"
    )
    rates = sorted(round_.jobs_per_second for round_ in rounds)
    print(
        f"{THROUGHPUT_JOBS} no-op jobs enqueued in one transaction, {THROUGHPUT_ROUNDS} rounds: "
        f"{statistics.median(rates):.0f} jobs/s median ({rates[0]:.0f}-{rates[-1]:.0f}) processed by one worker "
        f"(concurrency {settings.queue.concurrency}, {WORKER_LOG_FORMAT} logs)"
    )
    for number, round_ in enumerate(rounds, 1):
        print(
            f"  round {number}: {round_.jobs_per_second:.0f} jobs/s; per job: worker CPU {round_.cpu_ms:.2f} ms, "
            f"{round_.commits:.2f} committed transactions, {round_.row_updates:.2f} saq_jobs row updates "
            "(whole database, the bench's own enqueue and polling included)"
        )
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}")


@dataclass(frozen=True)
class ThroughputRound:
    jobs_per_second: float
    cpu_ms: float
    """The worker process's CPU time per job."""
    commits: float
    row_updates: float


async def _throughput_round(
    conn: asyncpg.Connection, session_maker: SessionMaker, queue: Queue, worker_pid: int
) -> ThroughputRound:
    """THROUGHPUT_JOBS jobs committed at once (a backlog), timed from the commit to the last one done."""
    keys = [f"bench-throughput-{time.time_ns()}-{i}" for i in range(THROUGHPUT_JOBS)]
    await asyncio.sleep(STATS_FLUSH_SECONDS)
    stats_before = await _database_counters(conn)
    cpu_before = _cpu_seconds(worker_pid)
    async with tenant_session(session_maker, None) as session:
        for key in keys:
            await enqueue(session, queue, "noop", key=key)
    enqueued_ms = time.time() * 1000
    await _wait_backlog_done(conn)
    jobs = await _jobs(conn, keys)
    assert len(jobs) == THROUGHPUT_JOBS and all(job["status"] == "complete" for job in jobs)
    # SAQ's own completion stamps: how often the bench polls does not move the figure.
    seconds = (max(job["completed"] for job in jobs) - enqueued_ms) / 1000
    cpu_after = _cpu_seconds(worker_pid)
    await asyncio.sleep(STATS_FLUSH_SECONDS)
    stats_after = await _database_counters(conn)
    per_job = {name: (stats_after[name] - stats_before[name]) / THROUGHPUT_JOBS for name in stats_before}
    return ThroughputRound(
        jobs_per_second=THROUGHPUT_JOBS / seconds,
        cpu_ms=1000 * (cpu_after - cpu_before) / THROUGHPUT_JOBS,
        commits=per_job["xact_commit"],
        row_updates=per_job["n_tup_upd"],
    )


STATS_FLUSH_SECONDS = 1.2
"""PostgreSQL publishes a backend's statistics at most once a second."""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _database_counters(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT d.xact_commit, t.n_tup_upd FROM pg_stat_database d, pg_stat_user_tables t "
        "WHERE d.datname = current_database() AND t.relname = 'saq_jobs'"
    )
    assert row is not None
    return {"xact_commit": row["xact_commit"], "n_tup_upd": row["n_tup_upd"]}


async def _jobs(conn: asyncpg.Connection, keys: list[str]) -> list[dict]:
    rows = await conn.fetch("SELECT job FROM saq_jobs WHERE key = ANY($1)", keys)
    return [json.loads(bytes(row["job"])) for row in rows]


async def _wait_complete(conn: asyncpg.Connection, keys: list[str]) -> None:
    await _wait_for_count(
        conn,
        "SELECT count(*) FROM saq_jobs WHERE key = ANY($1) AND status = 'complete'",
        keys,
        count=len(keys),
    )


async def _wait_backlog_done(conn: asyncpg.Connection) -> None:
    """Until no throughput job is queued or active: a cheap poll (the backlog's index, not 5,000
    keys), so the bench's polling takes little of the two cores the worker and PostgreSQL share."""
    await _wait_for_count(
        conn,
        "SELECT count(*) FROM saq_jobs WHERE status IN ('queued', 'active') AND key LIKE 'bench-throughput-%'",
        count=0,
        every=0.2,
    )


async def _wait_for_count(
    conn: asyncpg.Connection,
    query: str,
    *args: object,
    count: int,
    every: float = 0.05,
    within: float = 300.0,
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await conn.fetchval(query, *args) == count:
            return
        await asyncio.sleep(every)
    raise TimeoutError("jobs did not complete")


def main() -> None:
    settings = get_config()
    owner_url = setup.prepare_database(settings.database)  # runs its own event loop
    env = {
        **os.environ,
        "DATABASE_URL": libpq_dsn(owner_url),
        "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
        "LOG_FORMAT": WORKER_LOG_FORMAT,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    worker.stdout.readline()  # "worker ... processing queue"
    asyncio.run(measure(settings, owner_url, worker))


if __name__ == "__main__":
    main()
