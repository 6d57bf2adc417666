"""A worker stops promptly on SIGTERM/SIGINT at any moment of its life, not after its grace period.

The grace period is 120 s here, so a worker that waits it out (or never hears the signal) fails
the ceiling below by a wide margin, while a loaded machine still has room to stop a slow process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.background import ROOT, WorkerProcess
from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

GRACE_SECONDS = 120
PROMPT_SECONDS = 60
"""Well under the grace period; generous for a busy 2-core machine."""


def _spawn(database: TestDatabase, tmp_log: str) -> tuple[subprocess.Popen[str], Callable[[], str]]:
    worker = WorkerProcess(
        database, env={"WORKER_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS), "APP_ENV": "dev"}
    )
    log = open(tmp_log, "w")  # noqa: SIM115 (closed with the process below)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=worker.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def read() -> str:
        with open(tmp_log) as file:
            return file.read()

    return process, read


def _stops_promptly(process: subprocess.Popen[str], signum: int, read: Callable[[], str]) -> int:
    began = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=PROMPT_SECONDS + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=CEILING)
        raise AssertionError(f"the worker did not stop after {signum!r}:\n{read()}") from None
    took = time.monotonic() - began
    assert took < PROMPT_SECONDS, f"took {took:.0f} s to stop:\n{read()}"
    return process.returncode


# The moments a signal can meet the worker: before Python runs our code (nothing but the default
# action exists then), during imports and configuration, while it connects and runs SAQ's start-up,
# and once its loop is up.
MOMENTS = {
    "right after spawn": None,
    "after its first log line": lambda log: bool(log.strip()),
    "after 'processing queue'": lambda log: "processing queue" in log,
    "after 'Worker starting'": lambda log: "Worker starting" in log,
}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_worker_stops_promptly_whenever_the_signal_comes(
    database: TestDatabase, tmp_path, moment: str, signum: int
) -> None:
    process, read = _spawn(database, str(tmp_path / "worker.log"))
    try:
        if (reached := MOMENTS[moment]) is not None:
            wait_until(
                lambda: reached(read()) or process.poll() is not None, what=moment, seen=read, interval=0.01
            )
            assert process.poll() is None, f"the worker exited before the signal:\n{read()}"
        code = _stops_promptly(process, signum, read)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=CEILING)
    log = read()
    # Right after spawn the interpreter may not have run our code yet: the default action (death
    # by the signal) is then all there is, and it is prompt too.
    allowed = {0, -signum} if moment == "right after spawn" else {0}
    assert code in allowed, f"exit code {code}:\n{log}"
    assert "Traceback" not in log, log
    assert "did not finish" not in log, log


def test_an_idle_worker_stops_without_waiting_out_the_grace_period(database: TestDatabase) -> None:
    worker = WorkerProcess(
        database, env={"WORKER_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS), "APP_ENV": "dev"}
    ).start()
    try:
        wait_until(lambda: "Worker starting" in worker.log(), what="'Worker starting'", seen=worker.log)
        assert worker.process is not None
        assert _stops_promptly(worker.process, signal.SIGTERM, worker.log) == 0
    finally:
        worker.stop()
    assert "did not finish" not in worker.log(), worker.log()
