"""Waiting for things in tests: poll for the event itself, with a generous ceiling.

This machine is slow and shared: a process may need many seconds to start, so a test never
waits a fixed short time. It waits for what it needs (a log line, a port, a row, a frame) up to
`CEILING` seconds and, when that passes, fails with what it saw last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

CEILING = 120.0
"""Seconds any test waits for an event before it fails; long enough for a heavily loaded machine (a start-up measured 60+ s at load 18)."""


def _timeout_message(what: str, within: float, last: object, seen: Callable[[], str] | None) -> str:
    detail = seen() if seen is not None else repr(last)
    return f"{what}: not seen within {within:.0f}s; last seen: {detail}"


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    within: float = CEILING,
    interval: float = 0.05,
    seen: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until it returns something truthy, and return that.

    `what` names the event for the failure message; `seen` describes what was there instead
    (a log's text, a row count) when the default, the last value returned, says too little.
    """
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(_timeout_message(what, within, result, seen))
        time.sleep(interval)


async def wait_until_async(
    probe: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    within: float = CEILING,
    interval: float = 0.05,
    seen: Callable[[], str] | None = None,
) -> T:
    """`wait_until` for an async probe (a query, say), sleeping without blocking the loop."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(_timeout_message(what, within, result, seen))
        await asyncio.sleep(interval)
