"""A worker with nothing running stops at once, not after its shutdown grace period."""

from __future__ import annotations

import time

import pytest

from tests.background import WorkerProcess
from tests.database import TestDatabase
from tests.waiting import CEILING


@pytest.mark.xfail(
    reason="after the merge of issues 7-13 the idle worker again waits out its grace period; not yet traced"
)
def test_an_idle_worker_stops_without_waiting_out_the_grace_period(database: TestDatabase) -> None:
    worker = WorkerProcess(database, env={"WORKER_SHUTDOWN_GRACE_SECONDS": "120"}).start()
    try:
        assert worker.process is not None
        began = time.monotonic()
        worker.process.terminate()
        worker.process.wait(timeout=CEILING)
        assert time.monotonic() - began < 100, "waited out (most of) the 120 s grace period"
        assert worker.process.returncode is not None
    finally:
        worker.stop()
    assert "did not finish" not in worker.log(), worker.log()
