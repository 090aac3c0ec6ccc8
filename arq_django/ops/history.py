"""Finished jobs: what happened recently, and which results are still there to read.

This module is the one place the operations tools ask about the past. It reads Redis, the source of
truth the moment a job ends: arq's ``arq:result:<id>`` records (found with a bounded SCAN, so only
results still within their ``keep_result`` are seen) and the per-minute outcome counters every worker
keeps (:mod:`arq_django.stats`), which add up across workers exactly as the result mirror's rows would.
Longer history lives in the mirror (``JobResult``, the admin); switching these functions to it would
leave their callers unchanged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import redis
from arq.constants import result_key_prefix
from arq.jobs import JobResult, deserialize_result

from ..connection import sync_client
from ..exceptions import JobFailed
from ..serializers import get_serializer
from ..stats import read_recent_outcomes

MAX_SCANNED = 20_000
"""At most this many result records are read by one :func:`find_results` call."""


@dataclass(frozen=True)
class ResultRecord:
    """One finished job as its result record describes it."""

    job_id: str
    function: str
    queue: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    job_try: int
    enqueue_time: datetime
    start_time: datetime
    finish_time: datetime
    success: bool
    result: Any
    """The return value, or the failure (:class:`~arq_django.JobFailed`, ``CancelledError``)."""

    @property
    def status(self) -> str:
        """``complete``, ``failed``, or ``aborted`` (cancelled by :func:`arq_django.abort`)."""
        if self.success:
            return "complete"
        return "aborted" if isinstance(self.result, asyncio.CancelledError) else "failed"

    @property
    def error(self) -> str | None:
        """``type: message`` of a failure; ``aborted`` for a job cancelled by an abort."""
        if self.success:
            return None
        if isinstance(self.result, asyncio.CancelledError):
            return "aborted"
        if isinstance(self.result, JobFailed):
            return str(self.result)
        if isinstance(self.result, BaseException):
            return f"{type(self.result).__name__}: {self.result}"
        return str(self.result)

    @classmethod
    def from_arq(cls, info: JobResult) -> ResultRecord:
        return cls(
            job_id=str(info.job_id),
            function=info.function,
            queue=info.queue_name,
            args=tuple(info.args),
            kwargs=dict(info.kwargs),
            job_try=info.job_try,
            enqueue_time=info.enqueue_time,
            start_time=info.start_time,
            finish_time=info.finish_time,
            success=info.success,
            result=info.result,
        )


@dataclass(frozen=True)
class RecentCounts:
    """Job tries that ended on one queue within the window."""

    queue: str
    complete: int
    failed: int
    aborted: int
    retrying: int
    """Tries that will run again (``Retry`` raised, or cancelled by a worker shutdown)."""
    window_s: float

    @property
    def per_minute(self) -> float:
        """Jobs finished per minute (complete, failed or aborted) over the window."""
        return round((self.complete + self.failed + self.aborted) / (self.window_s / 60), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "failed": self.failed,
            "aborted": self.aborted,
            "retrying": self.retrying,
            "per_minute": self.per_minute,
            "window_s": self.window_s,
        }


def recent_counts(queues: list[str], window_s: float = 3600) -> dict[str, RecentCounts]:
    """Per queue, the job tries that ended in the last ``window_s`` seconds, by outcome."""
    raw = read_recent_outcomes(sync_client(), queues, window_s)
    return {
        q: RecentCounts(
            q, c.get("complete", 0), c.get("failed", 0), c.get("aborted", 0), c.get("retrying", 0), window_s
        )
        for q, c in raw.items()
    }


def _decode(raw: bytes | None) -> ResultRecord | None:
    if not raw:
        return None
    try:
        return ResultRecord.from_arq(deserialize_result(raw, deserializer=get_serializer().loads))
    except Exception:  # a record another serializer wrote, or garbage: not ours to show
        return None


def get_result(job_id: str) -> ResultRecord | None:
    """The finished job ``job_id``, or ``None`` when it has no result (yet, or any more)."""
    return _decode(cast(bytes | None, sync_client().get(result_key_prefix + job_id)))


def find_results(
    *,
    status: str | None = None,
    function: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    limit: int | None = 20,
    client: redis.Redis | None = None,
) -> list[ResultRecord]:
    """Finished jobs, newest first, filtered by status (``complete``, ``failed``, ``aborted``),
    function, queue and finish time; ``limit=None`` returns every match among the records read."""
    client = client or sync_client()
    keys = []
    for key in client.scan_iter(match=result_key_prefix + "*", count=1000):
        keys.append(key)
        if len(keys) >= MAX_SCANNED:
            break
    found: list[ResultRecord] = []
    for i in range(0, len(keys), 500):
        for raw in cast(list[bytes | None], client.mget(keys[i : i + 500])):
            record = _decode(raw)
            if record is None:
                continue
            if status is not None and record.status != status:
                continue
            if function is not None and record.function != function:
                continue
            if queue is not None and record.queue != queue:
                continue
            if since is not None and record.finish_time < since:
                continue
            found.append(record)
    found.sort(key=lambda r: r.finish_time, reverse=True)
    return found if limit is None else found[:limit]
