"""Prometheus metrics: the API's `/metrics` and the worker's own metrics port.

Requests are counted and timed by `RequestMetrics` (by route template and status), the metrics
of Litestar's Prometheus middleware at a fraction of its cost per request.
At scrape time `/metrics` also reads the database pool and the queue's depth, so those are
always current and need no background loop. Jobs run in the worker, a separate process (often a
separate container): it serves its own metrics on `WORKER_METRICS_PORT` rather than sharing a
multiprocess directory with the API, which only works on one host.
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING, Any

from litestar import Controller, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from saq.types import Context

    from app.config import Settings

METRICS_PREFIX = "campaign_platform"

DB_POOL_CONNECTIONS = Gauge(
    f"{METRICS_PREFIX}_db_pool_connections",
    "Connections of this API process's database pool, by state.",
    ["state"],
)
DB_POOL_SIZE = Gauge(f"{METRICS_PREFIX}_db_pool_size", "Configured size of this process's database pool.")
QUEUE_JOBS = Gauge(
    f"{METRICS_PREFIX}_queue_jobs", "Jobs in the queue's table, by status.", ["queue", "status"]
)
QUEUE_WORKERS = Gauge(
    f"{METRICS_PREFIX}_queue_workers", "Workers with a recent heartbeat on the queue.", ["queue"]
)
JOBS = Counter(f"{METRICS_PREFIX}_jobs", "Jobs a worker finished, by task and outcome.", ["task", "outcome"])
JOB_FAILURES = Counter(f"{METRICS_PREFIX}_job_failures", "Job attempts that raised, by task.", ["task"])
JOB_DURATION = Histogram(
    f"{METRICS_PREFIX}_job_duration_seconds",
    "How long a job attempt ran, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

_QUEUE_DEPTH = text("SELECT status, count(*) FROM saq_jobs WHERE queue = :queue GROUP BY status")
LIVE_WORKERS = text(
    "SELECT count(*) FROM saq_stats WHERE queue_key = :queue "
    "AND expire_at >= EXTRACT(EPOCH FROM now()) - :grace"
)
"""SAQ rewrites its row every 10 s with an expiry 11 s ahead; `grace` tolerates missed beats."""
HEARTBEAT_GRACE_SECONDS = 30


APP_NAME = "campaign-platform"
_REQUEST_LABELS = ["method", "path", "status_code", "app_name"]
"""Litestar's Prometheus middleware's names, labels and help texts, which dashboards know."""
REQUESTS = Counter(f"{METRICS_PREFIX}_requests_total", "Total requests", _REQUEST_LABELS)
REQUEST_ERRORS = Counter(
    f"{METRICS_PREFIX}_requests_error_total", "Total errors in requests", _REQUEST_LABELS
)
REQUEST_DURATION = Histogram(
    f"{METRICS_PREFIX}_request_duration_seconds", "Request duration, in seconds", _REQUEST_LABELS
)
REQUESTS_IN_PROGRESS = Gauge(
    f"{METRICS_PREFIX}_requests_in_progress",
    "Total requests currently in progress",
    _REQUEST_LABELS,
    multiprocess_mode="livesum",
)
UNMEASURED_PATHS = frozenset({"/metrics"})


class RequestMetrics:
    """Counts and times every routed HTTP request by method, route template and status.

    A Litestar middleware (it runs after routing, so the route template is known and an unknown
    path cannot mint a series). Litestar's own Prometheus middleware builds a `Request`, parses
    the URL and looks up four labelled series per request; this one keeps each series it has
    used, so a request costs two dictionary lookups. A request that raises counts with the
    status its exception will answer (its `status_code`: HTTP and domain errors; else 500).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._finished: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._in_progress: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMEASURED_PATHS:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        template: str = scope.get("path_template") or scope["path"]
        in_progress = self._in_progress.get((method, template))
        if in_progress is None:
            in_progress = REQUESTS_IN_PROGRESS.labels(method, template, 200, APP_NAME)
            self._in_progress[(method, template)] = in_progress
        status = 200

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException as exc:
            # Raised by a middleware inside this one (the decoding boundary's 4xx, say): the
            # application's exception handlers answer with the error's own status.
            code = getattr(exc, "status_code", None)
            status = code if isinstance(code, int) else 500
            raise
        finally:
            in_progress.dec()
            self._observe(method, template, status, time.perf_counter() - started)

    def _observe(self, method: str, template: str, status: int, seconds: float) -> None:
        series = self._finished.get((method, template, status))
        if series is None:
            labels = (method, template, status, APP_NAME)
            series = (REQUESTS.labels(*labels), REQUEST_DURATION.labels(*labels))
            self._finished[(method, template, status)] = series
        if status >= 500:
            REQUEST_ERRORS.labels(method, template, status, APP_NAME).inc()
        series[0].inc()
        series[1].observe(seconds)


def metrics_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """`Authorization: Bearer <METRICS_TOKEN>` when a token is configured."""
    settings: Settings = connection.app.state.settings
    expected = settings.edge.metrics_token
    if expected is None:
        return  # development without a token: open (outside it, the route is not mounted)
    given = connection.headers.get("authorization", "")
    scheme, _space, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise NotAuthorizedException("Send Authorization: Bearer <METRICS_TOKEN> to read /metrics.")


async def refresh_gauges(state: State) -> None:
    """Pool and queue gauges, read now (a scrape every 15-60 s costs one small query)."""
    queue_name: str = state.saq_queue.name
    pool: Any = state.engine.pool
    DB_POOL_SIZE.set(pool.size())
    DB_POOL_CONNECTIONS.labels("checked_out").set(pool.checkedout())
    DB_POOL_CONNECTIONS.labels("idle").set(pool.checkedin())
    DB_POOL_CONNECTIONS.labels("overflow").set(max(pool.overflow(), 0))
    async with state.engine.connect() as connection:
        depth = (await connection.execute(_QUEUE_DEPTH, {"queue": queue_name})).all()
        workers = (
            await connection.execute(LIVE_WORKERS, {"queue": queue_name, "grace": HEARTBEAT_GRACE_SECONDS})
        ).scalar_one()
    QUEUE_JOBS.clear()
    for status, count in depth:
        QUEUE_JOBS.labels(queue_name, status).set(count)
    QUEUE_WORKERS.labels(queue_name).set(workers)


class MetricsController(Controller):
    """Litestar's `PrometheusController` with a token guard and the scrape-time gauges."""

    path = "/metrics"
    guards = [metrics_guard]
    include_in_schema = False

    @get(exclude_from_auth=True)
    async def metrics(self, state: State) -> Response[bytes]:
        await refresh_gauges(state)
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def metrics_routes(settings: Settings) -> list[type[Controller]]:
    """Outside development `/metrics` exists only with a token to protect it."""
    if not settings.is_dev and settings.edge.metrics_token is None:
        return []
    return [MetricsController]


def record_job(ctx: Context) -> None:
    """SAQ `after_process` hook (in the worker): count and time the attempt that just ended."""
    from saq.job import Status
    from saq.utils import now

    job = ctx.get("job")
    if job is None:
        return
    failed = "exception" in ctx
    if job.started:
        JOB_DURATION.labels(job.function).observe(max(now() - job.started, 0) / 1000)
    if failed:
        JOB_FAILURES.labels(job.function).inc()
    outcome = job.status.value if job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED) else None
    JOBS.labels(job.function, outcome or ("retried" if failed else str(job.status.value))).inc()
