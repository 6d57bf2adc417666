"""Hearing SIGINT/SIGTERM from the worker process's first instant (see app/queue/worker.py).

Kept free of heavy imports: `cmd_worker` installs it before it imports SAQ and the application.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Any, Protocol

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StoppableWorker(Protocol):
    event: asyncio.Event
    stop_request: Any


class StopRequest:
    """A SIGINT/SIGTERM heard at any point of the worker process's life."""

    def __init__(self) -> None:
        self.requested = False
        self._worker: StoppableWorker | None = None

    def install(self) -> StopRequest:
        """Replace Python's defaults (call before anything slow: imports, connections)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        return self

    def attach(self, loop: asyncio.AbstractEventLoop, worker: StoppableWorker) -> None:
        """Hear signals through the running loop from now on (SAQ's `start` takes over from us)."""
        self._worker = worker
        worker.stop_request = self
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.request)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request()

    def request(self) -> None:
        # No logging here: this also runs as a plain signal handler, which may interrupt a log call.
        self.requested = True
        if self._worker is not None:
            self._worker.event.set()
