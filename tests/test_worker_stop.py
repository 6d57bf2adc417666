"""A worker with nothing running stops at once, not after its shutdown grace period."""

from __future__ import annotations

import time

import pytest

from tests.background import WorkerProcess
from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until


@pytest.mark.xfail(
    strict=False,
    reason="intermittent: a SIGTERM soon after 'Worker starting' can go unheard and the worker hangs (seen in CI)",
)
def test_an_idle_worker_stops_without_waiting_out_the_grace_period(database: TestDatabase) -> None:
    worker = WorkerProcess(database, env={"WORKER_SHUTDOWN_GRACE_SECONDS": "120", "APP_ENV": "dev"}).start()
    try:
        # Stop it once it runs its loop (a signal during start-up is another matter); dev logs SAQ's lines.
        wait_until(lambda: "Worker starting" in worker.log(), what="'Worker starting'", seen=worker.log)
        assert worker.process is not None
        began = time.monotonic()
        worker.process.terminate()
        worker.process.wait(timeout=CEILING)
        assert time.monotonic() - began < 100, "waited out (most of) the 120 s grace period"
        assert worker.process.returncode is not None
    finally:
        worker.stop()
    assert "did not finish" not in worker.log(), worker.log()
