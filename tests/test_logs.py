"""Production logs are one JSON object per line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from app.config import get_config
from app.lib.logs import JsonFormatter

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
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"level": "WARNING", "logger": "app.probe", "message": "hello ops"}.items() <= lines[-1].items()


def test_the_production_worker_logs_json(database) -> None:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "WORKER_SHUTDOWN_GRACE_SECONDS": "0",
        "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait for the event (a slow, shared machine may take far longer than the usual 4 s).
    assert worker.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (line := worker.stderr.readline()):
        lines.append(line)
        if "Worker starting" in line:
            break
    worker.terminate()
    _, rest = worker.communicate(timeout=30)
    stderr = "".join(lines) + rest
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(entry["logger"] == "saq" and "Worker starting" in entry["message"] for entry in entries), (
        stderr
    )
