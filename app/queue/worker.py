"""The worker process's SAQ worker: stops at once when nothing is running.

SAQ's `Worker.stop` waits the whole shutdown grace period for *every* task it started, and most
of them never finish by themselves: the upkeep loops sleep between rounds (the sweep every 30 s)
and idle `process` tasks wait for the next job. So a worker with nothing to do waited out the
grace period and logged "Some tasks did not finish". Here only jobs that are really running get
the grace period; the idle loops are cancelled right away (an idle `process` task holds no job:
cancelling it loses nothing, and a job caught mid-dequeue is retried by the sweep).
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar_saq.base import Worker

SETTLE_SECONDS = 0.5
"""After the last job finishes, how long its `process` task gets to record the result."""


class PromptlyStoppingWorker(Worker):
    async def stop(self) -> None:
        self.event.set()
        running = [context["task"] for context in self.job_task_contexts.values()]
        if running:
            await asyncio.wait(running, timeout=self._shutdown_grace_period_s or None)
            await asyncio.wait(list(self.tasks), timeout=SETTLE_SECONDS)
        for task in list(self.tasks):
            task.cancel()
        await super().stop()


def promptly_stopping(worker: Any) -> PromptlyStoppingWorker:
    """`worker` (as litestar-saq built it) with the prompt `stop`."""
    worker.__class__ = PromptlyStoppingWorker
    return worker
