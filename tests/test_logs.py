"""Production logs are one JSON object per line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from app.config import get_config
from app.lib.logs import JsonFormatter
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
