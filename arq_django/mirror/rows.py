"""Row updates: what one report (enqueue, job start, job end, progress, a result record) says about a
job's row, and how two of them merge.

A field that a report does not know is ``None`` (``""`` for text): the row keeps its value. Of two
updates, the one with the higher rank (:func:`arq_django.models.rank`) wins, the other fills its
gaps; the SQL upsert in :mod:`~arq_django.mirror.writer` applies the same rule against the stored row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from arq_django.jobs.progress import ProgressUpdate
from arq_django.models import JobResult, rank
from arq_django.worker.events import JobEnd, JobStart, Outcome

TEXT_FIELDS: Final = frozenset({"function", "queue_name", "error", "traceback", "worker", "progress_message"})
UNKNOWN_FUNCTION: Final = "<unknown>"
"""What the worker reports for a job whose record could not be read."""


class RowUpdate(NamedTuple):
    """One report about a job's row; ``None`` / ``""`` fields leave the stored value alone.

    A named tuple rather than a frozen dataclass: the worker's mirror builds one per job on the
    worker's process, where a frozen dataclass costs three times as much to build, and the writer
    sends the tuple's values as they are.
    """

    job_id: str
    status: str
    tries: int
    function: str = ""
    queue_name: str = ""
    args: Any = None
    """Positional arguments as Python values (encoded to tagged JSON when written)."""
    kwargs: Any = None
    result: Any = None
    error: str = ""
    traceback: str = ""
    max_tries: int | None = None
    enqueued_at: datetime | None = None
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker: str = ""
    progress: float | None = None
    progress_message: str = ""

    @property
    def rank(self) -> int:
        return rank(self.status, self.tries)


_MERGED: Final = tuple(name for name in RowUpdate._fields if name not in ("job_id", "status", "tries"))
_STATUS: Final = {outcome: JobResult.Status(outcome.value) for outcome in Outcome}


def _known(name: str, value: Any) -> bool:
    return value is not None and not (name in TEXT_FIELDS and value == "")


def merge(old: RowUpdate, new: RowUpdate) -> RowUpdate:
    """Combine two updates of one job: the higher rank wins (the newer on a tie), the other fills gaps."""
    high, low = (new, old) if new.rank >= old.rank else (old, new)
    changes: dict[str, Any] = {}
    for name in _MERGED:
        if not _known(name, getattr(high, name)):
            value = getattr(low, name)
            if _known(name, value):
                changes[name] = value
    if high.status == JobResult.Status.IN_PROGRESS:
        changes.pop("finished_at", None)  # a try that has started has not finished
    return high._replace(**changes) if changes else high


def from_start(event: JobStart) -> RowUpdate:
    return RowUpdate(
        job_id=event.job_id,
        status=JobResult.Status.IN_PROGRESS,
        tries=event.job_try,
        function=event.function,
        queue_name=event.queue_name,
        args=event.args,
        kwargs=event.kwargs,
        max_tries=event.max_tries,
        enqueued_at=event.enqueue_time,
        scheduled_for=_scheduled_for(event),
        started_at=event.started_at,
        worker=event.worker,
    )


def _scheduled_for(event: JobStart) -> datetime | None:
    # The score equals the enqueue time unless the job was deferred or is a retry.
    return event.scheduled_for if event.scheduled_for > event.enqueue_time else None


def from_end(event: JobEnd, scheduled_for: datetime | None = None) -> RowUpdate:
    known = event.function != UNKNOWN_FUNCTION  # expired or undecodable: nothing is known of the job
    return RowUpdate(
        job_id=event.job_id,
        status=_STATUS[event.outcome],
        tries=event.job_try,
        function=event.function if known else "",
        queue_name=event.queue_name,
        args=event.args if known else None,
        kwargs=event.kwargs if known else None,
        result=event.result if event.outcome is Outcome.COMPLETE else None,
        error=event.error,
        traceback=event.traceback,
        max_tries=event.max_tries,
        enqueued_at=event.enqueue_time,
        scheduled_for=event.retry_at or scheduled_for,
        started_at=event.started_at,
        finished_at=event.finished_at,
        worker=event.worker,
    )


def from_progress(update: ProgressUpdate) -> RowUpdate:
    return RowUpdate(
        job_id=update.job_id,
        status=JobResult.Status.IN_PROGRESS,
        tries=update.job_try,
        queue_name=update.queue_name,
        progress=update.fraction,
        progress_message=update.message,
    )


Report = JobStart | JobEnd | ProgressUpdate


def merge_into(rows: dict[str, RowUpdate], update: RowUpdate) -> None:
    """Add ``update`` to ``rows`` (one entry per job id)."""
    old = rows.get(update.job_id)
    rows[update.job_id] = update if old is None else merge(old, update)


def collect(reports: list[Report], rows: dict[str, RowUpdate]) -> None:
    """Merge a worker's reports, in order, into ``rows``.

    A try's end says all its start said but the deferred run time, so when both are in the batch (the
    usual case) the start only lends that: one row is built per job instead of two plus a merge.
    """
    starts: dict[str, JobStart] = {}
    for report in reports:
        if isinstance(report, JobStart):
            starts[report.job_id] = report
        elif isinstance(report, JobEnd):
            start = starts.pop(report.job_id, None)
            if start is not None and start.job_try == report.job_try:
                merge_into(rows, from_end(report, _scheduled_for(start)))
                continue
            if start is not None:
                merge_into(rows, from_start(start))
            merge_into(rows, from_end(report))
        else:
            merge_into(rows, from_progress(report))
    for start in starts.values():
        merge_into(rows, from_start(start))
