"""What a worker extension is: a class with typed hooks, every one optional.

All hooks run on the worker's event loop, in its thread, in the order the extensions were configured
(``on_stop`` in reverse). The per-job hooks must not block: buffer, then write from a task of your own
(as :class:`~arq_django.worker.stats.JobStats` does), or hand the work to a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from arq_django.worker.events import JobEnd, JobStart

if TYPE_CHECKING:
    from arq.connections import ArqRedis

E = TypeVar("E", bound="WorkerExtension")


class WorkerHost(Protocol):
    """What an extension may use of the worker it runs in (:class:`arq_django.worker.execute.Worker`)."""

    queue_name: str
    name: str
    """``host:pid`` of the worker process."""
    max_jobs: int
    jobs_complete: int
    jobs_failed: int
    jobs_retried: int
    tasks: dict[str, asyncio.Task[Any]]
    """The jobs this worker is running, by job id."""

    @property
    def pool(self) -> ArqRedis:
        """The worker's Redis pool (arq's ``ctx["redis"]``)."""
        ...

    def extension(self, kind: type[E]) -> E | None:
        """The running extension of class ``kind`` (or a subclass), if any."""
        ...


class WorkerExtension:
    """Base class of worker extensions; override the hooks you need (the others cost nothing per job).

    Exceptions from ``job_context``, ``job_started`` and ``job_ended`` are logged with the extension's
    :attr:`name` and never affect the job nor the other extensions. One from ``on_start`` stops the
    worker's start (fail loudly: nothing has been claimed yet); one from ``on_stop`` is logged, and the
    other extensions still stop.
    """

    @property
    def name(self) -> str:
        """How logs name this extension (its dotted class path unless overridden)."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}"

    async def on_start(self, worker: WorkerHost) -> None:
        """The worker started: its Redis pool is open and no job has been claimed yet."""

    async def on_stop(self, worker: WorkerHost) -> None:
        """The worker is stopping: every job has ended and the Redis pool is still open."""

    def job_context(self, ctx: dict[str, Any], job: JobStart) -> None:
        """Add what the handler finds in its ``ctx`` (``ctx["progress"]`` is added here), right before
        it runs."""

    def job_started(self, event: JobStart) -> None:
        """A try started: its handler is about to run."""

    def job_ended(self, event: JobEnd) -> None:
        """A try ended, its result written to Redis; or a job failed before it could start (expired,
        undecodable, unknown function, aborted while queued, out of tries)."""


ExtensionFactory = Callable[[], WorkerExtension]
"""Builds one extension when the worker starts: an extension class, or a function returning one."""
