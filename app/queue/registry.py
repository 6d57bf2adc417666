"""Task registry: `@task` for on-demand work, `@scheduled_task` for cron.

Every task has a timeout, and retries with exponential backoff for transient failures. A task
receives SAQ's context first; `resources(ctx)` gives it the worker's database sessions and
mailer. Tasks that touch team data take `team_id` and open `tenant_session(...)` with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from saq.types import Context

TaskFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=TaskFunction)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    function: TaskFunction
    timeout: int
    retries: int
    retry_delay: float
    retry_backoff: bool | float


@dataclass(frozen=True, slots=True)
class ScheduledTaskSpec:
    name: str
    function: TaskFunction
    cron: str | Callable[[Any], str]
    """A cron expression, or a function of the settings returning one (configurable schedules)."""
    timeout: int
    retries: int


_tasks: dict[str, TaskSpec] = {}
_scheduled: dict[str, ScheduledTaskSpec] = {}


def task(
    *, timeout: int = 60, retries: int = 3, retry_delay: float = 1.0, retry_backoff: bool | float = 60.0
) -> Callable[[F], F]:
    """Register an on-demand task under its function name.

    `retry_backoff`: exponential backoff from `retry_delay`, capped at this many seconds.
    """

    def register(function: F) -> F:
        name = function.__name__
        if name in _tasks and _tasks[name].function is not function:
            raise ValueError(f"a task named {name!r} is already registered")
        _tasks[name] = TaskSpec(name, function, timeout, retries, retry_delay, retry_backoff)
        return function

    return register


def scheduled_task(
    *, cron: str | Callable[[Any], str], timeout: int = 300, retries: int = 1
) -> Callable[[F], F]:
    """Register a cron task. It runs once per schedule, however many workers are running."""

    def register(function: F) -> F:
        _scheduled[function.__name__] = ScheduledTaskSpec(function.__name__, function, cron, timeout, retries)
        return function

    return register


def task_specs() -> dict[str, TaskSpec]:
    return dict(_tasks)


def scheduled_specs() -> dict[str, ScheduledTaskSpec]:
    return dict(_scheduled)


def spec_of(name: str) -> TaskSpec:
    try:
        return _tasks[name]
    except KeyError:
        raise LookupError(f"no task named {name!r} is registered (is its tasks.py imported?)") from None


@dataclass(frozen=True, slots=True)
class WorkerResources:
    settings: Any
    session_maker: Any
    """Application role: every tenant job opens `tenant_session(session_maker, ...)`."""
    system_session_maker: Any
    """System role (BYPASSRLS): only for the named cross-team system jobs."""
    mailer: Any


RESOURCES_KEY = "campaign_platform"


def resources(ctx: Context) -> WorkerResources:
    return ctx[RESOURCES_KEY]  # pyright: ignore[reportTypedDictNotRequiredAccess, reportReturnType, reportGeneralTypeIssues]
