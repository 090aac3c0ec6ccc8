"""What a worker reports about each job: a start and an end, to its extensions
(:mod:`arq_django.worker.extensions`) and any listener added with ``Worker.add_listener``.

The worker calls them synchronously on its event loop, so they must not block: buffer, then flush
elsewhere (the result mirror), or only count (metrics). One that raises is logged and never affects
the job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Outcome(enum.StrEnum):
    """How one try of a job ended (arq_django's names; ``JobResult.Status`` uses the same words)."""

    COMPLETE = "complete"
    FAILED = "failed"
    RETRYING = "retrying"
    """Will run again: ``Retry`` raised, or cancelled by a worker shutdown (re-queued)."""
    ABORTED = "aborted"


@dataclass(frozen=True)
class JobStart:
    """A try of a job has started on this worker."""

    job_id: str
    function: str
    queue_name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    job_try: int
    max_tries: int
    enqueue_time: datetime
    scheduled_for: datetime
    """The job's score: when it was due to run."""
    started_at: datetime
    worker: str
    """``host:pid`` of the worker process."""


@dataclass(frozen=True)
class JobEnd:
    """A try of a job has ended (or the job was failed before it could start)."""

    job_id: str
    function: str
    queue_name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    job_try: int
    max_tries: int
    enqueue_time: datetime | None
    started_at: datetime
    finished_at: datetime
    worker: str
    outcome: Outcome
    result: Any = None
    """The handler's return value (``complete`` only)."""
    error: str = ""
    """``ExceptionType: message`` for failed, retrying and aborted tries."""
    traceback: str = ""
    retry_at: datetime | None = None
    """When a retrying job runs again, if known."""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception that ended the try (failed, retrying, aborted), for in-process listeners."""

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class JobListener(Protocol):
    """Receives a worker's job events (``Worker.add_listener``; a ``WorkerExtension`` is one too)."""

    def job_started(self, event: JobStart) -> None: ...

    def job_ended(self, event: JobEnd) -> None: ...
