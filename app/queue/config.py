"""The litestar-saq configuration: one PostgreSQL-backed queue in the application's database.

A domain with background work adds a `tasks.py` and one import line below.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar_saq import CronJob, QueueConfig, SAQConfig, SAQPlugin
from litestar_saq.base import Worker
from prometheus_client import start_http_server
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from saq.types import Context, PartialTimersDict
from sqlalchemy.engine import URL

import app.actions.tasks
import app.mail.tasks
import app.media.tasks
import app.notifications.tasks
import app.system.tasks
import app.users.tasks  # noqa: F401  (each domain's tasks register themselves on import)
from app.config import Settings
from app.db.engine import create_app_engine, create_engine, create_session_maker, libpq_dsn
from app.lib.logs import current_request_id
from app.lib.observability import record_job
from app.mail.sender import Mailer
from app.queue.backend import ApplicationQueue, ProbeWhenSuspect
from app.queue.deps import QUEUE_NAME
from app.queue.enqueue import REQUEST_ID_META
from app.queue.job_ui import job_ui_guard, redirect_bare_job_ui_path
from app.queue.registry import RESOURCES_KEY, WorkerResources, scheduled_specs, task_specs

logger = logging.getLogger(__name__)
_REQUEST_ID_TOKEN = "campaign_platform_request_id_token"


async def plan_by_index(conn: AsyncConnection[TupleRow]) -> None:
    """The queue's connections plan with the indexes even when saq_jobs' statistics say it is tiny.

    A queue table swings from empty to a backlog in a moment, long before autovacuum analyzes it
    again. Planned from empty-table statistics, the claim joined its locked jobs back to the table
    by a sequential scan; prepared, that plan stayed: claims took 4.8 ms instead of 1.1 ms (median,
    5,000 jobs) until the next ANALYZE. Every statement the queue sends has an index to use
    (status/queue, the key), so the planner is told not to choose a sequential scan where one does.
    """
    await conn.execute("SET enable_seqscan = off")


def build_queue(app_url: URL, *, max_connections: int, name: str = QUEUE_NAME) -> ApplicationQueue:
    probe = ProbeWhenSuspect()
    pool: AsyncConnectionPool[AsyncConnection[TupleRow]] = AsyncConnectionPool(
        libpq_dsn(app_url),
        check=probe.check,
        reset=probe.reset,
        configure=plan_by_index,
        open=False,
        kwargs={"autocommit": True, "application_name": "campaign-platform-queue"},
    )
    return ApplicationQueue(pool, name=name, min_size=1, max_size=max_connections, manage_pool_lifecycle=True)


def cron_jobs(settings: Settings) -> list[CronJob]:
    jobs = []
    for spec in scheduled_specs().values():
        cron = spec.cron(settings) if callable(spec.cron) else spec.cron
        jobs.append(
            CronJob(spec.function, cron=cron, timeout=spec.timeout, retries=spec.retries, unique=True)
        )
    return jobs


def worker_lifecycle(settings: Settings, owner_url: URL) -> tuple[Any, Any]:
    """Startup/shutdown hooks that give tasks their sessions (app role and system role) and mailer."""

    async def startup(ctx: Context) -> None:
        # Jobs write through the same services as requests: their events get system messages,
        # notifications and live frames too (the listeners register with app.events).
        from app.realtime.lifecycle import install_listeners

        install_listeners()
        start_worker_metrics(settings)
        engine = create_app_engine(settings.database, owner_url, pool_size=settings.queue.concurrency)
        system_engine = create_engine(settings.database.system_url_from(owner_url), pool_size=1)
        ctx[RESOURCES_KEY] = WorkerResources(  # pyright: ignore[reportGeneralTypeIssues]
            settings=settings,
            session_maker=create_session_maker(engine),
            system_session_maker=create_session_maker(system_engine),
            mailer=Mailer(settings.mail),
        )
        ctx["campaign_platform_engines"] = (engine, system_engine)  # pyright: ignore[reportGeneralTypeIssues]

    async def shutdown(ctx: Context) -> None:
        for engine in ctx.get("campaign_platform_engines", ()):  # pyright: ignore[reportArgumentType]
            await engine.dispose()

    return startup, shutdown


async def carry_request_id(ctx: Context) -> None:
    """`before_process`: the job's log lines carry the id of the request that enqueued it."""
    job = ctx.get("job")
    request_id = job.meta.get(REQUEST_ID_META) if job is not None else None
    ctx[_REQUEST_ID_TOKEN] = current_request_id.set(request_id if isinstance(request_id, str) else None)  # pyright: ignore[reportGeneralTypeIssues]


async def finish_job_observation(ctx: Context) -> None:
    """`after_process`: record the attempt's metrics, then forget its request id."""
    record_job(ctx)
    token = ctx.pop(_REQUEST_ID_TOKEN, None)  # pyright: ignore[reportCallIssue, reportArgumentType]
    if token is not None:
        current_request_id.reset(token)  # pyright: ignore[reportArgumentType]


class MetricsPortUnavailableError(Exception):
    """`WORKER_METRICS_PORT` cannot be bound; the message is the one line an operator sees."""


def start_worker_metrics(settings: Settings) -> None:
    """The worker's job metrics on their own port (the API's /metrics is another process)."""
    port = settings.edge.worker_metrics_port
    if port is None:
        return
    host = settings.edge.worker_metrics_host
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise MetricsPortUnavailableError(
            f"cannot serve worker metrics on {host}:{port}: {exc.strerror or exc} "
            "(another worker running there? stop it or set WORKER_METRICS_PORT)"
        ) from None
    logger.info("worker metrics on http://%s:%s/metrics", host, port)


def build_saq_config(settings: Settings, owner_url: URL) -> SAQConfig:
    queue = build_queue(
        settings.database.app_url_from(owner_url), max_connections=settings.queue.concurrency + 2
    )
    startup, shutdown = worker_lifecycle(settings, owner_url)
    queue_config = QueueConfig(
        broker_instance=queue.pool,
        name=QUEUE_NAME,
        tasks=[spec.function for spec in task_specs().values()],  # pyright: ignore[reportArgumentType]
        scheduled_tasks=cron_jobs(settings),
        startup=startup,
        shutdown=shutdown,
        before_process=carry_request_id,
        after_process=finish_job_observation,
        concurrency=settings.queue.concurrency,
        timers=PartialTimersDict(sweep=settings.queue.sweep_seconds, schedule=1, abort=1),  # pyright: ignore[reportCallIssue]
        separate_process=True,
        shutdown_grace_period_s=settings.queue.shutdown_grace_seconds,
    )
    return SAQConfig(
        queue_configs=[queue_config],
        queue_instances={QUEUE_NAME: queue},
        web_enabled=True,
        web_path="/saq",
        web_guards=[job_ui_guard],
        use_server_lifespan=False,
    )


class WorkersRunElsewhere(InitPluginProtocol):
    """Strips litestar-saq's in-process worker hooks from the API: workers always run as their
    own process (`make dev-worker` / `litestar workers run`); the API enqueues and serves /saq.
    Also sends `/saq` to `/saq/` (the UI's client-side router shows "404" at the bare path).
    Register it after `SAQPlugin` (whose exact type `litestar workers run` looks up)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        def in_process_worker_hook(hook: object) -> bool:
            return isinstance(getattr(hook, "__self__", None), Worker)

        app_config.on_startup = [hook for hook in app_config.on_startup if not in_process_worker_hook(hook)]
        app_config.on_shutdown = [hook for hook in app_config.on_shutdown if not in_process_worker_hook(hook)]
        for handler in app_config.route_handlers:
            if (
                isinstance(handler, type)
                and issubclass(handler, Controller)
                and handler.__name__ == "SAQController"
            ):
                handler.before_request = redirect_bare_job_ui_path  # pyright: ignore[reportAttributeAccessIssue]
        return app_config


def queue_plugins(config: SAQConfig) -> list[InitPluginProtocol]:
    return [SAQPlugin(config), WorkersRunElsewhere()]
