"""The worker process's SAQ worker: hears a stop signal from its first instant, and stops at once
when nothing is running.

Signals. SAQ installs its SIGINT/SIGTERM handlers only inside `Worker.start`, seconds after the
process began (imports, configuration, the queue's pool). A signal before that met Python's
defaults instead: SIGTERM killed the process without cleanup, SIGINT raised wherever start-up
happened to be. `StopRequest` (app/queue/signals.py) is installed first thing in `cmd_worker`, remembers a signal from
then on, and `start` declines to run once one was heard. From the moment our loop-level handler is
attached, a signal is dispatched only at the loop's yield points, and there is none between
`start`'s check and SAQ installing its own handlers: no window where a signal goes unheard.

Stopping. SAQ's `Worker.stop` waits the whole shutdown grace period for *every* task it started,
and most of them never finish by themselves: the upkeep loops sleep between rounds (the sweep
every 30 s) and idle `process` tasks wait for the next job. So a worker with nothing to do waited
out the grace period and logged "Some tasks did not finish". Here only jobs that are really
running get the grace period; the idle loops are cancelled right away (an idle `process` task
holds no job: cancelling it loses nothing). They are cancelled only while no claim is on the
wire, so every job claimed is either running or in the queue's buffer, which the queue's
disconnect puts back (`ApplicationQueue.release_unstarted`).

Starting. The claim stores the job's attempt and this worker's id (`claimant_id`, set at start),
so SAQ's `process` starts the job without writing it again (see app/queue/backend.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import Any

from litestar_saq.base import Worker

from app.queue.backend import ApplicationQueue
from app.queue.signals import StopRequest

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 0.5
"""After the last job finishes, how long its `process` task gets to record the result."""
CANCEL_SECONDS = 5.0
"""How long idle loops get to take their cancellation before SAQ's stop goes on without them."""
HEARTBEAT_SECONDS = 10.0
"""How often a running worker touches its heartbeat file (`worker-alive` checks its age)."""


class PromptlyStoppingWorker(Worker):
    stop_request: StopRequest | None = None

    async def start(self) -> None:
        # No await between this check and SAQ's handler installation in `super().start()`.
        if self.stop_request is not None and self.stop_request.requested:
            logger.info("stop requested during start-up; not starting")
            return
        if isinstance(self.queue, ApplicationQueue):
            self.queue.claimant_id = str(self.id)
        await super().start()

    async def stop(self) -> None:
        self.event.set()
        if isinstance(self.queue, ApplicationQueue):
            self.queue.stop_claiming()
        running = [context["task"] for context in self.job_task_contexts.values()]
        if running:
            await asyncio.wait(running, timeout=self._shutdown_grace_period_s or None)
            await asyncio.wait(list(self.tasks), timeout=SETTLE_SECONDS)
        # Not while a claim is on the wire: its jobs would be stored active (their attempt
        # counted) and never reach `_job_queue`, where the queue's disconnect puts them back.
        async with self._claims_landed():
            idle = list(self.tasks)
            for task in idle:
                task.cancel()
            if idle:
                # A task that swallows its cancellation (seen: now and then one right after
                # start-up) would make SAQ's stop wait out the grace period; leave it to the teardown.
                _, stuck = await asyncio.wait(idle, timeout=CANCEL_SECONDS)
                if stuck:
                    logger.warning("%d idle task(s) ignored cancellation: %s", len(stuck), stuck)
                    self.tasks.difference_update(stuck)
        await super().stop()

    def _claims_landed(self) -> AbstractAsyncContextManager[Any]:
        return self.queue.claim_lock if isinstance(self.queue, ApplicationQueue) else nullcontext()


def promptly_stopping(worker: Any) -> PromptlyStoppingWorker:
    """`worker` (as litestar-saq built it) with the prompt `stop`."""
    worker.__class__ = PromptlyStoppingWorker
    return worker


async def beat(path: Path, interval: float = HEARTBEAT_SECONDS) -> None:
    """Touch `path` every `interval` seconds while the loop runs: the worker's liveness signal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        path.touch()  # noqa: ASYNC240 (one metadata write every few seconds)
        await asyncio.sleep(interval)


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
