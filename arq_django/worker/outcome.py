"""How one try of a job ended, as one value: arq's run_job branches classified into a :class:`TryOutcome`,
and the single place a :class:`~arq_django.worker.events.JobEnd` is built from it.

:func:`classify` is pure (no logging, no counters, no Redis), so each of arq's four ``except`` branches
is testable on its own; :mod:`arq_django.worker.execute` acts on the value (log line, counters, finish).
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arq.utils import ms_to_datetime, timestamp_ms
from arq.worker import RetryJob

from arq_django.jobs.retry import retry_exceptions
from arq_django.worker.events import JobEnd, Outcome

NO_RESULT: Any = object()
"""``TryOutcome.result`` when arq stores no result record (a try that will run again)."""


def describe(exc: BaseException) -> str:
    """``Type: message`` for logs, the mirror and ``JobEnd.error``."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass(frozen=True)
class TryOutcome:
    """One try's end: what arq stores, what the worker logs and counts, and what listeners are told."""

    outcome: Outcome
    finish: bool
    """The job is done (result stored, keys removed); false: re-queued to run again."""
    result: Any = NO_RESULT
    """What arq stores as the result: the return value, or the exception that failed or aborted it."""
    error: str = ""
    traceback: str = ""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    incr_score: int | None = None
    """arq's ``incr_score`` for a retry: how far the job's score moves (ms)."""
    retry_at_ms: int | None = None
    log: str = ""
    """arq's log line after its ``"%6.2fs "`` (duration), formatted with the job's ref and ``log_args``
    (failed: logged with the traceback)."""
    log_args: tuple[Any, ...] = ()

    @property
    def success(self) -> bool:
        return self.outcome is Outcome.COMPLETE


def completed(result: Any) -> TryOutcome:
    """The handler returned ``result``."""
    return TryOutcome(Outcome.COMPLETE, finish=True, result=result)


def classify(
    exc: BaseException,
    *,
    retry_jobs: bool,
    aborting: bool,
    timed_out: bool,
    timeout_s: float,
    score: int,
    finished_ms: int,
) -> TryOutcome:
    """arq's four ``except`` branches of ``run_job``, in arq's order: ``Retry``, aborted, cancelled by a
    shutdown (runs again), failed. ``aborting``: the job's abort was requested; ``timed_out``: the
    ``TimeoutError`` is the job timeout's own (the handler did not raise it)."""
    if retry_jobs and isinstance(exc, retry_exceptions()):
        # A retry policy's Retry: report what actually failed.
        reported = exc.__cause__ if exc.__cause__ is not None else exc
        incr_score = exc.defer_score
        if exc.defer_score:
            incr_score = exc.defer_score + (timestamp_ms() - score)
        return TryOutcome(
            Outcome.RETRYING,
            finish=False,
            error=describe(reported),
            exception=reported,
            incr_score=incr_score,
            retry_at_ms=score + (incr_score or 0),
            log="↻ %s retrying job in %0.2fs",
            log_args=((exc.defer_score or 0) / 1000,),
        )
    if aborting and isinstance(exc, asyncio.CancelledError):
        return TryOutcome(
            Outcome.ABORTED, finish=True, result=exc, error="aborted", exception=exc, log="⊘ %s aborted"
        )
    if retry_jobs and isinstance(exc, (asyncio.CancelledError, RetryJob)):
        return TryOutcome(
            Outcome.RETRYING,
            finish=False,
            error="cancelled by worker shutdown; will run again",
            exception=exc,
            retry_at_ms=finished_ms,
            log="↻ %s cancelled, will be run again",
        )
    failure = TimeoutError(f"timed out after {timeout_s:g} s") if timed_out else exc
    return TryOutcome(
        Outcome.FAILED,
        finish=True,
        result=failure,
        error=describe(failure),
        traceback="".join(traceback.format_exception(exc)),
        exception=failure,
        log="! %s failed, %s",
        log_args=(describe(failure),),
    )


def job_end(
    *,
    job_id: str,
    function: str,
    queue_name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    job_try: int,
    max_tries: int,
    enqueue_time: datetime | None,
    started_at: datetime,
    finished_at: datetime,
    worker: str,
    ended: TryOutcome,
) -> JobEnd:
    """The one builder of :class:`JobEnd`, for tries that ran and for jobs failed before they could."""
    return JobEnd(
        job_id=job_id,
        function=function,
        queue_name=queue_name,
        args=args,
        kwargs=kwargs,
        job_try=job_try,
        max_tries=max_tries,
        enqueue_time=enqueue_time,
        started_at=started_at,
        finished_at=finished_at,
        worker=worker,
        outcome=ended.outcome,
        result=ended.result if ended.success else None,
        error=ended.error,
        traceback=ended.traceback,
        retry_at=ms_to_datetime(ended.retry_at_ms) if ended.retry_at_ms else None,
        exception=ended.exception,
    )


def exc_extra(exc: BaseException) -> Any:
    """An exception's ``extra`` (a value, or a callable returning one), which arq attaches to the
    failure log record for error trackers."""
    extra = getattr(exc, "extra", None)
    if callable(extra):
        try:
            return extra()
        except Exception as e:
            return f"<extra() raised {describe(e)}>"
    return extra
