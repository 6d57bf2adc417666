"""A worker with nothing running stops at once, not after its shutdown grace period."""

from __future__ import annotations

import time

import pytest

from tests.background import WorkerProcess
from tests.database import TestDatabase


@pytest.mark.timeout(300)  # starting a worker process is slow on a loaded machine
def test_an_idle_worker_stops_without_waiting_out_the_grace_period(database: TestDatabase) -> None:
    worker = WorkerProcess(database, env={"WORKER_SHUTDOWN_GRACE_SECONDS": "120"}).start(timeout=60)
    try:
        deadline = time.monotonic() + 60
        while "Worker starting" not in worker.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.process is not None
        worker.process.terminate()
        worker.process.wait(timeout=60)  # far below the 120 s grace period
        assert worker.process.returncode is not None
    finally:
        worker.stop()
    assert "did not finish" not in worker.log(), worker.log()
