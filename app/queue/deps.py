"""The queue as a request dependency: `job_queue` comes from litestar-saq's `task_queues`."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar_saq import TaskQueues
from saq.queue.base import Queue

QUEUE_NAME = "default"


def provide_job_queue(task_queues: NamedDependency[TaskQueues]) -> Queue:
    return task_queues.get(QUEUE_NAME)


queue_dependencies: dict[str, Provide] = {"job_queue": Provide(provide_job_queue, sync_to_thread=False)}
