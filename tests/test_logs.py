"""Production logs are one JSON object per line, from every logger (ours, SAQ's, Granian's), and
carry the request id — into the jobs a request enqueued, too."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx

from app.cli import granian_options
from app.config import get_config
from app.lib.logs import JsonFormatter, granian_log_dictconfig
from tests.background import ApiProcess, WorkerProcess, free_port
from tests.waiting import CEILING, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_json_lines_carry_level_logger_message_extras_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("app.test").makeRecord(
            "app.test",
            logging.ERROR,
            __file__,
            1,
            "failed for %s",
            ("team-1",),
            sys.exc_info(),
            extra={"job": "send_email"},
        )
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "app.test", "failed for team-1")
    assert entry["job"] == "send_email"
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_format_follows_the_environment() -> None:
    assert get_config({}).log_format == "text"
    assert get_config({"APP_ENV": "production", "SECRET_KEY": "x" * 40}).log_format == "json"
    assert get_config({"LOG_FORMAT": "json"}).log_format == "json"


def test_the_production_app_logs_json(database) -> None:
    code = (
        "import logging; from app.main import create_app; from app.config import get_config; "
        "create_app(get_config()); logging.getLogger('app.probe').warning('hello %s', 'ops')"
    )
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CEILING,
        check=True,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"level": "WARNING", "logger": "app.probe", "message": "hello ops"}.items() <= lines[-1].items()


def test_the_production_worker_logs_json(database, tmp_path) -> None:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "WORKER_SHUTDOWN_GRACE_SECONDS": "0",
        "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, stdout=log, stderr=log, text=True
        )
    try:
        # Wait for the line itself: the worker needs several seconds to get there on a busy machine.
        wait_until(
            lambda: "Worker starting" in log_path.read_text() or worker.poll() is not None,
            what="the worker's 'Worker starting' line",
            seen=log_path.read_text,
        )
    finally:
        worker.kill()  # only its log lines matter here (a SIGTERM during start-up can go unheard)
        worker.wait(timeout=CEILING)
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert any(entry["logger"] == "saq" and "Worker starting" in entry["message"] for entry in entries), (
        log_path.read_text()
    )


PRODUCTION_JSON = {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "LOG_FORMAT": "json"}


def json_lines(text: str) -> list[dict]:
    """Every line must be one JSON object: a plain-text line anywhere fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_granian_and_the_app_log_json_with_request_ids(database, tmp_path) -> None:
    """A real Granian server given the dictconfig `serve` passes: its own lines are JSON too,
    and the access line names the route, status and the caller's request id."""
    log_config = tmp_path / "granian-logging.json"
    log_config.write_text(json.dumps(granian_log_dictconfig(get_config(PRODUCTION_JSON))))
    api = ApiProcess(database, env=PRODUCTION_JSON, granian_args=("--log-config", str(log_config)))
    try:
        api.start()
        response = httpx.get(f"{api.base_url}/health", headers={"X-Request-ID": "probe-7"}, timeout=CEILING)
        assert response.headers["x-request-id"] == "probe-7"
        wait_until(lambda: '"probe-7"' in api.log(), what="the access line of probe-7", seen=api.log)
    finally:
        api.stop()
    entries = json_lines(api.log())
    assert any(entry["logger"] == "_granian" and "Starting granian" in entry["message"] for entry in entries)
    access = next(entry for entry in entries if entry.get("request_id") == "probe-7")
    assert {
        "logger": "app.access",
        "method": "GET",
        "path": "/health",
        "status": 200,
    }.items() <= access.items()
    assert access["duration_ms"] > 0


def test_granian_logs_stay_plain_text_by_default() -> None:
    assert granian_log_dictconfig(get_config({})) is None
    assert granian_options(get_config(PRODUCTION_JSON))["log_dictconfig"]["loggers"]["_granian"][
        "handlers"
    ] == ["json"]


def _metrics(port: int) -> str | None:
    """The worker's metrics page, or `None` while its port is not open yet (the worker opens it in
    its start-up hook, which may still be running when the worker's first log lines appear)."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=CEILING).text
    except httpx.ConnectError:
        return None


def _sample(text: str, series: str) -> float:
    """The value of one Prometheus series on a metrics page (0 when it is not there yet)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_job_logs_the_request_id_of_the_request_that_enqueued_it(
    database, smtp_sink, test_client, tmp_path
) -> None:
    """Through a real worker: the id of the request that registered a user is on the worker's
    log line for the email job, and the worker's own metrics port counts the job."""
    metrics_port = free_port()
    worker = WorkerProcess(
        database, smtp_port=smtp_sink.port, env={**PRODUCTION_JSON, "WORKER_METRICS_PORT": str(metrics_port)}
    ).start()
    try:
        registered = await test_client.post(
            "/api/auth/register",
            json={"email": "traced@example.com", "password": "correct horse battery", "name": "Traced"},
            headers={"X-Request-ID": "signup-trace-1"},
        )
        assert registered.status_code == 201, registered.text
        smtp_sink.wait_for("traced@example.com")

        def job_metrics() -> str | None:
            text = _metrics(metrics_port)
            counted = (
                text is not None
                and 'campaign_platform_jobs_total{outcome="complete",task="send_email"} 1.0' in text
            )
            return text if counted else None

        text = wait_until(job_metrics, what="the worker's metrics counting send_email", seen=worker.log)
        assert 'campaign_platform_job_duration_seconds_count{task="send_email"} 1.0' in text
        wait_until(lambda: "signup-trace-1" in worker.log(), what="the job's log line", seen=worker.log)
    finally:
        worker.stop()
    entries = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    processing = [entry for entry in entries if entry["logger"] == "saq" and "Processing" in entry["message"]]
    assert processing, worker.log()
    assert processing[0]["request_id"] == "signup-trace-1"
    assert "send_email" in processing[0]["message"]


async def test_the_worker_counts_failed_jobs_by_task(database, test_client) -> None:
    closed_port = free_port()  # nothing listens there: every delivery attempt raises
    metrics_port = free_port()
    worker = WorkerProcess(
        database, smtp_port=closed_port, env={**PRODUCTION_JSON, "WORKER_METRICS_PORT": str(metrics_port)}
    ).start()
    try:
        registered = await test_client.post(
            "/api/auth/register",
            json={"email": "bounced@example.com", "password": "correct horse battery", "name": "Bounced"},
        )
        assert registered.status_code == 201

        def failed_and_retried() -> str | None:
            # SAQ's first retry delay is jittered down to as little as 0 s, so by the time the
            # page is read the job may have failed more than once: at least once each, then.
            text = _metrics(metrics_port)
            if text is None:
                return None
            failures = _sample(text, 'campaign_platform_job_failures_total{task="send_email"}')
            retries = _sample(text, 'campaign_platform_jobs_total{outcome="retried",task="send_email"}')
            return text if failures >= 1 and retries >= 1 else None

        wait_until(failed_and_retried, what="a counted, retried send_email failure", seen=worker.log)
    finally:
        worker.stop()
